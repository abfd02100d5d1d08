"""The org chart: who reports to whom, and its CSV import.

An import reports every bad row with its line number and stores the good ones, all in the
caller's single transaction, so a crash or an error never leaves half a file written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from storage import org as store

ResolveEmail = Callable[[str], str | None]

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HEADERS: dict[tuple[str, ...], str] = {
    ("email", "manager_email"): "email",
    ("user_id", "manager_id"): "id",
}
MAX_ROWS = 100_000


class OrgError(Exception):
    """A change to the chart that would make it wrong (a cycle, a self-manager)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OrgFileError(Exception):
    """The file as a whole cannot be read (wrong header, not CSV); nothing was imported."""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class OrgRow:
    """A readable row, resolved to Slack user ids; manager None means "has no manager"."""

    line: int
    user_id: str
    manager_id: str | None
    label: str = ""  # how the file named the person (an email, or the id)


@dataclass
class ImportReport:
    imported: int = 0
    cleared: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def manager_of(session: Session, team_id: str, user_id: str) -> str | None:
    return store.manager_of(session, team_id, user_id)


def reports_of(session: Session, team_id: str, manager_id: str) -> list[str]:
    return store.reports_of(session, team_id, manager_id)


def is_manager(session: Session, team_id: str, user_id: str) -> bool:
    return bool(store.reports_of(session, team_id, user_id))


def set_manager(
    session: Session,
    team_id: str,
    user_id: str,
    manager_id: str,
    now: datetime,
    source: str = "slack",
) -> None:
    """One person's manager, refused if it would manage itself or close a loop."""
    if user_id == manager_id:
        raise OrgError(f"<@{user_id}> can't be their own manager.")
    chain = _chain_to(store.all_edges(session, team_id), manager_id, user_id)
    if chain is not None:
        raise OrgError(
            f"<@{manager_id}> reports (directly or not) to <@{user_id}>; "
            "making them their manager would create a loop."
        )
    store.set_manager(session, team_id, user_id, manager_id, source, now)


def set_manager_if_none(
    session: Session, team_id: str, user_id: str, manager_id: str, now: datetime, source: str
) -> bool:
    """Fill a gap in the chart (applying a template does this); never a loop, never a self."""
    if user_id == manager_id:
        return False
    edges = store.all_edges(session, team_id)
    if user_id in edges or _chain_to(edges, manager_id, user_id) is not None:
        return False
    return store.set_manager_if_none(session, team_id, user_id, manager_id, source, now)


def parse_csv(text: str, resolve_email: ResolveEmail) -> tuple[list[OrgRow], list[RowError]]:
    """Read and resolve the rows; every problem found is reported with its line number.

    The header is `email,manager_email` or `user_id,manager_id`. An empty manager cell means the
    person has no manager (the top of the chart). Each distinct email is resolved once.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise OrgFileError(
            "the file is empty; expected a header `email,manager_email` or `user_id,manager_id`"
        ) from None
    except csv.Error as error:
        raise OrgFileError(f"line 1: not valid CSV ({error})") from None
    kind = HEADERS.get(tuple(cell.strip().lower() for cell in header))
    if kind is None:
        raise OrgFileError(
            f"line 1: the header is `{','.join(header)}`; expected `email,manager_email` or "
            "`user_id,manager_id`"
        )
    resolved: dict[str, str | None] = {}

    def resolve(cell: str) -> tuple[str | None, str | None]:
        """-> (user_id, problem)."""
        if kind == "id":
            if not USER_ID.match(cell):
                return None, f'"{cell}" is not a Slack user id (like U012ABCDEF)'
            return cell, None
        email = cell.lower()
        if not EMAIL.match(email):
            return None, f'"{cell}" is not an email address'
        if email not in resolved:
            resolved[email] = resolve_email(email)
        user_id = resolved[email]
        if user_id is None:
            return None, f"no Slack user has the email {cell}"
        return user_id, None

    rows: list[OrgRow] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if line > MAX_ROWS:
                raise OrgFileError(f"more than {MAX_ROWS} lines; split the file")
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != 2:
                errors.append(RowError(line, f"expected 2 columns, found {len(cells)}"))
                continue
            person_cell, manager_cell = (cell.strip() for cell in cells)
            if not person_cell:
                errors.append(RowError(line, "the person is missing"))
                continue
            user_id, problem = resolve(person_cell)
            if problem is not None or user_id is None:
                errors.append(RowError(line, problem or "unknown person"))
                continue
            manager_id: str | None = None
            if manager_cell:
                manager_id, problem = resolve(manager_cell)
                if problem is not None:
                    errors.append(RowError(line, f"manager: {problem}"))
                    continue
            if manager_id == user_id:
                errors.append(RowError(line, f"{person_cell} can't be their own manager"))
                continue
            if user_id in first_line:
                errors.append(
                    RowError(
                        line,
                        f"{person_cell} is already listed on line {first_line[user_id]} "
                        "(one manager each)",
                    )
                )
                continue
            first_line[user_id] = line
            rows.append(OrgRow(line, user_id, manager_id, person_cell))
    except csv.Error as error:
        raise OrgFileError(f"line {reader.line_num}: not valid CSV ({error})") from None
    return rows, errors


def find_cycles(existing: dict[str, str], rows: Iterable[OrgRow]) -> list[RowError]:
    """Rows that would put someone above themself, given the chart they would change.

    Each file row replaces that person's current manager; every row on a loop is reported.
    """
    rows = list(rows)
    edges = dict(existing)
    for row in rows:
        if row.manager_id is None:
            edges.pop(row.user_id, None)
        else:
            edges[row.user_id] = row.manager_id
    by_person = {row.user_id: row for row in rows}
    on_loop: dict[str, list[str]] = {}
    for row in rows:
        loop = _loop_through(edges, row.user_id)
        if loop is not None:
            on_loop[row.user_id] = loop
    errors = []
    for user_id, loop in on_loop.items():
        path = " -> ".join(
            (by_person[uid].label or uid) if uid in by_person else uid for uid in [*loop, loop[0]]
        )
        errors.append(RowError(by_person[user_id].line, f"this row closes a loop: {path}"))
    return sorted(errors, key=lambda e: e.line)


def store_rows(
    session: Session,
    team_id: str,
    rows: Sequence[OrgRow],
    now: datetime,
    errors: Sequence[RowError] = (),
) -> ImportReport:
    """Store parsed rows (source "csv") except those that would close a loop.

    Rows on a loop are rejected together: with no way to know which of them is wrong, none is
    trusted. `errors` (from parsing) are carried into the report, sorted by line.
    """
    existing = store.all_edges(session, team_id)
    accepted = list(rows)
    loops: list[RowError] = []
    while True:  # a rejected row leaves the old edge in place, which may close another loop
        found = find_cycles(existing, accepted)
        if not found:
            break
        loops += found
        bad_lines = {error.line for error in found}
        accepted = [row for row in accepted if row.line not in bad_lines]
    report = ImportReport(errors=sorted([*errors, *loops], key=lambda e: e.line))
    for row in accepted:
        if row.manager_id is None:
            report.cleared += int(store.remove_manager(session, team_id, row.user_id))
        else:
            store.set_manager(session, team_id, row.user_id, row.manager_id, "csv", now)
            report.imported += 1
    return report


def _chain_to(edges: dict[str, str], start: str, target: str) -> list[str] | None:
    """The management chain from `start` upwards, if it reaches `target`."""
    chain = [start]
    seen = {start}
    current = start
    while current in edges:
        current = edges[current]
        chain.append(current)
        if current == target:
            return chain
        if current in seen:
            return None
        seen.add(current)
    return None


def _loop_through(edges: dict[str, str], start: str) -> list[str] | None:
    """The loop `start` sits on, if following managers from it comes back to it."""
    chain = [start]
    current = start
    seen = {start}
    while current in edges:
        current = edges[current]
        if current == start:
            return chain
        if current in seen:
            return None  # a loop further up that `start` merely leads into
        seen.add(current)
        chain.append(current)
    return None
