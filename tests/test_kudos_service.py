"""Kudos rules on the database, without Slack."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.services import kudos
from storage.engine import unit_of_work
from storage.models import Kudos, KudosRecipient
from tests.factories import TEAM, add_people, person

POLICY = kudos.KudosPolicy(daily_limit=5, values=["teamwork", "craft"])


@pytest.fixture
def team(session: Session, now: datetime) -> Session:
    add_people(
        session,
        now,
        person("UANA"),
        person("UBEN", tz="Europe/Berlin"),
        person("UCHO", tz=None),
        person("UDEV", guest=True),
        person("UBOT", is_bot=True),
        person("UGONE", deleted=True),
        person("UEXT", team_id="T0OTHER"),
        person("USLACKBOT", is_bot=True),
        *(person(f"UP{i}") for i in range(12)),
    )
    return session


def draft(text: str, giver: str = "UANA") -> kudos.KudosDraft:
    return kudos.parse_command(text, giver, POLICY.values)


def give(session: Session, text: str, now: datetime, key: str = "k1", giver: str = "UANA"):
    return kudos.give(
        session,
        team_id=TEAM,
        draft=draft(text, giver),
        policy=POLICY,
        source="command",
        request_key=key,
        now=now,
    )


def test_give_stores_kudos_recipients_values_and_spends_budget(team: Session, now) -> None:
    given = give(team, "<@UBEN> <@UCHO|cho> thanks for the migration #teamwork", now)
    assert given.recipient_ids == ["UBEN", "UCHO"]
    assert given.values == ["teamwork"]
    assert given.message == "thanks for the migration"
    assert given.remaining == 3
    stored = team.get(Kudos, given.kudos_id)
    assert stored is not None and stored.giver_id == "UANA"
    assert {r.recipient_id for r in stored.recipients} == {"UBEN", "UCHO"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thanks everyone", "Mention who"),
        ("<@UANA> me me me", "yourself"),
        ("<@UBOT> beep", "bot"),
        ("<@USLACKBOT> thanks", "bot"),
        ("<@UGONE> thanks", "deactivated"),
        ("<@UEXT> thanks", "another organisation"),
        ("<@UNOBODY> thanks", "can't find"),
        ("<@UBEN> #teamwork", "need a message"),
        ("<@UBEN> " + "x" * 1001, "1001 characters"),
        (" ".join(f"<@UP{i}>" for i in range(11)) + " thanks", "at most 10"),
    ],
)
def test_refusals_say_what_to_do_and_store_nothing(team: Session, now, text, expected) -> None:
    with pytest.raises(kudos.KudosRefused) as refused:
        give(team, text, now)
    assert expected in refused.value.message
    assert team.scalar(select(func.count()).select_from(Kudos)) == 0


def test_guests_may_receive_and_exactly_1000_characters_is_fine(team: Session, now) -> None:
    given = give(team, "<@UDEV> " + "y" * 1000, now)
    assert given.recipient_ids == ["UDEV"]


def test_budget_counts_recipients_and_refuses_whole(team: Session, now) -> None:
    give(team, "<@UP1> <@UP2> <@UP3> great", now, key="a")
    with pytest.raises(kudos.KudosRefused) as refused:
        give(team, "<@UP4> <@UP5> <@UP6> also great", now, key="b")
    assert "you have 2 left today" in refused.value.message
    assert team.scalar(select(func.count()).select_from(KudosRecipient)) == 3
    assert give(team, "<@UP4> <@UP5> fine", now, key="c").remaining == 0
    with pytest.raises(kudos.KudosRefused, match="used all 5"):
        give(team, "<@UP6> one more", now, key="d")


def test_budget_resets_at_the_givers_local_midnight(team: Session) -> None:
    # UANA is in New York: 23:30 there is 04:30 UTC the next day.
    before_midnight = datetime(2037, 11, 26, 4, 30, tzinfo=UTC)
    give(team, " ".join(f"<@UP{i}>" for i in range(5)) + " all of you", before_midnight, key="x")
    with pytest.raises(kudos.KudosRefused):
        give(team, "<@UP6> still today", before_midnight + timedelta(minutes=20), key="y")
    after_midnight = before_midnight + timedelta(minutes=31)  # 00:01 in New York
    assert give(team, "<@UP6> new day", after_midnight, key="z").remaining == 4


def test_a_replayed_request_changes_nothing(team: Session, now) -> None:
    first = give(team, "<@UBEN> thanks", now, key="same")
    again = give(team, "<@UBEN> thanks", now, key="same")
    assert again.replayed and again.kudos_id == first.kudos_id
    assert again.remaining == first.remaining == 4


def test_mass_mentions_are_stored_neutralised(team: Session, now) -> None:
    given = give(team, "<@UBEN> saved us <!channel> <!subteam^S1|@ops>", now)
    assert "<!" not in given.message


def test_stats_count_this_month_in_the_users_zone(team: Session, now) -> None:
    give(team, "<@UBEN> <@UCHO> one", now, key="1")
    give(team, "<@UBEN> two", now, key="2", giver="UCHO")
    last_month = datetime(2037, 10, 31, 12, tzinfo=UTC)
    give(team, "<@UBEN> old", last_month, key="3")
    ben = kudos.stats(team, TEAM, None, "UBEN", now)
    assert (ben.given, ben.received) == (0, 2)
    ana = kudos.stats(team, TEAM, None, "UANA", now)
    assert (ana.given, ana.received) == (2, 0)
    assert ana.top[0] == ("UBEN", 2)
    assert ana.month_label == "November 2037"


def test_concurrent_kudos_cannot_overspend(session_factory: sessionmaker[Session], now) -> None:
    with unit_of_work(session_factory) as session:
        add_people(session, now, person("UANA"), *(person(f"UP{i}") for i in range(12)))
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(10)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            with unit_of_work(session_factory) as session:
                give(session, f"<@UP{i}> thanks", now, key=f"race-{i}")
            result = "granted"
        except kudos.KudosRefused:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("granted") == 5
    assert outcomes.count("refused") == 5
    with unit_of_work(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Kudos)) == 5
