"""Whose managers a private goal's readers are: each person's chain, nearest first, read a
level at a time from the org chart (never the whole chart), with loops cut where they repeat."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from storage import goals
from storage.models import OrgEdge

TEAM = "T0CHAINS"
NOW = datetime(2037, 5, 4, 9, 0, tzinfo=UTC)
# UCEO <- UVP <- UMGR <- UDEV; ULOOPA <-> ULOOPB; USELF manages themself; ULONE has no manager.
EDGES = {
    "UVP": "UCEO",
    "UMGR": "UVP",
    "UDEV": "UMGR",
    "ULOOPA": "ULOOPB",
    "ULOOPB": "ULOOPA",
    "USELF": "USELF",
}


def edge(user_id: str, manager_id: str, team_id: str = TEAM) -> OrgEdge:
    return OrgEdge(
        team_id=team_id, user_id=user_id, manager_id=manager_id, source="csv", updated_at=NOW
    )


@pytest.fixture
def chart(session: Session) -> Session:
    session.add_all(edge(user_id, manager_id) for user_id, manager_id in EDGES.items())
    session.add(edge("UCEO", "UBOARD", team_id="T0OTHER"))  # another workspace's chart
    session.flush()
    return session


@pytest.mark.parametrize(
    ("people", "chains"),
    [
        (["UDEV"], {"UDEV": ["UMGR", "UVP", "UCEO"]}),
        (["UCEO"], {"UCEO": []}),  # the top: no manager here, whatever another workspace says
        (["ULONE"], {"ULONE": []}),  # not in the chart at all
        (["ULOOPA"], {"ULOOPA": ["ULOOPB"]}),  # a loop ends where it would repeat
        (["USELF"], {"USELF": []}),
        (["UDEV", "UMGR"], {"UDEV": ["UMGR", "UVP", "UCEO"], "UMGR": ["UVP", "UCEO"]}),
        ([], {}),
    ],
)
def test_each_persons_managers_nearest_first(
    chart: Session, people: list[str], chains: dict[str, list[str]]
) -> None:
    assert goals.manager_chains(chart, TEAM, people) == chains


def test_the_chart_is_read_a_level_at_a_time_a_few_rows_each(
    chart: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart.add_all(edge(f"UX{n:04d}", "UCEO") for n in range(1200))  # a large flat team
    chart.flush()
    reads: list[str] = []
    monkeypatch.setattr(goals, "CHAIN_CHUNK", 2)

    def counted(conn: object, cursor: object, statement: str, *args: object) -> None:
        reads.append(statement)

    engine = chart.get_bind()
    event.listen(engine, "after_cursor_execute", counted)
    try:
        found = goals.manager_chains(chart, TEAM, ["UDEV", "ULOOPA", "ULONE"])
    finally:
        event.remove(engine, "after_cursor_execute", counted)
    assert found == {"UDEV": ["UMGR", "UVP", "UCEO"], "ULOOPA": ["ULOOPB"], "ULONE": []}
    # Levels: {UDEV, ULONE, ULOOPA} in two chunks, then {UMGR, ULOOPB}, {UVP}, {UCEO}.
    assert len(reads) == 5  # one read of all 1,206 rows before
