"""Who reads a named upward note: the privacy rule alone, on plain values."""

from __future__ import annotations

import pytest

from bot.services.upward import UpwardReader, named_upward_reader

OWNER, MANAGER = "UOWN", "UMGR"


@pytest.mark.parametrize(
    ("note", "anonymous", "manager_id", "owner_gets_answers", "expected"),
    [
        # The manager owns the template and gets its answers: one DM, the note inside it.
        ("hi", False, OWNER, True, UpwardReader(OWNER, "hi", in_answers=True)),
        # The owner gets the answers but is not the member's manager: the note skips the owner.
        ("hi", False, MANAGER, True, UpwardReader(MANAGER, "hi", in_answers=False)),
        ("hi", False, MANAGER, False, UpwardReader(MANAGER, "hi", in_answers=False)),
        # The owner-manager does not get answers by DM: the note comes on its own.
        ("hi", False, OWNER, False, UpwardReader(OWNER, "hi", in_answers=False)),
        # Anonymous notes wait for the digest; no note, nothing to send.
        ("hi", True, OWNER, True, None),
        ("hi", True, MANAGER, False, None),
        (None, False, OWNER, True, None),
        (None, False, MANAGER, False, None),
        # Nobody to read it.
        ("hi", False, None, True, None),
        ("hi", False, None, False, None),
    ],
)
def test_named_upward_note_reaches_the_members_manager_only(
    note: str | None,
    anonymous: bool,
    manager_id: str | None,
    owner_gets_answers: bool,
    expected: UpwardReader | None,
) -> None:
    reader = named_upward_reader(
        note=note,
        anonymous=anonymous,
        manager_id=manager_id,
        owner_id=OWNER,
        owner_gets_answers=owner_gets_answers,
    )
    assert reader == expected
