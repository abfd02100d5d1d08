"""The in-process hold on directory rows (bot.services.directory.PeopleCache): a warm request
reads no directory row, this process's own writes are seen at once, another's within the hold."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.services import directory
from storage.engine import unit_of_work
from tests.factories import TEAM, add_people, person


def lookup(
    factory: sessionmaker[Session], now: datetime, cache: directory.PeopleCache, *ids: str
) -> tuple[dict[str, directory.Person], list[str]]:
    with unit_of_work(factory) as session:
        return directory.lookup(session, TEAM, ids, now, cache)


def test_held_rows_are_served_without_the_database_until_the_hold_ends(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    with unit_of_work(session_factory) as session:
        add_people(session, now, person("UANA"), person("UBEN"))
    cache = directory.PeopleCache(hold_seconds=60)
    people, stale = lookup(session_factory, now, cache, "UANA", "UBEN")
    assert set(people) == {"UANA", "UBEN"} and stale == []

    # Another process deactivates UBEN: this one keeps what it read, for the hold only.
    with unit_of_work(session_factory) as session:
        add_people(session, now, person("UBEN", deleted=True))
    assert not lookup(session_factory, now, cache, "UBEN")[0]["UBEN"].deleted
    expired = directory.PeopleCache(hold_seconds=0)
    assert lookup(session_factory, now, expired, "UBEN")[0]["UBEN"].deleted


def test_this_processes_own_writes_are_seen_at_once(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    with unit_of_work(session_factory) as session:
        add_people(session, now, person("UANA"))
    cache = directory.PeopleCache(hold_seconds=60)
    assert not lookup(session_factory, now, cache, "UANA")[0]["UANA"].deleted

    gone = dataclasses.replace(person("UANA"), deleted=True)
    with unit_of_work(session_factory) as session:
        directory.store_users(session, TEAM, [gone], now)
    cache.remember(TEAM, [gone], now)
    assert lookup(session_factory, now, cache, "UANA")[0]["UANA"].deleted


def test_a_held_row_still_goes_stale_on_the_directory_ttl(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    with unit_of_work(session_factory) as session:
        add_people(session, now, person("UANA"))
    cache = directory.PeopleCache(hold_seconds=60)
    lookup(session_factory, now, cache, "UANA")
    later = now + directory.CACHE_TTL + timedelta(minutes=1)
    assert lookup(session_factory, later, cache, "UANA")[1] == ["UANA"]


def test_unknown_people_are_read_again_and_forget_drops_a_row(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    cache = directory.PeopleCache(hold_seconds=60)
    assert lookup(session_factory, now, cache, "UNEW") == ({}, ["UNEW"])
    with unit_of_work(session_factory) as session:
        add_people(session, now, person("UNEW"))
    assert "UNEW" in lookup(session_factory, now, cache, "UNEW")[0]  # a miss is not held
    with unit_of_work(session_factory) as session:
        add_people(session, now, person("UNEW", deleted=True))
    cache.forget(TEAM, ["UNEW"])
    assert lookup(session_factory, now, cache, "UNEW")[0]["UNEW"].deleted
