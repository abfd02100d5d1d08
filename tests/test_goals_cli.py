"""`pulsebot goals apply | list`, in-process, on a fresh database of each backend.

The environment is stripped of every pulsebot variable except those a test sets, in an empty
directory (no `.env`). Cycles lie in 2037, years ahead of any run; `--at` places "today".
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import logs
from bot.cli.main import main
from bot.demo.emulator import SlackEmulator
from bot.settings import get_database_settings, get_settings
from storage import goals as goals_store
from storage.engine import unit_of_work
from storage.models import KeyResult, KeyResultUpdate, Objective
from tests.factories import TEAM, add_people, person

OURS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL")
AT = "2037-02-15T12:00:00Z"  # half way through 2037-Q1

EXAMPLE = """
cycle: 2037-Q1
goals:
  - title: Grow revenue 20%
    owner: UCEO
    kind: company
  - title: Self-serve grows 30%
    owner: UANA
    kind: team
    parent: Grow revenue 20%
    key_results:
      - {title: Self-serve MRR, owner: UBEN, start: 100000, target: 130000, unit: USD}
      - {title: Pricing page live, owner: UCHO, measure: milestone}
"""


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, slack: SlackEmulator
) -> Iterator[Path]:
    for name in list(os.environ):
        if name in OURS or name.startswith("PULSEBOT_") or name in {"LOG_LEVEL", "LOG_FORMAT"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logs, "configure", lambda *args, **kwargs: None)
    get_settings.cache_clear()
    get_database_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    get_database_settings.cache_clear()


def write(directory: Path, text: str, name: str = "goals.yml") -> str:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def apply(path: str, *extra: str) -> int:
    return main(["goals", "apply", path, "--team", TEAM, "--at", AT, *extra])


def objectives(factory: sessionmaker[Session]) -> list[tuple[str, str, str, str | None]]:
    """(cycle, title, owner, parent's title) of every objective, oldest first."""
    with unit_of_work(factory) as session:
        rows = session.scalars(select(Objective).order_by(Objective.id)).all()
        titles = {r.id: r.title for r in rows}
        return [
            (r.cycle, r.title, r.owner_id, titles.get(r.parent_id) if r.parent_id else None)
            for r in rows
        ]


def results(factory: sessionmaker[Session]) -> dict[str, tuple[str, str, float, float, float]]:
    """title -> (owner, measure, start, target, current)."""
    with unit_of_work(factory) as session:
        return {
            r.title: (r.owner_id, r.measure, r.start, r.target, r.current)
            for r in session.scalars(select(KeyResult))
        }


# ----- apply ----------------------------------------------------------------------------------


def test_apply_creates_the_example_and_a_second_run_changes_nothing(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(env, EXAMPLE)
    assert apply(path) == 0
    out = capsys.readouterr().out
    assert 'created "Grow revenue 20%" (owner UCEO, company)' in out
    assert 'created "Self-serve grows 30%" (owner UANA, team)' in out
    assert "objectives 2 created, 0 updated, 0 unchanged" in out
    assert "key results 2 created, 0 updated, 0 unchanged" in out
    assert objectives(session_factory) == [
        ("2037-Q1", "Grow revenue 20%", "UCEO", None),
        ("2037-Q1", "Self-serve grows 30%", "UANA", "Grow revenue 20%"),
    ]
    assert results(session_factory) == {
        # `current` starts at the start.
        "Self-serve MRR": ("UBEN", "number", 100000.0, 130000.0, 100000.0),
        "Pricing page live": ("UCHO", "milestone", 0.0, 1.0, 0.0),
    }
    with unit_of_work(session_factory) as session:
        company = session.scalars(select(Objective).where(Objective.kind == "company")).one()
        assert (company.state, company.visibility, company.created_by) == (
            "active",
            "public",
            "cli",
        )

    assert apply(path) == 0
    out = capsys.readouterr().out
    assert "objectives 0 created, 0 updated, 2 unchanged" in out
    assert "key results 0 created, 0 updated, 2 unchanged" in out
    assert "created" not in out.replace("0 created", "")
    assert "left alone" not in out


def test_apply_updates_in_place_and_never_overwrites_current(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply(write(env, EXAMPLE)) == 0
    with unit_of_work(session_factory) as session:
        mrr = session.scalars(select(KeyResult).where(KeyResult.title == "Self-serve MRR")).one()
        goals_store.add_update(
            session,
            mrr,
            value=112000,
            confidence="at_risk",
            note="two deals slipped",
            author_id="UBEN",
            now=datetime(2037, 2, 10, tzinfo=UTC),
        )
    capsys.readouterr()
    changed = EXAMPLE.replace("target: 130000", "target: 140000").replace(
        "kind: team", "kind: team\n    visibility: private"
    )
    assert apply(write(env, changed)) == 0
    out = capsys.readouterr().out
    assert 'updated "Self-serve grows 30%" (owner UANA, team): visibility' in out
    assert 'key result "Self-serve MRR" updated (target)' in out
    assert "objectives 0 created, 1 updated, 1 unchanged" in out
    assert "key results 0 created, 1 updated, 1 unchanged" in out
    assert results(session_factory)["Self-serve MRR"] == (
        "UBEN",
        "number",
        100000.0,
        140000.0,
        112000.0,  # the update's value: apply never moves it
    )
    assert len(objectives(session_factory)) == 2


def test_a_goal_removed_from_the_file_is_left_alone_with_its_history(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply(write(env, EXAMPLE)) == 0
    with unit_of_work(session_factory) as session:
        mrr = session.scalars(select(KeyResult).where(KeyResult.title == "Self-serve MRR")).one()
        goals_store.add_update(
            session,
            mrr,
            value=105000,
            confidence="on_track",
            note="",
            author_id="UBEN",
            now=datetime(2037, 2, 1, tzinfo=UTC),
        )
    capsys.readouterr()
    only_company = """
cycle: 2037-Q1
goals:
  - title: Grow revenue 20%
    owner: UCEO
    kind: company
"""
    assert apply(write(env, only_company)) == 0
    out = capsys.readouterr().out
    assert 'left alone (not in the file): "Self-serve grows 30%" (UANA)' in out
    assert "objectives 0 created, 0 updated, 1 unchanged" in out
    assert [o[1] for o in objectives(session_factory)] == [
        "Grow revenue 20%",
        "Self-serve grows 30%",
    ]
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(KeyResult)) == 2
        assert session.scalar(select(func.count()).select_from(KeyResultUpdate)) == 1

    # A key result dropped from its objective in the file is left alone too.
    one_result = EXAMPLE.replace(
        "      - {title: Pricing page live, owner: UCHO, measure: milestone}\n", ""
    )
    assert apply(write(env, one_result)) == 0
    out = capsys.readouterr().out
    assert (
        'key results left alone (not in the file): "Self-serve grows 30%" › "Pricing page live"'
        in out
    )
    assert "Pricing page live" in results(session_factory)


def test_the_cycle_defaults_to_the_current_one_and_parents_may_be_stored_already(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    company = "goals:\n  - {title: Grow revenue 20%, owner: UCEO, kind: company}\n"
    assert apply(write(env, company, "company.yml")) == 0
    team = (
        "goals:\n  - title: Self-serve grows 30%\n    owner: UANA\n"
        "    parent: Grow revenue 20%\n"
    )
    assert apply(write(env, team, "team.yml")) == 0  # the parent comes from the database
    assert objectives(session_factory) == [
        ("2037-Q1", "Grow revenue 20%", "UCEO", None),
        ("2037-Q1", "Self-serve grows 30%", "UANA", "Grow revenue 20%"),
    ]
    assert "left alone" in capsys.readouterr().out  # the company goal, not in team.yml


def test_dry_run_writes_nothing(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply(write(env, EXAMPLE), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "objectives 2 created" in out and "Dry run: nothing was written." in out
    assert objectives(session_factory) == []


def test_owners_by_email_come_from_the_directory_without_slack(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    with unit_of_work(session_factory) as session:
        add_people(
            session,
            datetime.now(UTC),
            person("UANA", email="ana@example.com"),
            person("UBEN", email="ben@example.com"),
        )
    text = EXAMPLE.replace("owner: UANA", "owner: Ana@Example.com").replace(
        "owner: UBEN", "owner: ben@example.com"
    )
    assert apply(write(env, text)) == 0  # no SLACK_BOT_TOKEN: the cache knew them
    assert objectives(session_factory)[1][2] == "UANA"
    assert results(session_factory)["Self-serve MRR"][0] == "UBEN"


def test_owners_by_email_unknown_to_the_directory_are_looked_up_in_slack(
    env: Path,
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = EXAMPLE.replace("owner: UANA", "owner: uana@example.com").replace(
        "owner: UCHO", "owner: nobody@example.com"
    )
    path = write(env, text)
    # Without a token Slack cannot be asked: the command says so and writes nothing.
    assert apply(path) == 2
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err
    assert objectives(session_factory) == []

    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    get_settings.cache_clear()
    assert apply(path) == 1
    err = capsys.readouterr().err
    assert "goals.yml: goals[1].key_results[1].owner: no Slack user has the email" in err
    assert "nothing was changed" in err
    assert objectives(session_factory) == []

    assert apply(write(env, text.replace("nobody@example.com", "UCHO"), "fixed.yml")) == 0
    assert objectives(session_factory)[1][2] == "UANA"
    lookups = len(slack.calls("users.lookupByEmail"))
    assert apply(path) == 1  # still nobody@...
    assert len(slack.calls("users.lookupByEmail")) == lookups + 1  # uana@ now from the cache


def test_slack_unreachable_for_an_email_changes_nothing(
    env: Path,
    session_factory: sessionmaker[Session],
    slack: SlackEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")  # nothing listens there
    get_settings.cache_clear()
    text = EXAMPLE.replace("owner: UANA", "owner: uana@example.com")
    assert apply(write(env, text)) == 2
    assert "Slack is unreachable for users.lookupByEmail" in capsys.readouterr().err
    assert objectives(session_factory) == []


# ----- every validation error -----------------------------------------------------------------

ONE = "cycle: 2037-Q1\ngoals:\n  - {title: Grow, owner: UCEO, kind: company}\n"


def _goal(fields: str) -> str:
    return f"cycle: 2037-Q1\ngoals:\n  - {{{fields}}}\n"


def _kr(fields: str, goal: str = "title: Grow, owner: UANA") -> str:
    return f"cycle: 2037-Q1\ngoals:\n  - {{{goal}, key_results: [{{{fields}}}]}}\n"


INVALID = [
    ("goals: [", "goals.yml: not valid YAML (line 1"),
    ("cycle: 2037-Q1\n", "goals.yml: expected a top-level `goals:` list"),
    (ONE + "colour: red\n", "goals.yml: colour: unknown top-level key"),
    ("goals: []\n", "goals.yml: goals: the list is empty"),
    (ONE.replace("2037-Q1", "2037-Q5"), "goals.yml: cycle: '2037-Q5' is not a cycle"),
    ("goals:\n  - just words\n", "goals.yml: goals[0]: must be a mapping of fields"),
    (_goal("title: G, owner: UANA, colour: red"), "goals.yml: goals[0].colour: unknown field"),
    (_goal("owner: UANA"), "goals.yml: goals[0].title: a title is needed"),
    (_goal("title: '', owner: UANA"), "goals.yml: goals[0].title: a title is needed"),
    (_goal(f"title: {'x' * 201}, owner: UANA"), "goals[0].title: at most 200 characters"),
    (_goal("title: G"), "goals.yml: goals[0].owner: an owner is needed"),
    (_goal("title: G, owner: bob"), 'goals[0].owner: "bob" is neither a Slack user id'),
    (_goal("title: G, owner: UANA, kind: epic"), 'goals[0].kind: "epic" is not one of company'),
    (
        _goal("title: G, owner: UANA, visibility: secret"),
        'goals[0].visibility: "secret" is not one of public | private',
    ),
    (
        _goal("title: G, owner: UCEO, kind: company, visibility: private"),
        "goals[0].visibility: a company objective is everyone's to read",
    ),
    (
        _goal("title: G, owner: UANA, parent: Nowhere"),
        'goals[0].parent: no objective titled "Nowhere" in this cycle',
    ),
    (
        "cycle: 2037-Q1\ngoals:\n  - {title: Grow, owner: UCEO}\n  - {title: Grow, owner: UANA}\n"
        "  - {title: Mine, owner: UBEN, parent: Grow}\n",
        'goals[2].parent: several objectives of this cycle are titled "Grow"',
    ),
    (
        "cycle: 2037-Q1\ngoals:\n  - {title: A, owner: UANA, parent: B}\n"
        "  - {title: B, owner: UBEN, parent: A}\n",
        'goals.yml: goals[0].parent: this would make a loop: "A" → "B" → "A"',
    ),
    (_goal("title: A, owner: UANA, parent: A"), 'goals[0].parent: this would make a loop'),
    (
        "cycle: 2037-Q1\ngoals:\n  - {title: G, owner: UANA}\n  - {title: G, owner: UANA}\n",
        "goals.yml: goals[1].title: goals[0] has the same owner and title",
    ),
    (_goal("title: G, owner: UANA, key_results: many"), "goals[0].key_results: must be a list"),
    (
        _goal(
            "title: G, owner: UANA, key_results: ["
            + ", ".join(f"{{title: R{i}, target: 10}}" for i in range(6))
            + "]"
        ),
        "goals.yml: goals[0].key_results: at most 5 key results per objective (this one has 6)",
    ),
    (_goal("title: G, owner: UANA, key_results: [words]"), "goals[0].key_results[0]: must be"),
    (_kr("title: R, target: 10, colour: red"), "goals[0].key_results[0].colour: unknown field"),
    (_kr("target: 10"), "goals.yml: goals[0].key_results[0].title: a title is needed"),
    (_kr("title: R"), "goals.yml: goals[0].key_results[0].target: a number is needed"),
    (_kr("title: R, target: lots"), 'key_results[0].target: a number is needed (got "lots")'),
    (_kr("title: R, target: 10, start: true"), "key_results[0].start: a number is needed"),
    (_kr("title: R, target: .nan"), "goals[0].key_results[0].target: a number is needed"),
    (_kr("title: R, start: 5, target: 5"), "key_results[0].target: must differ from the start"),
    (_kr("title: R, target: 10, measure: kg"), 'key_results[0].measure: "kg" is not one of'),
    (
        _kr("title: R, measure: milestone, target: 1"),
        "goals[0].key_results[0].target: a milestone has no start or target",
    ),
    (_kr("title: R, target: 10, weight: 0"), "key_results[0].weight: must be above 0 (got 0)"),
    (_kr("title: R, target: 10, unit: " + "u" * 17), "key_results[0].unit: at most 16"),
    (_kr("title: R, target: 10, owner: bob"), 'key_results[0].owner: "bob" is neither'),
    (
        _goal("title: G, owner: UANA, key_results: [{title: R, target: 1}, {title: R, target: 2}]"),
        "goals[0].key_results[1].title: key_results[0] has the same title",
    ),
]


@pytest.mark.parametrize(("text", "expected"), INVALID, ids=[e for _, e in INVALID])
def test_every_invalid_file_is_refused_whole_and_says_where(
    text: str,
    expected: str,
    env: Path,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert apply(write(env, text)) == 1
    err = capsys.readouterr().err
    assert expected in err, err
    assert "goals.yml: nothing was changed." in err
    assert objectives(session_factory) == []


def test_every_problem_of_a_file_is_reported_at_once(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    text = """
cycle: 2037-Q1
goals:
  - {title: Fine, owner: UCEO, kind: company}
  - title: Broken
    owner: bob
    kind: epic
    key_results:
      - {title: R, target: lots}
      - {title: S, start: 3, target: 3}
"""
    assert apply(write(env, text)) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if "goals[1]" in line]
    assert [line.split(": ", 2)[1] for line in lines] == [
        "goals[1].owner",
        "goals[1].kind",
        "goals[1].key_results[0].target",
        "goals[1].key_results[1].target",
    ]
    assert objectives(session_factory) == []  # not even the fine one


def test_a_parent_in_another_cycle_or_a_loop_through_stored_goals_is_refused(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    q2 = "cycle: 2037-Q2\ngoals:\n  - {title: Next quarter, owner: UCEO, kind: company}\n"
    assert apply(write(env, q2)) == 0
    stored = (
        "cycle: 2037-Q1\ngoals:\n  - {title: A, owner: UANA, parent: B}\n"
        "  - {title: B, owner: UBEN}\n"
    )
    assert apply(write(env, stored)) == 0
    capsys.readouterr()
    other_cycle = _goal("title: Mine, owner: UCHO, parent: Next quarter")
    assert apply(write(env, other_cycle)) == 1
    assert 'goals[0].parent: no objective titled "Next quarter" in this cycle' in (
        capsys.readouterr().err
    )
    # B (in the file) under A (stored, already under B): a loop through the database.
    loop = _goal("title: B, owner: UBEN, parent: A")
    assert apply(write(env, loop)) == 1
    assert 'goals[0].parent: this would make a loop: "B" → "A" → "B"' in capsys.readouterr().err
    assert [o[3] for o in objectives(session_factory)] == [None, "B", None]


def test_unreadable_file_and_bad_cycle_argument(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply(str(env / "missing.yml")) == 1
    assert "can't read the file" in capsys.readouterr().err
    assert main(["goals", "list", "--cycle", "2037-Q9", "--team", TEAM]) == 2
    assert "--cycle: '2037-Q9' is not a cycle" in capsys.readouterr().err


# ----- list -----------------------------------------------------------------------------------


def test_list_prints_the_tree_with_progress_status_flags_and_names(
    env: Path, session_factory: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    with unit_of_work(session_factory) as session:
        add_people(session, datetime.now(UTC), person("UANA"), person("UBEN"), person("UCEO"))
    text = EXAMPLE + (
        "  - title: Learn Go\n    owner: UBEN\n    kind: development\n    visibility: private\n"
        "    key_results: [{title: Ship a service, measure: milestone}]\n"
    )
    main(["goals", "apply", write(env, text), "--team", TEAM, "--at", "2037-01-01T09:00:00Z"])
    with unit_of_work(session_factory) as session:
        mrr = session.scalars(select(KeyResult).where(KeyResult.title == "Self-serve MRR")).one()
        goals_store.add_update(
            session,
            mrr,
            value=112000,
            confidence="at_risk",
            note="two deals slipped",
            author_id="UBEN",
            now=datetime(2037, 2, 10, tzinfo=UTC),
        )
    capsys.readouterr()
    assert main(["goals", "list", "--cycle", "2037-Q1", "--team", TEAM, "--at", AT]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2037-Q1 (1 Jan 2037 – 31 Mar 2037): 3 objectives"
    # Company first, its aligned child indented under it; key results under their objective.
    assert out[1] == "Grow revenue 20% · company · uceo · no key results"
    assert out[2].startswith("  Self-serve grows 30% · team · uana · ▓▓░░░░░░░░ 20% · at risk")
    assert out[2].endswith("· stale")  # the milestone has had no update for six weeks
    assert out[3] == (
        "      - Self-serve MRR · uben · 100,000 → 112,000 of 130,000 USD · ▓▓▓▓░░░░░░ 40% · "
        "at risk"
    )
    assert out[4] == (
        "      - Pricing page live · UCHO · milestone, not done · ░░░░░░░░░░ 0% · on track · stale"
    )
    assert out[5] == "Learn Go · development · uben · private · ░░░░░░░░░░ 0% · on track · stale"

    # The current cycle and the one workspace with goals are the defaults; a cycle with nothing
    # says so.
    assert main(["goals", "list", "--at", AT]) == 0
    assert capsys.readouterr().out.startswith("2037-Q1 (1 Jan 2037 – 31 Mar 2037): 3 objectives")
    assert main(["goals", "list", "--cycle", "2037-Q3", "--team", TEAM]) == 0
    assert capsys.readouterr().out.startswith("No goals in 2037-Q3 (1 Jul 2037 – 30 Sep 2037).")
