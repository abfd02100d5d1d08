"""Opening modals: the one Web API call made before an ack, since a trigger lasts 3 seconds."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


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
