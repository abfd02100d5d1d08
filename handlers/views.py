"""Modals: opening one (the one Web API call made before an ack, since a trigger lasts 3
seconds) and answering a submitted one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.services.refusals import Refused

log = logging.getLogger(__name__)


class Stored(Protocol):
    """What a service returns for a stored submission."""

    @property
    def replayed(self) -> bool: ...


S = TypeVar("S", bound=Stored)


def open_view(client: WebClient, trigger_id: str, view: dict[str, Any]) -> bool:
    """views.open; False (logged) when Slack refused it or could not be reached.

    A slash command's listener opens its form before acking, so a False here can still be
    told to the person in the ack instead of leaving them with nothing.
    """
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        log.warning(
            "views.open %s failed: %s", view.get("callback_id"), error.response.get("error")
        )
        return False
    except OSError as error:
        log.warning("views.open %s failed: Slack unreachable (%s)", view.get("callback_id"), error)
        return False
    return True


def form_failed(command: str) -> str:
    return (
        f"I couldn't open the form (Slack took too long or refused it). Please run `{command}` "
        "again."
    )


def ack_form(ack: Ack, opened: bool, command: str) -> None:
    """A command that opened a form acks empty; one whose form Slack refused says so."""
    if opened:
        ack()
    else:
        ack(text=form_failed(command), response_type="ephemeral")


def ack_submission(
    ack: Ack,
    deps: Deps,
    store: Callable[[], S],
    refused: type[Refused],
    block_of: Callable[[str], str],
    done: Callable[[S], dict[str, Any]] | None = None,
) -> None:
    """Answer a submitted form once `store` ran: a refusal (a `refused`) keeps the form open
    with every rule's words under the input they concern; otherwise the form closes, or becomes
    `done`'s view of what was stored (its confirmation, where the person is looking). A replay
    (Slack resending the view, a double click) stored nothing new, so only a first submission
    wakes the sender."""
    try:
        stored = store()
    except refused as caught:
        errors = {block_of(field): message for field, message in caught.errors.items()}
        ack(response_action="errors", errors=errors)
        return
    if done is None:
        ack()
    else:
        ack(response_action="update", view=done(stored))
    if not stored.replayed:
        deps.notify_outbox()


def permalink(client: WebClient, channel_id: str | None, ts: str | None) -> str | None:
    """A message's permalink for a quote; None (logged) when Slack will not give one, and the
    quote goes without a link."""
    if not channel_id or not ts:
        return None
    try:
        return str(client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"])
    except (SlackApiError, OSError, KeyError) as error:
        log.info("chat.getPermalink failed (%s); quoting without a link", error)
        return None
