"""The demo in a real browser: Debian's chromium driven by Playwright for Python.

Nothing is downloaded: Playwright is told where chromium is. Without chromium or Playwright
the test skips and says why, unless TESTS_REQUIRE_BROWSER=1 (CI sets it), where it fails.
Screenshots go to the test's temporary directory; TESTS_DEMO_SCREENSHOT=docs/demo.png also
writes the README's screenshot there (only when asked, never in a plain run).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.demo import goals as demo_goals
from bot.demo.server import Demo
from bot.services import goal_progress
from bot.services.goal_cycles import cycle_of
from bot.services.goal_progress import Measure, ResultNumbers
from storage.models import KeyResult, Objective

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT = 15_000  # ms: outbox delivery and the page's one-second poll


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("TESTS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test is required here: {reason}")
        pytest.skip(f"browser test skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_a_week_at_the_company_in_the_browser(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with Demo(0) as demo:
        base = demo.url
        page = browser.new_page(viewport=LAPTOP)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))

        # Kudos by typing the command, as Ben in #kudos.
        page.goto(f"{base}?as=U0BEN&c=C0KUDOS")
        composer = page.locator("form.composer[data-where=main] textarea")
        composer.fill("/kudos @chloe thanks for the staging clean-up #craft")
        composer.press("Enter")
        expect(page.locator(".msg.ephemeral")).to_contain_text("Kudos sent to", timeout=WAIT)
        posted = page.locator("#messages .msg", has_text="thanks for the staging clean-up")
        expect(posted).to_be_visible(timeout=WAIT)

        # The message shortcut on Kenji's message in #platform.
        page.goto(f"{base}?as=U0BEN&c=C0PLATFORM")
        message = page.locator(".msg", has_text="review the quota PR")
        message.hover()
        message.locator("summary.tool").click()
        message.get_by_role("button", name="Give kudos").click()
        modal = page.locator("form.modal")
        expect(modal).to_contain_text("Give kudos", timeout=WAIT)
        expect(modal.locator("input[type=checkbox][value=U0KENJI]")).to_be_checked()
        modal.locator("textarea").fill("Thanks for keeping the quota PR small!")
        modal.locator("label.choice", has_text="#teamwork").click()
        page.screenshot(path=str(tmp_path / "kudos-modal-laptop.png"))
        modal.get_by_role("button", name="Send").click()
        # The form becomes its confirmation, where Ben is, not a DM from the bot.
        expect(modal).to_contain_text("Kudos sent to", timeout=WAIT)
        modal.get_by_role("button", name="Done").click()
        expect(page.locator("form.modal")).to_have_count(0, timeout=WAIT)
        page.goto(f"{base}?as=U0BEN&c=C0KUDOS")
        posted = page.locator("#messages .msg", has_text="keeping the quota PR small")
        expect(posted).to_be_visible(timeout=WAIT)

        # Jump to the next check-in and answer it through its modal.
        page.goto(f"{base}?as=U0BEN&c=dm")
        page.locator("[data-jump=next-checkin]").click()
        prompt = page.locator(".msg", has_text="Time for your")
        expect(prompt).to_be_visible(timeout=WAIT)
        prompt.get_by_role("button", name="Start check-in").click()
        modal = page.locator("form.modal")
        expect(modal).to_contain_text("What did you get done", timeout=WAIT)
        modal.get_by_role("button", name="Submit").click()  # empty: Slack's own check
        expect(modal.locator(".field-error").first).to_contain_text("required", timeout=WAIT)
        page.screenshot(path=str(tmp_path / "checkin-modal-laptop.png"))
        field = modal.locator(".field", has_text="What did you get done")
        field.locator("textarea").fill("Shipped the per-tenant quota limits.")
        modal.locator(".field", has_text="How do you feel").locator("select").select_option("4")
        modal.locator(".field", has_text="Main focus").locator("select").select_option("Ship")
        modal.locator(".field", has_text="Anything blocking").get_by_text("No").click()
        upward = modal.locator(".field", has_text="Anything for your manager")
        upward.locator("textarea").fill("<script>alert(1)</script> can we talk about on-call?")
        modal.get_by_role("button", name="Submit").click()
        expect(page.locator("form.modal")).to_have_count(0, timeout=WAIT)
        expect(page.locator("#messages")).to_contain_text("Submitted ✓", timeout=WAIT)

        # The manager's copy (her sidebar says it is new), and a reply to it.
        page.goto(f"{base}?as=U0ANA&c=C0GENERAL")
        expect(page.locator(".nav.unread", has_text="💬 pulsebot")).to_be_visible(timeout=WAIT)
        page.goto(f"{base}?as=U0ANA&c=dm")
        answer = page.locator(".msg", has_text="quota limits")
        expect(answer).to_be_visible(timeout=WAIT)
        expect(answer).to_contain_text("<script>alert(1)</script>")  # shown as text
        page.screenshot(path=str(tmp_path / "manager-laptop.png"))
        answer.get_by_role("button", name="Reply").click()
        modal = page.locator("form.modal")
        expect(modal).to_contain_text("Your reply", timeout=WAIT)
        modal.locator("textarea").fill("Great week, thank you!")
        modal.get_by_role("button", name="Send").click()
        expect(page.locator("form.modal")).to_have_count(0, timeout=WAIT)
        page.goto(f"{base}?as=U0BEN&c=dm")
        submitted = page.locator(".msg", has_text="Submitted ✓").last  # today's, after history
        expect(submitted.locator(".replies")).to_contain_text("1 reply", timeout=WAIT)

        # The team channel: the day's header with the answers in its thread.
        page.goto(f"{base}?as=U0ANA&c=C0PLATFORM")
        header = page.locator(".msg", has_text="Platform weekly").last  # today's, after history
        expect(header.locator(".replies")).to_be_visible(timeout=WAIT)
        header.locator(".replies").click()
        expect(page.locator("#thread")).to_contain_text("quota limits", timeout=WAIT)
        page.screenshot(path=str(tmp_path / "team-thread-laptop.png"))
        screenshot = os.environ.get("TESTS_DEMO_SCREENSHOT")
        if screenshot:  # the README's picture, only when asked
            page.screenshot(path=screenshot)

        # App Home.
        page.goto(f"{base}?as=U0BEN&c=home")
        expect(page.locator(".home")).to_contain_text("Kudos in", timeout=WAIT)
        page.screenshot(path=str(tmp_path / "home-laptop.png"))

        # A phone's width: the same page, readable.
        phone = browser.new_page(viewport=PHONE)
        phone.goto(f"{base}?as=U0ANA&c=dm")
        expect(phone.locator(".msg", has_text="quota limits")).to_be_visible(timeout=WAIT)
        phone.screenshot(path=str(tmp_path / "manager-phone.png"))
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
        _read_the_digests_on_a_phone(phone, base, tmp_path)
        phone.locator("form.composer textarea").fill("/kudos")
        phone.locator("form.composer textarea").press("Enter")
        expect(phone.locator("form.modal")).to_contain_text("What did they do?", timeout=WAIT)
        phone.screenshot(path=str(tmp_path / "kudos-modal-phone.png"))
        phone.locator("form.modal [data-close]").first.click()
        expect(phone.locator("form.modal")).to_have_count(0, timeout=WAIT)
        phone.close()
        page.close()
        assert not errors, errors
        assert re.search(r"\.png$", str(next(tmp_path.iterdir())))


DAY_IN_WORDS = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}"  # "Fri 27 Nov"
# Every block of a digest, with what sticks out past the screen's right edge or scrolls inside.
OVERFLOWING = """
(message) => [...message.querySelectorAll(
    '.bk-header, .bk-section, .bk-context, .bk-image, .bk-image img, .bk-actions, .bk-accessory'
)].map((el) => {
    const box = el.getBoundingClientRect();
    return {
        text: (el.innerText || el.getAttribute('alt') || '').slice(0, 60),
        right: box.right,
        scrolls: el.scrollWidth - el.clientWidth,
    };
}).filter((b) => b.right > window.innerWidth + 0.5 || b.scrolls > 1)
"""


def _read_the_digests_on_a_phone(phone: Any, base: str, tmp_path: Path) -> None:
    """Ana's digest and Maya's, as each reads them on a phone: every section within the
    screen, the chart included; what blocks said in words; Maya's led by her teams."""
    from playwright.sync_api import expect

    phone.goto(f"{base}?as=U0ANA&c=dm")
    phone.wait_for_selector("body[data-polled]", state="attached", timeout=WAIT)
    # The digest sent at start-up (a jump past a Monday may have brought a later one).
    digest = phone.locator(".msg", has_text="Your team, week of").first
    expect(digest).to_be_visible(timeout=WAIT)
    chart = digest.locator(".bk-image img")
    chart.scroll_into_view_if_needed()  # loaded lazily: measured once it is
    expect(chart).to_have_js_property("complete", True, timeout=WAIT)
    assert chart.evaluate("(img) => img.naturalWidth") > 0
    digest.scroll_into_view_if_needed()
    phone.screenshot(path=str(tmp_path / "digest-phone.png"), full_page=True)
    assert digest.evaluate(OVERFLOWING) == []
    blockers = digest.locator(".bk-section", has_text="Blockers")
    if blockers.count():  # what blocks, and for how long: never a bare "yes"
        expect(blockers).to_contain_text(re.compile(r"new this week|\d+(st|nd|rd|th) week"))
        expect(blockers).not_to_contain_text(re.compile(r": yes\b"))
    # View more: the whole answer, dated as a manager says dates, within the screen.
    digest.get_by_role("button", name="View more").first.click()
    modal = phone.locator("form.modal")
    expect(modal).to_contain_text("What did you get done", timeout=WAIT)
    expect(modal).to_contain_text(re.compile(DAY_IN_WORDS))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"View more scrolls sideways on a phone ({width}px)"
    phone.locator("form.modal [data-close]").first.click()
    expect(modal).to_have_count(0, timeout=WAIT)

    phone.goto(f"{base}?as=U0MAYA&c=dm")
    teams = phone.locator(".msg", has_text="Your teams, week of").first
    expect(teams).to_be_visible(timeout=WAIT)
    expect(teams.locator(".bk-section").nth(1)).to_contain_text("Your teams")
    expect(teams).not_to_contain_text("0 of 0")
    assert teams.locator(".bk-image").count() == 0
    assert teams.evaluate(OVERFLOWING) == []
    teams.scroll_into_view_if_needed()
    phone.screenshot(path=str(tmp_path / "director-digest-phone.png"), full_page=True)


def test_the_jump_menu_moves_the_clock_and_closes(browser: Any) -> None:
    from playwright.sync_api import expect

    with Demo(0) as demo:
        page = browser.new_page(viewport=LAPTOP)
        page.goto(f"{demo.url}?as=U0MAYA&c=C0GENERAL")
        before = page.locator(".clock .now").inner_text()
        page.locator(".jump-menu summary").click()
        page.get_by_role("button", name="+1 day").click()
        expect(page.locator(".jump-menu[open]")).to_have_count(0, timeout=WAIT)
        expect(page.locator(".clock .now")).not_to_have_text(before, timeout=WAIT)
        assert demo.clock() - datetime.now(UTC) > timedelta(hours=23)
        page.close()


def test_app_home_opens_at_its_top_and_digest_answers_read_on_a_phone(browser: Any) -> None:
    from playwright.sync_api import expect

    with Demo(0) as demo:
        page = browser.new_page(viewport=LAPTOP)
        page.goto(f"{demo.url}?as=U0ANA&c=C0PLATFORM")
        page.goto(f"{demo.url}?as=U0ANA&c=home")
        expect(page.locator(".home")).to_contain_text("Your team", timeout=WAIT)
        page.wait_for_timeout(2500)  # the page's polls redraw Home as the app republishes it
        assert page.evaluate("document.getElementById('messages').scrollTop") == 0
        page.close()

        phone = browser.new_page(viewport=PHONE)
        phone.goto(f"{demo.url}?as=U0ANA&c=dm")
        _settled(phone)
        answer = phone.locator(".bk-section", has=phone.locator("button", has_text="View more"))
        expect(answer.first).to_be_visible(timeout=WAIT)
        text = answer.first.locator(".bk-main").bounding_box()
        button = answer.first.locator(".bk-accessory").bounding_box()
        message = answer.first.bounding_box()
        assert text is not None and button is not None and message is not None
        # The answer takes the message's whole width; View more sits under it, not beside it
        # squeezing the text into a narrow column.
        assert text["width"] >= message["width"] - 1, (text, message)
        assert button["y"] >= text["y"] + text["height"] - 1, (text, button)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.close()


def test_a_kudos_reaction_in_the_browser_reaches_the_author_by_dm(browser: Any) -> None:
    from playwright.sync_api import expect

    with Demo(0) as demo:
        page = browser.new_page(viewport=LAPTOP)
        page.goto(f"{demo.url}?as=U0BEN&c=C0PLATFORM")
        message = page.locator(".msg", has_text="review the quota PR")
        message.hover()
        message.locator("button[data-react=tada]").click()
        expect(message.locator(".reaction.mine")).to_contain_text("1", timeout=WAIT)
        page.goto(f"{demo.url}?as=U0KENJI&c=dm")
        dm = page.locator(".msg", has_text="gave you kudos").last
        expect(dm).to_contain_text("Reacted 🎉 to a message in #platform", timeout=WAIT)
        expect(dm).to_contain_text("#teamwork")
        page.close()


WIDE = {"width": 1366, "height": 800}
NOTE = "security review passed; the quota service goes out Monday"


def _mid_cycle(now: datetime) -> datetime:
    """The demo's start: now, unless the quarter ends within three weeks, when the next check-in
    and the digest after it could fall in the next one; then ten days into that one."""
    cycle = cycle_of(now.date(), "quarter")
    if cycle.ends_on - now.date() >= timedelta(days=21):
        return now
    return datetime.combine(cycle.ends_on + timedelta(days=11), now.time(), UTC)


def _objective_bar(demo: Demo, title: str) -> str:
    """The objective's progress bar as it stands in the database, as `/goals` draws it."""
    assert demo.deps is not None
    with demo.deps.unit_of_work() as session:
        objective = session.scalars(select(Objective).where(Objective.title == title)).one()
        results = session.scalars(
            select(KeyResult).where(KeyResult.objective_id == objective.id)
        ).all()
        numbers = [
            ResultNumbers(Measure(r.measure), r.start, r.target, r.current, r.weight)
            for r in results
        ]
    return goal_progress.bar(goal_progress.objective_progress(numbers))


def _command(page: Any, text: str) -> Any:
    """Type a slash command in the DM; the answer is the newest "Only visible to you"."""
    from playwright.sync_api import expect

    count = page.locator(".msg.ephemeral").count()
    composer = page.locator("form.composer[data-where=main] textarea")
    composer.fill(text)
    composer.press("Enter")
    expect(page.locator(".msg.ephemeral")).to_have_count(count + 1, timeout=WAIT)
    answer = page.locator(".msg.ephemeral").last
    _scroll_to(answer)
    return answer


def _settled(page: Any) -> None:
    """Wait for the page's first poll, which redraws every region once after it loads: an
    element found before it may be taken away while it is measured or scrolled to."""
    page.wait_for_selector("body[data-polled]", state="attached", timeout=WAIT)


def _scroll_to(found: Any) -> None:
    _settled(found.page)
    found.scroll_into_view_if_needed(timeout=WAIT)


def _both_sizes(browser: Any, url: str, name: str, tmp_path: Path, show: str) -> None:
    """A screenshot at a laptop's and a phone's width of what `show` finds, and no page that
    scrolls sideways on the phone."""
    from playwright.sync_api import expect

    for size, viewport in (("laptop", WIDE), ("phone", PHONE)):
        page = browser.new_page(viewport=viewport)
        page.goto(url)
        found = page.locator(show).last
        expect(found).to_be_visible(timeout=WAIT)
        _scroll_to(found)
        page.screenshot(path=str(tmp_path / f"{name}-{size}.png"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name} scrolls sideways ({width}px)"
        page.close()


def test_a_key_result_updated_in_a_check_in_reaches_the_manager(
    browser: Any, tmp_path: Path
) -> None:
    """Kenji updates his key result inside his check-in; Ana reads it in her DM, in
    `/goals company` and in the next digest's Goals section; Update in a `/goals` answer
    changes that answer where it is."""
    from playwright.sync_api import expect

    with Demo(0, start=_mid_cycle(datetime.now(UTC))) as demo:
        base = demo.url
        page = browser.new_page(viewport=WIDE)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))

        # Ana's company view before.
        page.goto(f"{base}?as=U0ANA&c=dm")
        before = _command(page, "/goals company")
        expect(before).to_contain_text("Company objectives")
        line = before.locator("li, .bk-section", has_text=demo_goals.PLATFORM_OBJECTIVE).last
        was = line.inner_text()

        # Kenji's check-in, with his key result in it.
        page.goto(f"{base}?as=U0KENJI&c=dm")
        page.locator("[data-jump=next-checkin]").click()
        prompt = page.locator(".msg", has_text="Time for your").last
        expect(prompt).to_be_visible(timeout=WAIT)
        prompt.get_by_role("button", name="Start check-in").click()
        modal = page.locator("form.modal")
        expect(modal).to_contain_text("How did your key results move?", timeout=WAIT)
        value = modal.locator(".field", has_text=demo_goals.LATENCY).first
        block = str(value.get_attribute("data-block")).removesuffix(".value")
        current = float(value.locator("input").input_value().replace(",", ""))
        new = round(current - 12)
        value.locator("input").fill(str(new))
        modal.locator(f'.field[data-block="{block}.confidence"] select').select_option("at_risk")
        modal.locator(f'.field[data-block="{block}.note"] input').fill(NOTE)
        _scroll_to(value)
        page.screenshot(path=str(tmp_path / "checkin-goals-laptop.png"))
        phone = browser.new_page(viewport=PHONE)
        phone.goto(f"{base}?as=U0KENJI&c=dm")
        on_phone = phone.locator("form.modal .field", has_text=demo_goals.LATENCY).first
        expect(on_phone).to_be_visible(timeout=WAIT)
        _scroll_to(on_phone)
        phone.screenshot(path=str(tmp_path / "checkin-goals-phone.png"))
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.close()
        modal.locator(".field", has_text="What did you get done").locator("textarea").fill(
            "Load-tested the quota service."
        )
        modal.locator(".field", has_text="How do you feel").locator("select").select_option("3")
        modal.get_by_role("button", name="Submit").click()
        expect(page.locator("form.modal")).to_have_count(0, timeout=WAIT)
        expect(page.locator("#messages")).to_contain_text("Load-tested the quota", timeout=WAIT)

        # Ana reads it in her DM, one line for the key result, and in /goals company.
        page.goto(f"{base}?as=U0ANA&c=dm")
        answer = page.locator(".msg", has_text="Load-tested the quota").last
        expect(answer).to_contain_text(f"{demo_goals.LATENCY} ", timeout=WAIT)
        expect(answer).to_contain_text(f"→ {new} ms")
        expect(answer).to_contain_text(f'at risk): "{NOTE}"')
        after = _command(page, "/goals company")
        line = after.locator("li, .bk-section", has_text=demo_goals.PLATFORM_OBJECTIVE).last
        expect(line).to_contain_text(_objective_bar(demo, demo_goals.PLATFORM_OBJECTIVE))
        assert line.inner_text() != was
        _both_sizes(browser, f"{base}?as=U0ANA&c=dm", "goals-company", tmp_path,
                    ".msg.ephemeral")

        # The digest after Kenji's week: its Goals section has his result, in his words.
        sent = demo.clock().astimezone(ZoneInfo("Europe/Lisbon"))
        tuesday = sent.date() + timedelta(days=(1 - sent.weekday()) % 7 or 7)
        page.locator(".jump-menu summary").click()
        page.locator(".jump-at input").fill(f"{tuesday.isoformat()}T09:00")
        page.locator(".jump-at").get_by_role("button", name="Jump to").click()
        digest = page.locator(".msg", has_text="Your team, week of").filter(has_text=NOTE)
        expect(digest).to_have_count(1, timeout=3 * WAIT)
        goals = digest.locator(".bk-section", has_text="Goals")
        expect(goals).to_contain_text(demo_goals.PLATFORM_OBJECTIVE)
        expect(goals).to_contain_text(f'{demo_goals.LATENCY} (@kenji')
        expect(goals).not_to_contain_text(":dart:")
        _both_sizes(browser, f"{base}?as=U0ANA&c=dm", "digest-goals", tmp_path,
                    ".msg .bk-section:has-text('Goals')")

        # Update from Kenji's /goals answer: the answer itself shows the new value.
        page.goto(f"{base}?as=U0KENJI&c=dm")
        mine = _command(page, "/goals")
        mine.get_by_role("button", name=f"Update {demo_goals.LATENCY}").click()
        form = page.locator("form.modal")
        expect(form).to_contain_text("Update key result", timeout=WAIT)
        form.locator(".field", has_text="Where it is now").locator("input").fill(str(new - 5))
        form.locator(".field", has_text="Note").locator("textarea").fill("rollout started")
        form.get_by_role("button", name="Save").click()
        expect(form).to_contain_text("Saved", timeout=WAIT)
        form.get_by_role("button", name="Done").click()
        expect(page.locator("form.modal")).to_have_count(0, timeout=WAIT)
        answers = page.locator(".msg.ephemeral", has_text="Your goals")
        expect(answers.last).to_contain_text("rollout started", timeout=WAIT)
        expect(answers).to_have_count(1)  # replaced where it was, not posted again
        _both_sizes(browser, f"{base}?as=U0KENJI&c=dm", "goals-mine", tmp_path,
                    ".msg.ephemeral")
        _both_sizes(browser, f"{base}?as=U0BEN&c=home", "home-goals", tmp_path,
                    ".home .bk-header:has-text('Your goals')")
        page.close()
        assert not errors, errors
