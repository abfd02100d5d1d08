// pulsebot demo: a little plain JavaScript over server-rendered HTML.
// Every action is POSTed to /demo/api/<verb>; the server turns it into what Slack would send
// the app and answers with the page's regions, which are also polled once a second.
(function () {
  "use strict";
  var state = JSON.parse(document.body.dataset.state);
  var regions = { sidebar: "sidebar", header: "header", messages: "messages", thread: "thread",
                  modal: "modal", clock: "clock" };
  var last = {};
  var busy = false;

  function query() {
    return "as=" + encodeURIComponent(state.as) + "&c=" + encodeURIComponent(state.c) +
      "&t=" + encodeURIComponent(state.t || "");
  }

  function nearBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 80; }

  function formEntries(form) {
    var out = [];
    new FormData(form).forEach(function (value, name) { out.push([name, String(value)]); });
    return out;
  }

  function restoreForm(form, entries) {
    var byName = {};
    entries.forEach(function (pair) { (byName[pair[0]] = byName[pair[0]] || []).push(pair[1]); });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || !(el.name in byName)) { return; }
      var values = byName[el.name];
      if (el.type === "checkbox" || el.type === "radio") { el.checked = values.indexOf(el.value) >= 0; }
      else if (el.tagName === "SELECT") {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = values.indexOf(o.value) >= 0; });
      } else { el.value = values[0]; }
    });
  }

  // Replace a region's children, keeping every node whose markup did not change: an image
  // already loaded stays loaded, and what a reader is looking at is never swapped under them.
  function morph(el, html) {
    var fresh = document.createElement("template");
    fresh.innerHTML = html;
    var old = {};
    Array.prototype.forEach.call(el.children, function (child) {
      (old[child.outerHTML] = old[child.outerHTML] || []).push(child);
    });
    var nodes = Array.prototype.map.call(fresh.content.childNodes, function (node) {
      var same = node.nodeType === 1 && old[node.outerHTML];
      return same && same.length ? same.shift() : node;
    });
    var unchanged = nodes.length === el.childNodes.length && nodes.every(function (node, i) {
      return node === el.childNodes[i];
    });
    if (!unchanged) { el.replaceChildren.apply(el, nodes); }
  }

  function apply(data) {
    if (!data) { return; }
    Object.keys(regions).forEach(function (key) {
      var html = data[key];
      if (html === undefined || last[key] === html) { return; }
      var el = document.getElementById(regions[key]);
      if (!el) { return; }
      // Never close a menu under the person's hands: redraw once it is closed.
      if (el.querySelector("details[open]")) { return; }
      var keep = null;
      if (key === "modal") {
        var old = el.querySelector("form.modal");
        if (old) { keep = { view: old.dataset.view, entries: formEntries(old) }; }
      }
      // A channel follows its newest message; App Home reads from its top, like Slack's.
      var home = key === "messages" && state.c === "home";
      var homeArrives = home && !el.querySelector(".home");
      var stick = key === "messages" && !home && nearBottom(el);
      if (key === "messages" || key === "thread") { morph(el, html); } else { el.innerHTML = html; }
      last[key] = html;
      if (keep) {
        var fresh = el.querySelector("form.modal");
        if (fresh && fresh.dataset.view === keep.view) { restoreForm(fresh, keep.entries); }
      }
      if (key === "modal") {
        document.body.classList.toggle("modal-open", !!html);
        var first = el.querySelector(".field-error");
        if (first) { first.scrollIntoView({ block: "center" }); }
      }
      if (stick) { el.scrollTop = el.scrollHeight; }
      if (homeArrives) { el.scrollTop = 0; }
      if (key === "thread") {
        var body = el.querySelector(".thread-body");
        if (body) { body.scrollTop = body.scrollHeight; }
      }
    });
    if (data.notice) { notice(data.notice); }
    // The first answer redraws the regions once (the browser's copy never equals the server's
    // text; messages and threads keep their unchanged nodes). Tests wait for it to measure.
    document.body.dataset.polled = "1";
  }

  function notice(html) {
    var el = document.getElementById("notice");
    el.innerHTML = html;
    el.classList.add("show");
    setTimeout(function () { el.classList.remove("show"); }, 5000);
  }

  function post(verb, body, button) {
    body.as = state.as; body.c = state.c; body.t = state.t;
    if (button) { button.classList.add("busy"); button.disabled = true; }
    busy = true;
    return fetch("/demo/api/" + verb, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) { return r.json(); }).then(apply)
      .catch(function () { notice("The demo server did not answer."); })
      .finally(function () {
        busy = false;
        if (button) { button.classList.remove("busy"); button.disabled = false; }
      });
  }

  function poll() {
    if (busy || document.hidden) { return; }
    fetch("/demo/api/regions?" + query()).then(function (r) { return r.json(); })
      .then(apply).catch(function () {});
  }

  function whereOf(el) {
    var msg = el.closest(".msg");
    if (msg) { return { channel: msg.dataset.channel, ts: msg.dataset.ts }; }
    var form = el.closest("form.modal");
    if (form) { return { view: form.dataset.view, form: formEntries(form) }; }
    var home = el.closest(".home");
    if (home) { return { view: home.dataset.view }; }
    return null;
  }

  function interact(el, values) {
    var where = whereOf(el);
    if (!where) { return; }
    where.block = el.dataset.block; where.action = el.dataset.action; where.values = values;
    post("click", where, el.tagName === "BUTTON" ? el : null);
  }

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("button, summary, a");
    if (!el) { return; }
    if (el.matches("button[data-action]")) { ev.preventDefault(); interact(el, []); return; }
    if (el.matches("button[data-react]")) {
      ev.preventDefault();
      var reacted = el.closest(".msg");
      post("react", { channel: reacted.dataset.channel, ts: reacted.dataset.ts,
                      name: el.dataset.react }, el);
      return;
    }
    if (el.matches("button[data-shortcut]")) {
      ev.preventDefault();
      var msg = el.closest(".msg");
      var details = el.closest("details");
      if (details) { details.open = false; }
      post("shortcut", { channel: msg.dataset.channel, ts: msg.dataset.ts,
                         callback: el.dataset.shortcut }, el);
      return;
    }
    if (el.matches("[data-close]")) {
      ev.preventDefault();
      post("close", { view: el.closest("form.modal").dataset.view }, el);
      return;
    }
    if (el.matches("[data-jump]")) {
      ev.preventDefault();
      var menu = el.closest("details");
      if (menu) { menu.open = false; }
      post("jump", { to: el.dataset.jump }, el);
      return;
    }
    if (el.matches(".menu-toggle")) { document.body.classList.toggle("nav-open"); }
  });

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.id === "person") {
      var c = state.c === "dm" || state.c === "home" || state.c.charAt(0) === "C" ? state.c : "home";
      location.href = "/demo?as=" + encodeURIComponent(el.value) + "&c=" + encodeURIComponent(c);
      return;
    }
    if (el.matches("select.bk-select, input.bk-picker")) { interact(el, el.value ? [el.value] : []); return; }
    var dispatch = el.closest(".dispatch");
    if (dispatch) {
      var values = [];
      dispatch.querySelectorAll("input, select, textarea").forEach(function (field) {
        if ((field.type === "checkbox" || field.type === "radio") && !field.checked) { return; }
        if (field.tagName === "SELECT") {
          Array.prototype.forEach.call(field.selectedOptions, function (o) { if (o.value) { values.push(o.value); } });
        } else if (field.value) { values.push(field.value); }
      });
      interact(dispatch, values);
    }
  });

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    ev.preventDefault();
    var button = form.querySelector("button:not([type=button])");
    if (form.matches("form.modal")) {
      post("submit", { view: form.dataset.view, form: formEntries(form) }, button);
    } else if (form.matches("form.composer")) {
      var box = form.querySelector("textarea");
      var text = box.value;
      if (!text.trim()) { return; }
      box.value = "";
      post("compose", { text: text, thread: form.dataset.where === "thread" ? state.t : "" }, button);
    } else if (form.matches("form.jump-at")) {
      var menu = form.closest("details");
      if (menu) { menu.open = false; }
      post("jump", { to: "at", at: form.elements.at.value }, button);
    }
  });

  document.addEventListener("keydown", function (ev) {
    var box = ev.target;
    if (box.matches && box.matches("form.composer textarea") && ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      box.form.requestSubmit();
    }
    if (ev.key === "Escape") {
      var open = document.querySelector("form.modal [data-close]");
      if (open) { open.click(); }
    }
  });

  Object.keys(regions).forEach(function (key) {
    var el = document.getElementById(regions[key]);
    if (el) { last[key] = el.innerHTML; }
  });
  var messages = document.getElementById("messages");
  if (messages) { messages.scrollTop = state.c === "home" ? 0 : messages.scrollHeight; }
  document.body.classList.toggle("modal-open", !!document.querySelector("form.modal"));
  var notes = document.getElementById("notice");
  if (notes && notes.textContent.trim()) { notice(notes.innerHTML); }
  poll();
  setInterval(poll, 1000);
})();
