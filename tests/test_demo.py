"""`pulsebot demo`: it starts, serves its page, and what the page sends reaches the app signed.

The demo always runs on its own temporary SQLite file, whatever DATABASE_URL says.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.cli.main import main
from bot.demo import company
from bot.demo import goals as demo_goals
from bot.demo.clock import DemoClock
from bot.demo.server import Demo
from bot.demo.slack_payloads import SlackPayloads
from bot.services import checkins, goal_progress, templates
from bot.services import digest_rules as rules
from bot.services.digest_data import DigestData
from bot.services.goal_cycles import cycle_of, parse
from bot.services.goal_progress import Measure, ResultNumbers
from handlers.blocks import digest as digest_blocks
from storage.models import (
    CheckinOccurrence,
    ConversationMessage,
    Digest,
    KeyResult,
    KeyResultUpdate,
    Objective,
    UpwardFeedback,
)
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    with Demo(0) as running:
        yield running


def act(demo: Demo, verb: str, **data: object) -> httpx.Response:
    base = demo.url.removesuffix("/demo")
    return httpx.post(f"{base}/demo/api/{verb}", json=data, timeout=15)


def test_the_page_is_served_on_loopback_with_its_own_static_files(demo: Demo) -> None:
    assert demo.url.startswith("http://127.0.0.1:")
    page = httpx.get(demo.url, params={"as": "U0BEN", "c": "C0KUDOS"}, timeout=10)
    assert page.status_code == 200
    assert "/demo/static/demo.js" in page.text
    assert "Ben Okafor" in page.text
    assert "http://" not in page.text.replace(demo.url.removesuffix("/demo"), "")  # no CDN
    for name in ("demo.css", "demo.js"):
        assert httpx.get(f"{demo.url}/static/{name}", timeout=5).status_code == 200


def test_only_this_machines_browser_drives_the_demo(demo: Demo) -> None:
    base = demo.url.removesuffix("/demo")
    rebound = httpx.get(demo.url, headers={"Host": "evil.example"}, timeout=10)
    assert rebound.status_code == 403
    form = httpx.post(
        f"{base}/demo/api/compose",
        content=b'{"as": "U0BEN", "c": "C0KUDOS", "text": "/kudos stats"}',
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert form.status_code == 415


def test_the_company_has_eight_weeks_of_history_in_five_or_more_zones(demo: Demo) -> None:
    assert demo.summary is not None
    assert len(company.PEOPLE) >= 12
    assert len({p.tz for p in company.PEOPLE}) >= 5
    assert demo.summary.answered > 80 and demo.summary.kudos > 20
    assert demo.emulator is not None
    first = float(demo.emulator.messages(company.KUDOS_CHANNEL)[0]["ts"])
    assert demo.clock().timestamp() - first > timedelta(weeks=7).total_seconds()


def test_a_slash_command_typed_in_the_page_reaches_the_app_signed(demo: Demo) -> None:
    assert demo.emulator is not None
    text = "/kudos @chloe thanks for the <b>fix</b> #craft"
    answer = act(demo, "compose", c=company.KUDOS_CHANNEL, text=text, **{"as": "U0BEN"})
    assert answer.status_code == 200
    assert "Kudos sent to" in answer.json()["messages"]  # the app's ephemeral ack
    posted = demo.emulator.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.get("channel") == company.KUDOS_CHANNEL,
        timeout=10,
    )[-1]
    assert "<@U0CHLOE>" in posted["text"] and "&lt;b&gt;fix&lt;/b&gt;" in posted["text"]


def test_a_kudos_reaction_in_the_page_gives_kudos_and_shows_on_the_message(demo: Demo) -> None:
    assert demo.emulator is not None
    message = demo.emulator.add_message("C0PLATFORM", "U0KENJI", "Rolled back in two minutes")
    answer = act(
        demo,
        "react",
        c="C0PLATFORM",
        channel="C0PLATFORM",
        ts=message["ts"],
        name="rocket",
        **{"as": "U0BEN"},
    )
    assert answer.status_code == 200
    assert 'class="reaction mine" data-react="rocket"' in answer.json()["messages"]
    dm = demo.emulator.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.get("channel") == "U0KENJI" and "Reacted" in c["text"],
        timeout=10,
    )[-1]
    assert dm["text"].startswith(":tada: <@U0BEN> gave you kudos")
    assert "`#ownership`" in json.dumps(dm["blocks"])


def test_a_request_signed_with_another_secret_is_refused_by_the_app(demo: Demo) -> None:
    assert demo.emulator is not None
    forged = SlackPayloads(
        demo.url.removesuffix("/demo") + "/slack/events",
        "not-the-secret",
        team_id=company.TEAM_ID,
        team_domain="example",
        api_app_id=demo.emulator.app_id,
        bot_user_id=company.BOT_USER_ID,
        hooks_url=demo.emulator.hooks_url,
    )
    answer = forged.command(
        "/kudos",
        "stats",
        user={"id": "U0BEN", "name": "ben"},
        channel_id=company.KUDOS_CHANNEL,
        channel_name="kudos",
        trigger_id=forged.trigger_id(),
        response_url=forged.response_url("commands"),
    )
    assert answer.status == 401


def test_a_jump_to_the_next_check_in_delivers_its_prompt(demo: Demo) -> None:
    assert demo.emulator is not None and demo.workspace is not None
    answer = act(demo, "jump", c="dm", to="next-checkin", **{"as": "U0KENJI"})
    assert answer.status_code == 200
    demo.emulator.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.get("channel") == "U0KENJI" and "check-in" in str(c.get("text")),
        timeout=10,
    )
    prompt = demo.emulator.messages("U0KENJI")[-1]
    # The emulator dates messages on the demo clock, which the jump moved ahead.
    assert float(prompt["ts"]) > time.time() + 60


def test_the_next_check_in_button_names_its_date_not_only_the_weekday(demo: Demo) -> None:
    assert demo.deps is not None
    regions = httpx.get(
        f"{demo.url}/api/regions", params={"as": "U0BEN", "c": "dm"}, timeout=10
    ).json()
    with demo.deps.unit_of_work() as session:
        found = checkins.next_checkin(session, company.TEAM_ID, "U0BEN", demo.clock())
    assert found is not None
    local = found[1].astimezone(ZoneInfo("Africa/Lagos"))  # Ben's zone
    assert f"Next check-in · {local:%a} {local.day} {local:%b, %H:%M}<" in regions["clock"]


def test_the_escaped_mentions_are_those_slack_sends_for_commands(demo: Demo) -> None:
    assert demo.workspace is not None
    assert (
        demo.workspace.escape("@ben & #kudos <3 #teamwork", for_command=True)
        == "<@U0BEN|ben> &amp; <#C0KUDOS|kudos> &lt;3 #teamwork"
    )
    assert demo.workspace.escape("hi @zoe", for_command=False) == "hi <@U0ZOE>"


def test_a_port_in_use_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["demo", "--port", str(port), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in err and err.count("\n") == 1


def test_the_demo_clock_only_moves_forward() -> None:
    start = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
    clock = DemoClock(start)
    assert clock() - start < timedelta(seconds=5)
    clock.jump_to(start + timedelta(days=2))
    assert clock() >= start + timedelta(days=2)
    clock.jump_to(start)  # back: ignored
    assert clock() >= start + timedelta(days=2)


def test_the_cli_verb_says_how_to_use_it() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "--no-browser" in out.stdout and "--port" in out.stdout


def test_pulsebot_demo_starts_within_ten_seconds_and_ctrl_c_removes_its_files(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "DATABASE_URL": "sqlite:///ignored.db"}
    env.pop("DISPLAY", None)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        url = None
        for line in process.stdout:
            found = re.search(r"Open (http://127\.0\.0\.1:\d+/demo)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "the demo never printed its address"
        assert httpx.get(url, timeout=10).status_code == 200
        assert time.monotonic() - started < 10
        assert any(tmp_path.iterdir())  # its temporary directory exists while it runs
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert "temporary files removed" in rest
    assert not any(p.name.startswith("pulsebot-demo-") for p in tmp_path.iterdir())
    assert not (tmp_path / "ignored.db").exists()


def test_an_uploaded_chart_shows_in_the_page_from_the_emulator(demo: Demo) -> None:
    assert demo.emulator is not None
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # enough of a PNG for the page to serve
    client = WebClient(token=demo.emulator.bot_token, base_url=demo.emulator.url)
    client.files_upload_v2(
        channel=demo.emulator.dm_channel_id("U0MAYA"),
        content=png,
        filename="pulse.png",
        title="Pulse, 8 weeks",
        initial_comment="Your digest",
    )
    regions = httpx.get(
        f"{demo.url}/api/regions", params={"as": "U0MAYA", "c": "dm"}, timeout=10
    ).json()
    found = re.search(r'<img src="(/demo/files/F\w+)"', regions["messages"])
    assert found is not None and "Pulse, 8 weeks" in regions["messages"]
    image = httpx.get(demo.url.removesuffix("/demo") + found.group(1), timeout=10)
    assert image.status_code == 200 and image.content == png
    assert image.headers["content-type"] == "image/png"


def test_the_seeded_digests_release_distinct_notes_week_by_week_and_count_the_replies(
    demo: Demo,
) -> None:
    """The history's digests are written week by week, as a running product writes them: each
    releases only what its own span allows, labelled by that span; no note repeats another's
    words (a named note's words sent anonymously would name its author); follow-through
    counts the replies kept with the answers."""
    assert demo.deps is not None
    with demo.deps.unit_of_work() as session:
        notes = session.scalars(select(UpwardFeedback)).all()
        digests = session.scalars(select(Digest)).all()
        replies = session.execute(
            select(ConversationMessage.item_id, ConversationMessage.author_id).where(
                ConversationMessage.kind == "checkin"
            )
        ).all()
    texts = [n.text for n in notes]
    assert len(texts) == len(set(texts)) and any(n.anonymous for n in notes)
    released = [n for n in notes if n.anonymous and n.released]
    assert released and len({n.released_week for n in released}) >= 2
    by_digest = Counter((n.manager_id, n.released_week) for n in released)
    for digest in digests:
        content = digest.content
        assert content["anonymous_released"] == by_digest.get(
            (digest.manager_id, digest.iso_week), 0
        )
        span_start = rules.monday_of_iso(digest.iso_week) - timedelta(
            weeks=max(content["anonymous_weeks"], 1) - 1
        )
        for note in released:
            if (note.manager_id, note.released_week) == (digest.manager_id, digest.iso_week):
                assert span_start <= rules.monday_of_iso(note.iso_week)
    for digest in digests:
        # Answers, not people: a line holds every answer of that person's week.
        expected = sum(
            1
            for answer in digest.content["answers"]
            for occurrence_id in answer.get("occurrence_ids") or [answer["occurrence_id"]]
            if any(i == occurrence_id and a != answer["user_id"] for i, a in replies)
        )
        assert digest.content["replied"] == expected
    assert sum(d.content["replied"] for d in digests) > 0


def test_a_long_jump_stops_at_each_check_in_so_no_prompt_goes_out_late(demo: Demo) -> None:
    """A jump is not an outage: a week ahead, each member's prompt is sent at its own time
    (dated then, in the DM), and none apologises for coming late."""
    emulator = demo.emulator
    assert emulator is not None
    start = demo.clock()
    already = len(emulator.calls("chat.postMessage"))
    target = (start + timedelta(days=8)).astimezone(ZoneInfo("Europe/Lisbon"))
    answer = act(demo, "jump", c="dm", to="at", at=target.strftime("%Y-%m-%dT%H:%M"), **{
        "as": "U0ANA"
    })
    assert answer.status_code == 200
    managers = {company.PLATFORM_MANAGER, company.CUSTOMER_MANAGER}
    members = [p.user_id for p in company.PEOPLE if p.manager in managers]

    def prompted() -> set[str]:
        sent = emulator.calls("chat.postMessage")[already:]
        return {c["channel"] for c in sent if "Time for your" in str(c.get("text"))}

    wait_until(lambda: prompted() == set(members), timeout=20, what="every member prompted")
    sent = emulator.calls("chat.postMessage")[already:]
    assert not [c for c in sent if "comes late" in json.dumps(c.get("blocks") or c.get("text"))]
    prompts = [
        float(m["ts"])
        for member in members
        for m in emulator.messages(member)
        if "Time for your" in str(m.get("text")) and float(m["ts"]) > start.timestamp()
    ]
    # Dated at their own times across the week, not all at the instant jumped to.
    assert min(prompts) < demo.clock().timestamp() - 86_400


# ----- goals -------------------------------------------------------------------------------------


def test_the_company_has_goals_and_every_update_came_with_a_check_in(demo: Demo) -> None:
    """Whatever the date: the goals file's objectives in the current cycle, applied as `goals
    apply` applies it; both check-ins ask the goals question; every seeded update was written
    by its key result's owner with one of their answered check-ins, at its time."""
    assert demo.summary is not None and demo.deps is not None
    assert (demo.summary.goals, demo.summary.key_results) == demo_goals.counts() == (9, 10)
    assert "9 goals, 10 key results" in str(demo.summary)
    assert demo.deps.settings.admins == [company.DIRECTOR]
    cycle = cycle_of(demo.clock().date(), demo.deps.settings.goal_cycle)
    with demo.deps.unit_of_work() as session:
        objectives = session.scalars(select(Objective).where(Objective.cycle == cycle.name)).all()
        results = session.scalars(select(KeyResult)).all()
        updates = session.scalars(select(KeyResultUpdate)).all()
        occurrences = {o.id: o for o in session.scalars(select(CheckinOccurrence)).all()}
        infos = templates.list_templates(session, company.TEAM_ID)
    assert len(objectives) == 9 and len(results) == 10
    kinds = Counter(o.kind for o in objectives)
    assert kinds == {"company": 3, "team": 2, "personal": 2, "development": 2}
    by_id = {o.id: o for o in objectives}
    for objective in objectives:
        if objective.kind == "company":
            assert objective.parent_id is None and objective.owner_id == company.DIRECTOR
        else:  # each aligned to a company objective
            parent = by_id[objective.parent_id] if objective.parent_id else None
            assert parent is not None and parent.kind == "company", objective.title
    assert any(o.visibility == "private" for o in objectives)
    for info in infos:
        assert [q.kind for q in info.definition.questions].count("goals") == 1
    owners = {r.id: r.owner_id for r in results}
    assert demo.summary.goal_updates == len(updates)
    for update in updates:
        assert update.occurrence_id is not None and update.request_key is None
        occurrence = occurrences[update.occurrence_id]
        assert occurrence.user_id == update.author_id == owners[update.key_result_id]
        assert occurrence.state == "answered" and occurrence.answered_at == update.created_at


# A far-ahead instant in the middle of a quarter: the whole story, told the same on any date.
MID_QUARTER = datetime(2037, 2, 20, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def mid_quarter() -> Iterator[Demo]:
    """The company seeded as of MID_QUARTER (seeded only: nothing here needs it served)."""
    seeded = Demo(0, start=MID_QUARTER)
    try:
        seeded.prepare()
        yield seeded
    finally:
        seeded.close()


def _updates_of(session: Any, title: str) -> list[KeyResultUpdate]:
    result = session.scalars(select(KeyResult).where(KeyResult.title == title)).one()
    return list(
        session.scalars(
            select(KeyResultUpdate)
            .where(KeyResultUpdate.key_result_id == result.id)
            .order_by(KeyResultUpdate.created_at)
        )
    )


def test_the_seeded_updates_tell_the_story(mid_quarter: Demo) -> None:
    """Kenji's latency slips and says why at each update; Tom's onboarding dips and recovers;
    Ben's quota service is done; Omar has stopped updating his."""
    assert mid_quarter.deps is not None
    with mid_quarter.deps.unit_of_work() as session:
        latency = _updates_of(session, demo_goals.LATENCY)
        onboarding = _updates_of(session, "Onboarding calls within 2 days")
        quota = _updates_of(session, "Quota service live")
        churn = _updates_of(session, "Churned accounts a month")
        omar = session.scalars(
            select(CheckinOccurrence)
            .where(CheckinOccurrence.user_id == "U0OMAR", CheckinOccurrence.state == "answered")
            .order_by(CheckinOccurrence.answered_at)
        ).all()
    assert len(latency) >= 5
    assert latency[-1].confidence == "off_track" and "security review" in latency[-1].note
    values = [u.value for u in onboarding]
    dip = values.index(min(values))
    assert onboarding[dip].confidence == "off_track" and 0 < dip < len(values) - 1
    assert values[-1] > max(values[:dip]) and onboarding[-1].confidence == "on_track"
    assert quota[-1].value == 1 and [u.value for u in quota].count(1) == 1
    assert churn and all(churn[-1].created_at < o.answered_at for o in omar[-2:])


def test_the_seeded_digests_have_a_goals_section(mid_quarter: Demo) -> None:
    """The last digests before MID_QUARTER: Ana's names the slipping result with Kenji's
    words, Diego's names Omar among whom to talk to; some kudos named a goal."""
    assert mid_quarter.deps is not None
    with mid_quarter.deps.unit_of_work() as session:
        digests = session.scalars(select(Digest).order_by(Digest.iso_week)).all()
    last = {d.manager_id: DigestData.from_json(d.content) for d in digests}
    ana = last[company.PLATFORM_MANAGER]
    assert ana.goals_cycle == "2037-Q1"
    assert [g.title for g in ana.goals] == [demo_goals.PLATFORM_OBJECTIVE]
    flag = next(f for f in ana.goal_flags if f.title == demo_goals.LATENCY)
    assert flag.user_id == "U0KENJI" and flag.status == "off_track" and flag.note
    text = json.dumps(digest_blocks.goals_section(ana))
    assert ":dart: *Goals*" in text and demo_goals.LATENCY in text and flag.note in text
    diego = last[company.CUSTOMER_MANAGER]
    assert [g.title for g in diego.goals] == [demo_goals.CUSTOMER_OBJECTIVE]
    reasons = {t.user_id: t.reasons for t in diego.talk_to}
    assert "no goal update in their last two check-ins" in reasons.get("U0OMAR", [])
    assert any(DigestData.from_json(d.content).kudos_by_goal for d in digests)


@pytest.mark.parametrize("day", [2, 9, 30, 51, 75, 89])
def test_the_story_reads_right_whatever_the_day_of_the_cycle(day: int) -> None:
    """As the story ends (on any day of a quarter, whatever share of its eight weeks the cycle
    holds), each result's status is the story's: on track ahead of the pace or at it, the
    slipping one off track, the MRR at risk; the quota service done; onboarding dipped."""
    cycle = parse("2037-Q1")
    now = datetime.combine(cycle.starts_on + timedelta(days=day), datetime.min.time(), UTC)
    now += timedelta(hours=12)
    story = demo_goals.story(cycle, now - timedelta(weeks=8), now)
    specs = {
        str(r["title"]): r
        for goal in demo_goals.GOALS
        for r in goal.get("key_results") or []  # type: ignore[attr-defined]
    }
    assert set(specs) == set(demo_goals.STORY)
    late = story.begins + (now - story.begins) * 0.97  # the last check-in before now
    expected_status = {demo_goals.LATENCY: "off_track", "Self-serve MRR": "at_risk"}
    for title, spec in specs.items():
        measure = Measure(spec.get("measure", "number"))
        start = 0.0 if measure == Measure.MILESTONE else float(spec.get("start", 0))
        target = 1.0 if measure == Measure.MILESTONE else float(spec["target"])
        beat = story.beat(title, late)
        value = story.value(title, measure, start, target, beat)
        numbers = ResultNumbers(measure, start, target, value, last_confidence=beat.confidence)
        status = goal_progress.status(numbers, cycle, now.date())
        assert status == expected_status.get(title, "on_track"), (title, value, status)
    assert story.value("Quota service live", Measure.MILESTONE, 0, 1, story.beat(
        "Quota service live", late)) == 1
    onboarding = specs["Onboarding calls within 2 days"]

    def calls(share: float) -> float:
        at = story.begins + (now - story.begins) * share
        beat = story.beat("Onboarding calls within 2 days", at)
        return story.value(
            str(onboarding["title"]), Measure.PERCENT, 60, 90, beat
        )

    assert calls(0.45) < calls(0.25) < calls(0.97)
