"""Who reads a member's named upward note, on plain values (no database, no Slack).

The note is the one answer a team channel never sees and the template's owner does not
necessarily get: it is for the member's manager. Kept apart from the outbox writes so the
privacy rule is decided, and tested, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UpwardReader:
    """The one person a named note is delivered to, and how."""

    reader_id: str
    note: str
    # True: a "For you only" part of the answers DM this reader gets anyway, so they are not
    # sent the same check-in twice. False: a DM of its own (no answers DM comes to them).
    in_answers: bool


def named_upward_reader(
    *,
    note: str | None,
    anonymous: bool,
    manager_id: str | None,
    owner_id: str,
    owner_gets_answers: bool,
) -> UpwardReader | None:
    """The reader of a named note, or None when nobody gets one by DM.

    An anonymous note is never delivered by name: it waits for the manager's weekly digest.
    A named one goes to the member's manager (`manager_id`: the org chart's, else the owner),
    never to the owner merely for owning the template: a member may write something about a
    team lead that only their own manager should read.
    """
    if note is None or anonymous:
        return None
    if owner_gets_answers and manager_id == owner_id:
        return UpwardReader(owner_id, note, in_answers=True)
    if manager_id:
        return UpwardReader(manager_id, note, in_answers=False)
    return None
