"""A person's export and erasure, through `pulsebot privacy ...` on a seeded workspace: what an
export holds and each thing it must never hold, what an erasure leaves (nothing that names
them, anywhere), what it keeps for others, and bad input that changes nothing."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot import logs
from bot.cli.main import main
from bot.services import privacy
from bot.services.digest_data import DigestData
from bot.services.directory import store_users
from bot.settings import get_data_settings, get_database_settings, get_settings
from storage.engine import make_engine, unit_of_work
from storage.migrate import current_revision, upgrade
from storage.models import (
    CheckinTemplate,
    Digest,
    DirectoryUser,
    Feedback,
    FeedbackAsked,
    FeedbackRequest,
    Kudos,
    OrgEdge,
    OutboxMessage,
    PrivacyAudit,
)
from tests.databases import fresh_database
from tests.factories import TEAM, person
from tests.privacy_seed import (
    ANA,
    BEN,
    MANAGER,
    NOW,
    REPORT,
    ZOE,
    ZOE_DISPLAY,
    ZOE_DM,
    ZOE_EMAIL,
    ZOE_REAL_NAME,
    World,
    seed,
    zoe_texts,
)

OURS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[Path]:
    for name in list(os.environ):
        if name in OURS or name.startswith("PULSEBOT_") or name in {"LOG_LEVEL", "LOG_FORMAT"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logs, "configure", lambda *args, **kwargs: None)
    _clear()
    yield tmp_path
    _clear()


def _clear() -> None:
    get_settings.cache_clear()
    get_database_settings.cache_clear()
    get_data_settings.cache_clear()


@pytest.fixture
def world(env: Path, session_factory: sessionmaker[Session]) -> World:
    with unit_of_work(session_factory) as session:
        return seed(session)


def run(*argv: str) -> int:
    _clear()
    return main(list(argv))


def export_of(tmp: Path, user_id: str) -> dict[str, Any]:
    out = tmp / f"export-{user_id}"
    assert run("privacy", "export", user_id, "--out", str(out)) == 0
    data: dict[str, Any] = json.loads((out / f"pulsebot-{user_id}.json").read_text("utf-8"))
    return data


def items(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [i for i in data["items"] if i["kind"] == kind]


# ----- export: what it holds ------------------------------------------------------------------


def test_export_holds_everything_about_the_person_with_kind_time_and_people(
    world: World, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = export_of(env, ZOE)
    assert data["person"]["email"] == ZOE_EMAIL
    assert data["person"]["real_name"] == ZOE_REAL_NAME
    assert data["person"]["manager"] == MANAGER and data["person"]["reports"] == [REPORT]
    assert data["person"]["dm_channel"] == ZOE_DM
    assert data["person"]["checkins_owned"] == ["Zoe's team"]
    assert data["counts"] == {
        "checkin": 2,
        "checkin_reply": 3,
        "note_written": 1,
        "note_received": 2,
        "kudos_given": 1,
        "kudos_received": 1,
        "feedback_given": 1,
        "feedback_received": 1,
        "feedback_copy": 1,
        "feedback_reply": 2,
        "request_made": 1,
        "request_asked": 1,
        "request_about_you": 2,
        "request_reply": 2,
        "team_answer": 1,
        "digest_received": 1,
    }
    for item in data["items"]:
        assert {"kind", "at", "people"} <= set(item)
        assert item["at"], item
        assert all(p in data["names"] for p in item["people"]), item
    dumped = json.dumps(data)
    for written in zoe_texts():  # everything she wrote is hers to take away
        assert written in dumped, written
    checkin = items(data, "checkin")[-1]
    assert checkin["answers"] == {
        "What did you get done?": "ZQ-done-2",
        "Any blockers?": "ZQ-blocker",
        "How do you feel?": 4,
    }
    assert checkin["people"] == [ZOE, MANAGER]
    [made] = items(data, "request_made")
    assert [a["answers"] for a in made["answers"]] == [["Ana's answer to Zoe"], None]
    replies = {r["text"]: r for r in items(data, "checkin_reply")}
    assert replies["ZQ-reply-to-rep"]["member"] == REPORT
    assert "Rep done" not in dumped  # her reply is hers; her report's answer is not
    # One CSV per kind, and the person's row; the JSON's lists are JSON text in a cell.
    out = env / f"export-{ZOE}"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"pulsebot-{ZOE}.json", f"pulsebot-{ZOE}-person.csv"]
        + [f"pulsebot-{ZOE}-{kind}.csv" for kind in data["counts"]]
    )
    with (out / f"pulsebot-{ZOE}-kudos_received.csv").open(encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["kind"] == "kudos_received" and json.loads(row["people"]) == [BEN, ANA, ZOE]
    assert row["message"] == f"Ben thanks <@{ZOE}> and Ana"


def test_export_never_says_who_wrote_an_anonymous_note(world: World, env: Path) -> None:
    """Nothing stored knows the author, so the author's export cannot hold the note; the
    manager's holds it as released, authorless, with the week of its release only."""
    zoe = json.dumps(export_of(env, ZOE))
    assert "Anonymous note to Mara" not in zoe
    mara = export_of(env, MANAGER)
    received = {n["text"]: n for n in items(mara, "note_received")}
    note = received["Anonymous note to Mara"]
    assert note["people"] == [] and note["anonymous"] is True
    assert "author" not in note and "week" not in note
    assert note["at"] == note["released_in_week"] == "2037-W24"
    assert received["ZQ-named-note"]["author"] == ZOE  # a signed note is signed


def test_export_never_holds_an_answer_its_giver_did_not_share(world: World, env: Path) -> None:
    """Answers to a request about Zoe: only the shared ones, and only once it closed (the
    app gives her nothing before)."""
    data = export_of(env, ZOE)
    about = {r["topic"]: r for r in items(data, "request_about_you")}
    assert about["How Zoe did"]["shared_answers"] == [
        {"person": ANA, "answers": ["Ana shared about Zoe"]}
    ]
    assert about["Still open"]["shared_answers"] == []
    dumped = json.dumps(data)
    assert "Ben kept to himself" not in dumped
    assert "Not delivered yet" not in dumped


def test_export_never_holds_another_persons_private_items(world: World, env: Path) -> None:
    dumped = json.dumps(export_of(env, ZOE))
    for private in (
        "Unrelated kudos",
        "Unrelated feedback",
        "Anonymous note to Zoe, waiting",  # no digest released it to her yet
        "Rep done",  # her report's answers reach her, but are her report's
        "Ana done, thanks Zoe Quinn",  # a teammate's check-in that names her
        "Ben kept to himself",
    ):
        assert private not in dumped, private
    assert "Anonymous note to Zoe, released" in dumped


def test_export_refuses_bad_input_and_changes_nothing(
    world: World,
    env: Path,
    session_factory: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = audit_rows(session_factory)
    assert run("privacy", "export", "UNOBODY", "--out", str(env / "a")) == 2
    assert "nothing in this database names UNOBODY" in capsys.readouterr().err
    assert not (env / "a").exists()
    existing = env / "a-file"
    existing.write_text("keep me", encoding="utf-8")
    assert run("privacy", "export", ZOE, "--out", str(existing)) == 2
    assert "is a file" in capsys.readouterr().err
    assert existing.read_text(encoding="utf-8") == "keep me"
    assert run("privacy", "export", "not-an-id", "--out", str(env / "b")) == 2
    assert "is not a Slack user id" in capsys.readouterr().err
    # An earlier export in the same directory is never overwritten.
    assert run("privacy", "export", ZOE, "--out", str(env / "c")) == 0
    assert run("privacy", "export", ZOE, "--out", str(env / "c")) == 2
    assert "already holds" in capsys.readouterr().err
    assert audit_rows(session_factory) == before + 1


def audit_rows(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return len(session.scalars(select(PrivacyAudit)).all())


# ----- forget --------------------------------------------------------------------------------


def dump(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    """Every row of every table, JSON columns decoded (SQLite hands them back as text)."""
    rows = []
    with engine.connect() as connection:
        for table in sorted(inspect(engine).get_table_names()):
            result = connection.execute(text(f'SELECT * FROM "{table}"'))
            for row in result:
                values = {k: _decoded(v) for k, v in dict(row._mapping).items()}
                rows.append((table, values))
    return sorted(rows, key=lambda r: (r[0], json.dumps(r[1], sort_keys=True, default=str)))


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in '[{"':
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def test_forget_without_yes_shows_counts_and_changes_nothing(
    world: World, env: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dump(engine)
    assert run("privacy", "forget", ZOE) == 0
    out = capsys.readouterr().out
    assert f"Would erase {ZOE} ({ZOE_REAL_NAME})" in out
    assert "Nothing was changed. Run again with --yes to erase." in out
    lines = {line.split(maxsplit=1)[1]: int(line.split()[0]) for line in out.splitlines()[1:-1]}
    assert lines["check-ins"] == 2 and lines["check-in answers"] == 6
    assert lines["kudos given (message erased)"] == 1
    assert lines["feedback requests asked (answers erased)"] == 1
    assert lines["reports left without a manager"] == 1
    assert lines["queued messages cancelled"] == 2
    assert lines["channel posts replaced by a tombstone"] == 2
    assert dump(engine) == before


def test_after_forget_no_row_anywhere_names_the_person_or_holds_what_they_wrote(
    world: World, env: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("privacy", "forget", ZOE, "--yes") == 0
    assert "Erased UZOE (Zoe Quinn)" in capsys.readouterr().out
    found = scan(engine, [ZOE, ZOE_EMAIL, ZOE_REAL_NAME, ZOE_DISPLAY, ZOE_DM, *zoe_texts()])
    assert found == [], found


def scan(engine: Engine, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every value of every row holding a needle, any case."""
    hits = []
    for table, row in dump(engine):
        for column, value in row.items():
            blob = json.dumps(value, default=str, ensure_ascii=False).lower()
            hits += [(table, column, n) for n in needles if n.lower() in blob]
    return hits


def test_forget_keeps_what_others_need_naming_a_former_colleague(
    world: World, env: Path, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        digest_before = _digest(session, world.ids["digest_mara"])
    assert run("privacy", "forget", ZOE, "--yes") == 0
    former = privacy.FORMER_ID
    with unit_of_work(session_factory) as session:
        given = session.get(Kudos, world.ids["kudos_by_zoe"])
        assert given is not None
        assert given.giver_id == former and given.message == privacy.REMOVED
        assert [r.recipient_id for r in given.recipients] == [ANA]
        received = session.get(Kudos, world.ids["kudos_to_zoe"])
        assert received is not None and received.giver_id == BEN
        assert sorted(r.recipient_id for r in received.recipients) == sorted([former, ANA])
        assert received.message == "Ben thanks a former colleague and Ana"
        to_her = session.get(Feedback, world.ids["fb_to_zoe"])
        assert to_her is not None
        assert (to_her.sender_id, to_her.recipient_id) == (ANA, former)
        assert to_her.went_well == "Ana's feedback to Zoe"  # Ana's words; not Zoe's name
        by_her = session.get(Feedback, world.ids["fb_by_zoe"])
        assert by_her is not None and by_her.sender_id == former
        assert by_her.went_well is None and by_her.could_be_better is None
        about = session.get(FeedbackRequest, world.ids["req_about_zoe"])
        assert about is not None and about.subject_id == former and about.requester_id == MANAGER
        mine = session.get(FeedbackRequest, world.ids["req_by_zoe"])
        assert mine is not None and mine.state == "closed" and mine.topic == privacy.REMOVED
        asked = session.scalars(
            select(FeedbackAsked).where(FeedbackAsked.request_id == mine.id)
        ).all()
        assert [(a.user_id, a.answers) for a in asked] == [
            (ANA, ["Ana's answer to Zoe"]),
            (BEN, None),
        ]
        paused = session.get(CheckinTemplate, world.ids["zoes_template"])
        assert paused is not None and paused.owner_id == former and not paused.active
        assert session.scalar(select(OrgEdge).where(OrgEdge.user_id == REPORT)) is None
        assert session.scalar(select(DirectoryUser).where(DirectoryUser.user_id == ZOE)) is None
        # The sent digest keeps its counts; she leaves its lists, her words with her.
        digest_after = _digest(session, world.ids["digest_mara"])
        assert session.get(Digest, world.ids["digest_zoe"]) is None
        statuses = {
            r.id: (r.status, r.method, r.depends_on_id)
            for r in session.scalars(select(OutboxMessage))
        }
        reworded = session.get(OutboxMessage, world.ids["named_in_words"])
        assert reworded is not None and reworded.status == "sent"
        assert reworded.payload["text"] == f"<@{ANA}> thanks a former colleague and <@{BEN}>"
    for field in ("people_answered", "people_prompted", "answered", "pulse", "kudos"):
        assert getattr(digest_after, field) == getattr(digest_before, field), field
    assert digest_after.reports == [ANA, BEN]
    assert [a.user_id for a in digest_after.answers] == [ANA]
    assert digest_after.answers[0].summary == "Ana done, thanks a former colleague"
    assert digest_after.blockers == [] and digest_after.named_notes == []
    # Waiting rows to her are withdrawn; her channel posts get a tombstone each.
    assert statuses[world.ids["pending_to_zoe"]][0] == "cancelled"
    assert statuses[world.ids["pending_home"]][0] == "cancelled"
    assert statuses[world.ids["pending_other"]][0] == "pending"
    tombstoned = sorted(d for s, m, d in statuses.values() if m == "chat.update")
    assert tombstoned == sorted([world.ids["feed_post"], world.ids["answer_in_channel"]])


def _digest(session: Session, digest_id: int) -> DigestData:
    row = session.get(Digest, digest_id)
    assert row is not None
    return DigestData.from_json(row.content)


def test_forget_twice_changes_nothing_the_second_time(
    world: World, env: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("privacy", "forget", ZOE, "--yes") == 0
    after = dump(engine)
    capsys.readouterr()
    assert run("privacy", "forget", ZOE, "--yes") == 2
    assert "already erased" in capsys.readouterr().err
    assert dump(engine) == after


def test_forgetting_an_admin_is_allowed_and_says_so(
    world: World, env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PULSEBOT_ADMINS", f"{MANAGER},{ZOE}")
    assert run("privacy", "forget", ZOE, "--yes") == 0
    out = capsys.readouterr().out
    assert f"Note: {ZOE} is in PULSEBOT_ADMINS" in out and "Erased" in out


def test_forget_of_an_unknown_person_is_an_error_that_changes_nothing(
    world: World, env: Path, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dump(engine)
    assert run("privacy", "forget", "UNOBODY", "--yes") == 2
    assert "nothing in this database names UNOBODY" in capsys.readouterr().err
    assert dump(engine) == before


def test_a_forgotten_leaver_is_not_cached_again_by_a_directory_sync(
    world: World, env: Path, session_factory: sessionmaker[Session]
) -> None:
    assert run("privacy", "forget", ZOE, "--yes") == 0
    with unit_of_work(session_factory) as session:
        store_users(session, TEAM, [person(ZOE, deleted=True, email=ZOE_EMAIL)], NOW)
        assert session.get(DirectoryUser, (TEAM, ZOE)) is None
        # Active again (reactivated in Slack): cached like anyone, to use the app.
        store_users(session, TEAM, [person(ZOE, email=ZOE_EMAIL)], NOW)
        assert session.get(DirectoryUser, (TEAM, ZOE)) is not None


# ----- the audit -----------------------------------------------------------------------------


def test_the_log_lists_exports_and_erasures_with_counts_and_no_content(
    world: World, env: Path, capsys: pytest.CaptureFixture[str], engine: Engine
) -> None:
    export_of(env, ANA)
    assert run("privacy", "forget", ZOE, "--yes") == 0
    capsys.readouterr()
    assert run("privacy", "log") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == [
        "when (UTC)",
        "what",
        "asked by",
        "workspace",
        "about",
        "counts",
    ]
    rows = [line.split("\t") for line in lines[1:]]
    assert sorted(r[1] for r in rows) == ["export", "export", "forget"]
    [forget] = [r for r in rows if r[1] == "forget"]
    [ana] = [r for r in rows if r[4] == ANA]
    [zoe_earlier] = [r for r in rows if r[1] == "export" and r[4] != ANA]
    assert forget[4] == "" and "2 check-ins" in forget[5]
    assert ana[4] == ANA and ana[2].startswith("cli")
    assert zoe_earlier[4] == privacy.FORMER_COLLEAGUE  # her own export, asked by her
    assert zoe_earlier[2] == f"slack:{privacy.FORMER_ID}"
    assert scan(engine, [ZOE]) == []


# ----- the workspace export ------------------------------------------------------------------


def test_workspace_export_writes_a_csv_per_kind_and_anonymous_notes_only_when_asked(
    world: World, env: Path
) -> None:
    assert run("export", str(env / "ws")) == 0
    files = {p.name for p in (env / "ws").iterdir()}
    assert {"people.csv", "kudos.csv", "checkin_answers.csv", "notes.csv"} <= files
    notes = _csv(env / "ws" / "notes.csv")
    assert {n["text"] for n in notes} == {"ZQ-named-note", "Rep's signed note to Zoe"}
    assert run("export", str(env / "ws"), "--include-anonymous") == 2  # never overwrites
    assert run("export", str(env / "ws2"), "--include-anonymous") == 0
    notes = _csv(env / "ws2" / "notes.csv")
    anonymous = [n for n in notes if n["anonymous"] == "true"]
    # Released ones only, with no author and no week written: a digest says only the span.
    assert sorted(n["text"] for n in anonymous) == [
        "Anonymous note to Mara",
        "Anonymous note to Zoe, released",
    ]
    assert all(n["author_id"] == "" and n["iso_week"] == "" for n in anonymous)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ----- the migration -------------------------------------------------------------------------


def test_migration_0009_adds_the_audit_and_goes_both_ways(tmp_path: Path) -> None:
    from alembic import command

    from storage.migrate import alembic_config

    with fresh_database(tmp_path, "0008") as url:
        engine = make_engine(url, pool_size=1)
        try:
            assert "privacy_audit" not in inspect(engine).get_table_names()
            upgrade(url, "0009")
            names = set(inspect(engine).get_table_names())
            assert {"privacy_audit", "privacy_forgotten"} <= names
            indexes = {i["name"] for i in inspect(engine).get_indexes("checkin_occurrences")}
            assert "ix_checkin_occurrences_prompt_outbox" in indexes
            with engine.begin() as connection:
                config = alembic_config(url)
                config.attributes["connection"] = connection
                command.downgrade(config, "0008")
            assert "privacy_audit" not in inspect(engine).get_table_names()
            upgrade(url, "0009")
            assert current_revision(engine) == "0009"
        finally:
            engine.dispose()
