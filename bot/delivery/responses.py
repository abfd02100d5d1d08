"""A message replaced through the response_url Slack sent with a click: the one way to change
an ephemeral message, which chat.update cannot reach.

An outbox row whose method is `RESPOND` carries `response_url` and the message to put in
place (`text`, `blocks`, `replace_original`). Slack takes five posts to a response_url within
30 minutes; one used up or expired (a 4xx) cannot change its message any more, so the row is
done: the message was a snapshot, and what it reported is stored. A 5xx or a 429 is tried
again after the sender's backoff, and so is a network error.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from bot.delivery.uploads import RetryLater

log = logging.getLogger(__name__)

RESPOND = "pulsebot.respond"
TIMEOUT = 10.0


def call(payload: dict[str, Any]) -> bool:
    """POST the message to its response_url; False when Slack no longer takes it."""
    message = {key: value for key, value in payload.items() if key != "response_url"}
    request = urllib.request.Request(
        str(payload["response_url"]),
        data=json.dumps(message).encode(),
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT):
            return True
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise RetryLater(f"response_url_http_{error.code}") from None
        log.info("response_url answered %s: that message stays as it was", error.code)
        return False
