"""Kudos by reaction: which reactions count, which are ignored, and taking one back.

A reaction named in PULSEBOT_KUDOS_REACTIONS on a person's message gives its author a kudos
under the very rules, budget and posts of `/kudos` (`bot.services.kudos.give`); the request key
(giver, message, reaction) makes it one kudos however often the reaction is added. Removed
within UNDO_WINDOW, the kudos is taken back and its budget returned; later, it stays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from bot.services import kudos
from bot.services.directory import Person
from storage import kudos as store
from storage.models import Kudos

SOURCE = "reaction"
UNDO_WINDOW = timedelta(seconds=60)
REQUEST_KEY_MAX = 128  # kudos.request_key's length


@dataclass(frozen=True, slots=True)
class Reaction:
    """A reaction event on a message: who reacted, whose message (None: no user wrote it, e.g.
    a webhook), where, and the reaction as Slack names it (a skin tone included)."""

    giver_id: str
    author_id: str | None
    channel_id: str
    message_ts: str
    name: str

    @property
    def emoji(self) -> str:
        """The reaction without its skin tone: `+1::skin-tone-2` is `+1`."""
        return base_name(self.name)

    @property
    def request_key(self) -> str:
        """One kudos per (giver, message, reaction): the kudos table's unique request key."""
        key = f"reaction:{self.channel_id}:{self.message_ts}:{self.giver_id}:{self.emoji}"
        if len(key) <= REQUEST_KEY_MAX:
            return key
        digest = hashlib.sha256(self.emoji.encode()).hexdigest()[:24]
        return f"reaction:{self.channel_id}:{self.message_ts}:{self.giver_id}:#{digest}"


class Ignored(StrEnum):
    """Why a reaction gives nothing and says nothing."""

    NOT_KUDOS = "not a kudos reaction"
    NO_AUTHOR = "the message has no user (a webhook or an app wrote it)"
    OWN_MESSAGE = "a reaction on the giver's own message"
    BOT_GIVER = "a bot reacted"
    BOT_AUTHOR = "a bot wrote the message"
    UNKNOWN_AUTHOR = "Slack does not know the message's author (a deleted user)"


class Rule(StrEnum):
    """The rule of `/kudos` that refused a reaction's kudos; the giver hears of each at most
    once an hour."""

    BUDGET = "budget"
    DEACTIVATED = "deactivated"
    EXTERNAL = "external"


def base_name(reaction: str) -> str:
    return reaction.split("::", 1)[0].strip(":").lower()


def value_of(reactions: Mapping[str, str | None], reaction: str) -> tuple[bool, str | None]:
    """(counts, the value it tags) for a reaction under PULSEBOT_KUDOS_REACTIONS."""
    name = base_name(reaction)
    return name in reactions, reactions.get(name)


def ignored(
    reaction: Reaction, reactions: Mapping[str, str | None], bot_user_id: str | None
) -> Ignored | None:
    """What the event alone says (no directory needed): checked before anything is read."""
    if not value_of(reactions, reaction.name)[0]:
        return Ignored.NOT_KUDOS
    if bot_user_id and reaction.giver_id == bot_user_id:
        return Ignored.BOT_GIVER
    if not reaction.author_id:
        return Ignored.NO_AUTHOR
    if reaction.author_id == reaction.giver_id:
        return Ignored.OWN_MESSAGE
    if bot_user_id and reaction.author_id == bot_user_id:
        return Ignored.BOT_AUTHOR
    return None


def ignored_people(giver: Person | None, author: Person | None) -> Ignored | None:
    """What the directory says: bots on either side, an author Slack does not know. A
    deactivated or external author is no reason to ignore: the rules refuse them, and say so."""
    if giver is not None and giver.is_bot:
        return Ignored.BOT_GIVER
    if author is None:
        return Ignored.UNKNOWN_AUTHOR
    if author.is_bot:
        return Ignored.BOT_AUTHOR
    return None


def refusal_rule(author: Person | None) -> Rule:
    """Which rule refused the kudos (the message says how; this keys the once-an-hour note)."""
    if author is not None and author.deleted:
        return Rule.DEACTIVATED
    if author is not None and author.external:
        return Rule.EXTERNAL
    return Rule.BUDGET


def draft(reaction: Reaction, value: str | None, message: str) -> kudos.KudosDraft:
    assert reaction.author_id is not None  # `ignored` let no authorless reaction through
    return kudos.KudosDraft(
        giver_id=reaction.giver_id,
        recipient_ids=[reaction.author_id],
        message=message,
        values=[value] if value else [],
    )


def give(
    session: Session,
    *,
    team_id: str,
    reaction: Reaction,
    draft: kudos.KudosDraft,
    policy: kudos.KudosPolicy,
    now: datetime,
    directory: dict[str, Person] | None = None,
) -> kudos.KudosGiven:
    """`/kudos`'s own `give`, keyed by the reaction; raises KudosRefused, returns a replay for
    a reaction that gave before (added again, or an event Slack sent twice)."""
    return kudos.give(
        session,
        team_id=team_id,
        draft=draft,
        policy=policy,
        source=SOURCE,
        request_key=reaction.request_key,
        now=now,
        directory=directory,
    )


@dataclass(frozen=True, slots=True)
class Withdrawn:
    kudos_id: int
    giver_id: str
    recipient_ids: list[str]


def within_window(created_at: datetime, now: datetime, window: timedelta = UNDO_WINDOW) -> bool:
    """A removal at `now` takes back a kudos given at `created_at` (a clock that stepped back
    counts as at once)."""
    return now - created_at <= window


def undo(session: Session, team_id: str, reaction: Reaction, now: datetime) -> Withdrawn | None:
    """The reaction was removed: its kudos is taken back if given within UNDO_WINDOW, else it
    stays (None then, and when it gave none)."""
    found = store.find_by_request_key(session, team_id, reaction.request_key)
    if found is None or found.source != SOURCE or not within_window(found.created_at, now):
        return None
    return _withdraw(session, team_id, found)


def withdraw(session: Session, team_id: str, kudos_id: int) -> Withdrawn | None:
    """Take back a kudos given by reaction whatever its age (its message cannot be read)."""
    found = store.get(session, team_id, kudos_id)
    if found is None or found.source != SOURCE:
        return None
    return _withdraw(session, team_id, found)


def _withdraw(session: Session, team_id: str, found: Kudos) -> Withdrawn:
    withdrawn = Withdrawn(found.id, found.giver_id, [r.recipient_id for r in found.recipients])
    store.withdraw(session, found)
    store.unspend_budget(
        session, team_id, found.giver_id, found.giver_local_date, len(withdrawn.recipient_ids)
    )
    return withdrawn


def quote(session: Session, team_id: str, kudos_id: int, quote_url: str) -> None:
    """The kudos quotes its message's link from now on (unless it was taken back meanwhile)."""
    store.set_quote_url(session, team_id, kudos_id, quote_url, source=SOURCE)
