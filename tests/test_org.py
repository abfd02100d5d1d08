"""The org chart and its CSV import ("who reports to whom")."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.services import org
from storage import org as org_store
from storage.engine import unit_of_work
from storage.models import OrgEdge
from tests.factories import TEAM

EMAILS = {
    "ana@example.com": "UANA",
    "ben@example.com": "UBEN",
    "cho@example.com": "UCHO",
    "dev@example.com": "UDEV",
    "eve@example.com": "UEVE",
}


class Resolver:
    """Counts lookups: each distinct email must cost one users.lookupByEmail at most."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, email: str) -> str | None:
        self.calls.append(email)
        return EMAILS.get(email)


def no_email(email: str) -> str | None:
    raise AssertionError(f"user-id files must not resolve emails ({email})")


def import_csv(
    session: Session, team_id: str, text: str, resolve_email: org.ResolveEmail, now: datetime
) -> org.ImportReport:
    """A whole file in one transaction, as the tests import it; the CLI parses first, outside
    any transaction, because its resolver calls Slack."""
    rows, errors = org.parse_csv(text, resolve_email)
    return org.store_rows(session, team_id, rows, now, errors)


def chart(session: Session) -> dict[str, str]:
    return org_store.all_edges(session, TEAM)


# ----- happy paths ------------------------------------------------------------------------------


def test_import_by_user_id(session: Session, now: datetime) -> None:
    report = import_csv(
        session, TEAM, "user_id,manager_id\nUBEN,UANA\nUCHO,UANA\nUDEV,UBEN\n", no_email, now
    )
    assert report.ok and report.imported == 3
    assert chart(session) == {"UBEN": "UANA", "UCHO": "UANA", "UDEV": "UBEN"}
    assert org.manager_of(session, TEAM, "UDEV") == "UBEN"
    assert org.manager_of(session, TEAM, "UANA") is None
    assert org.reports_of(session, TEAM, "UANA") == ["UBEN", "UCHO"]
    assert org.is_manager(session, TEAM, "UBEN")
    assert not org.is_manager(session, TEAM, "UDEV")
    assert session.scalars(select(OrgEdge.source)).all() == ["csv"] * 3


def test_import_by_email_resolves_each_address_once(session: Session, now: datetime) -> None:
    resolver = Resolver()
    text = (
        "\ufeffEmail , Manager_Email\r\n"
        "ben@example.com,ana@example.com\r\n"
        "CHO@example.com,ana@example.com\r\n"
        "\r\n"
        "dev@example.com,ben@example.com\r\n"
    )
    report = import_csv(session, TEAM, text, resolver, now)
    assert report.errors == []
    assert report.imported == 3
    assert chart(session) == {"UBEN": "UANA", "UCHO": "UANA", "UDEV": "UBEN"}
    assert sorted(resolver.calls) == sorted(
        ["ben@example.com", "ana@example.com", "cho@example.com", "dev@example.com"]
    )


def test_reimport_replaces_a_manager_and_an_empty_cell_removes_one(
    session: Session, now: datetime
) -> None:
    import_csv(session, TEAM, "user_id,manager_id\nUBEN,UANA\nUCHO,UANA\n", no_email, now)
    report = import_csv(session, TEAM, "user_id,manager_id\nUBEN,UCHO\nUCHO,\n", no_email, now)
    assert report.ok and report.imported == 1 and report.cleared == 1
    assert chart(session) == {"UBEN": "UCHO"}


# ----- bad rows, reported by line ---------------------------------------------------------------


def test_bad_rows_are_reported_by_line_and_good_rows_still_imported(
    session: Session, now: datetime
) -> None:
    text = "\n".join(
        [
            "email,manager_email",  # 1
            "ben@example.com,ana@example.com",  # 2 good
            "nobody@example.com,ana@example.com",  # 3 unknown person
            "cho@example.com,ghost@example.com",  # 4 unknown manager
            "dev@example.com,dev@example.com",  # 5 manages themself
            "ben@example.com,cho@example.com",  # 6 duplicate person
            "eve@example.com",  # 7 one column
            "not-an-email,ana@example.com",  # 8 not an email
            "eve@example.com,ana@example.com",  # 9 good
        ]
    )
    report = import_csv(session, TEAM, text, Resolver(), now)
    assert [(e.line, e.message) for e in report.errors] == [
        (3, "no Slack user has the email nobody@example.com"),
        (4, "manager: no Slack user has the email ghost@example.com"),
        (5, "dev@example.com can't be their own manager"),
        (6, "ben@example.com is already listed on line 2 (one manager each)"),
        (7, "expected 2 columns, found 1"),
        (8, '"not-an-email" is not an email address'),
    ]
    assert str(report.errors[0]) == "line 3: no Slack user has the email nobody@example.com"
    assert report.imported == 2
    assert chart(session) == {"UBEN": "UANA", "UEVE": "UANA"}


def test_user_id_file_rejects_malformed_ids(session: Session, now: datetime) -> None:
    report = import_csv(
        session, TEAM, "user_id,manager_id\nben,UANA\nUBEN,<@UANA>\nUCHO,UANA\n", no_email, now
    )
    assert [e.line for e in report.errors] == [2, 3]
    assert "not a Slack user id" in report.errors[0].message
    assert report.errors[1].message.startswith("manager: ")
    assert chart(session) == {"UCHO": "UANA"}


def test_a_loop_inside_the_file_rejects_every_row_on_it(session: Session, now: datetime) -> None:
    text = "user_id,manager_id\nUANA,UBEN\nUBEN,UCHO\nUCHO,UANA\nUDEV,UANA\n"
    report = import_csv(session, TEAM, text, no_email, now)
    assert [e.line for e in report.errors] == [2, 3, 4]
    assert all("closes a loop" in e.message for e in report.errors)
    assert "UANA -> UBEN -> UCHO -> UANA" in report.errors[0].message
    # UDEV only leads into the loop: it is not on it, so it is imported.
    assert chart(session) == {"UDEV": "UANA"}


def test_a_loop_through_the_existing_chart_is_refused(session: Session, now: datetime) -> None:
    import_csv(session, TEAM, "user_id,manager_id\nUBEN,UANA\nUCHO,UBEN\n", no_email, now)
    report = import_csv(session, TEAM, "user_id,manager_id\nUANA,UCHO\n", no_email, now)
    assert [e.line for e in report.errors] == [2]
    assert chart(session) == {"UBEN": "UANA", "UCHO": "UBEN"}


def test_a_rejected_row_keeps_the_old_edge_which_can_close_another_loop(
    session: Session, now: datetime
) -> None:
    import_csv(session, TEAM, "user_id,manager_id\nUANA,UBEN\n", no_email, now)
    # UANA->UEVE and UEVE->UANA loop (rejected), so UANA keeps UBEN; then UBEN->UANA loops too.
    text = "user_id,manager_id\nUANA,UEVE\nUEVE,UANA\nUBEN,UANA\n"
    report = import_csv(session, TEAM, text, no_email, now)
    assert [e.line for e in report.errors] == [2, 3, 4]
    assert chart(session) == {"UANA": "UBEN"}


def test_a_file_that_replaces_an_edge_may_reverse_it(session: Session, now: datetime) -> None:
    import_csv(session, TEAM, "user_id,manager_id\nUBEN,UANA\n", no_email, now)
    report = import_csv(session, TEAM, "user_id,manager_id\nUANA,UBEN\nUBEN,\n", no_email, now)
    assert report.ok
    assert chart(session) == {"UANA": "UBEN"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("person,manager\nUBEN,UANA\n", "line 1: the header is `person,manager`"),
        ("email\nben@example.com\n", "line 1: the header is `email`"),
    ],
)
def test_an_unreadable_file_imports_nothing(
    session: Session, now: datetime, text: str, problem: str
) -> None:
    with pytest.raises(org.OrgFileError, match=problem):
        import_csv(session, TEAM, text, Resolver(), now)
    assert chart(session) == {}


def test_nothing_is_half_written_when_storing_fails(
    session_factory: sessionmaker[Session], now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = org_store.set_manager
    calls = 0

    def failing(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("database went away")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(org_store, "set_manager", failing)
    text = "user_id,manager_id\nUBEN,UANA\nUCHO,UANA\nUDEV,UANA\n"
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as s:
        import_csv(s, TEAM, text, no_email, now)
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(OrgEdge)) == 0


# ----- single changes ---------------------------------------------------------------------------


def test_set_manager_refuses_self_and_loops(session: Session, now: datetime) -> None:
    org.set_manager(session, TEAM, "UBEN", "UANA", now)
    org.set_manager(session, TEAM, "UCHO", "UBEN", now)
    with pytest.raises(org.OrgError, match="their own manager"):
        org.set_manager(session, TEAM, "UANA", "UANA", now)
    with pytest.raises(org.OrgError, match="loop"):
        org.set_manager(session, TEAM, "UANA", "UCHO", now)
    org.set_manager(session, TEAM, "UCHO", "UANA", now)  # moving someone is fine
    assert chart(session) == {"UBEN": "UANA", "UCHO": "UANA"}


def test_set_manager_if_none_fills_gaps_only(session: Session, now: datetime) -> None:
    org.set_manager(session, TEAM, "UBEN", "UANA", now)
    assert not org.set_manager_if_none(session, TEAM, "UBEN", "UCHO", now, "template")
    assert not org.set_manager_if_none(session, TEAM, "UCHO", "UCHO", now, "template")
    assert not org.set_manager_if_none(session, TEAM, "UANA", "UBEN", now, "template")  # loop
    assert org.set_manager_if_none(session, TEAM, "UCHO", "UANA", now, "template")
    assert chart(session) == {"UBEN": "UANA", "UCHO": "UANA"}


def test_the_chart_is_per_workspace(session: Session, now: datetime) -> None:
    org.set_manager(session, TEAM, "UBEN", "UANA", now)
    assert org.manager_of(session, "T0OTHER", "UBEN") is None
    assert org.reports_of(session, "T0OTHER", "UANA") == []
