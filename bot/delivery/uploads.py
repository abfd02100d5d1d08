"""Outbox rows that are more than one Web API call: a private file upload, and a post showing it.

The sender hands rows whose method is one of `PSEUDO_METHODS` to `call` (a dispatch in
`OutboxSender._call`). Both keep the sender's exactly-once bookkeeping:

- `pulsebot.files_upload`: files.getUploadURLExternal, the upload, files.completeUploadExternal
  with no channel (a private file; `files:write`). The row keeps the PNG; once the file id is
  recorded (the row's `result_channel`) the row is sent and never uploads again.
- `pulsebot.post_with_file`: chat.postMessage whose image block shows that file by
  `slack_file: {"id": …}`. The row depends on the upload row; its `file_id` payload value is
  `$parent.channel`, which the sender fills in. Slack may answer `invalid_blocks` while the file
  is still processing: that post is retried after a short wait (the sender's backoff), and
  after `FILE_RETRIES` tries it goes without the chart rather than not at all.
- `pulsebot.share_file`: a file for one person, shared into their DM with the bot (its
  `channel` is their user id, as for a DM post, so rows withdrawn for a person include it).
  files.completeUploadExternal shares into a conversation id only, so conversations.open finds
  the DM first. Not looked for after a lost answer: at worst the person gets a second copy of
  their own file.
"""

from __future__ import annotations

import base64
import logging
import urllib.error
import urllib.request
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

UPLOAD = "pulsebot.files_upload"
POST_WITH_FILE = "pulsebot.post_with_file"
SHARE_FILE = "pulsebot.share_file"
PSEUDO_METHODS = frozenset({UPLOAD, POST_WITH_FILE, SHARE_FILE})
FILE_PLACEHOLDER = "$chart.file_id"
FILE_RETRIES = 4
UPLOAD_TIMEOUT = 10.0
# Slack errors after which another try cannot help: the post goes on without the chart. A
# refused token (invalid_auth, account_inactive, token_revoked) is not one of them: the sender
# stops the workspace and the upload waits, with everything else, for a token that works.
FINAL_UPLOAD_ERRORS = frozenset({"missing_scope", "not_allowed_token_type"})


class RetryLater(Exception):
    """Worth another try after the sender's backoff (a file still processing, a failed PUT)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def upload_payload(png: bytes, filename: str, title: str, alt_text: str) -> dict[str, Any]:
    return {
        "filename": filename,
        "title": title,
        "alt_text": alt_text,
        "content_b64": base64.b64encode(png).decode("ascii"),
    }


def share_payload(
    user_id: str, content: bytes, filename: str, title: str, comment: str
) -> dict[str, Any]:
    return {
        "channel": user_id,
        "filename": filename,
        "title": title,
        "initial_comment": comment,
        "content_b64": base64.b64encode(content).decode("ascii"),
    }


def call(
    client: WebClient, method: str, payload: dict[str, Any], key: str, attempts: int
) -> dict[str, Any]:
    """Run a pseudo-method; returns what to record (`channel`, `ts`) like a Web API answer.

    Raises SlackApiError (classified by the sender as usual) or RetryLater."""
    if method == UPLOAD:
        return {"channel": _upload(client, payload), "ts": None}
    if method == POST_WITH_FILE:
        return _post(client, payload, key, attempts)
    if method == SHARE_FILE:
        return {"channel": _share(client, payload), "ts": None}
    raise ValueError(f"not a pseudo-method: {method}")


def _upload(client: WebClient, payload: dict[str, Any]) -> str:
    content = base64.b64decode(payload["content_b64"])
    try:
        ticket = client.files_getUploadURLExternal(
            filename=payload["filename"], length=len(content), alt_txt=payload.get("alt_text")
        )
    except SlackApiError as error:
        if str(error.response.get("error")) in FINAL_UPLOAD_ERRORS:
            log.error("chart upload refused (%s): digests go without charts", error.response)
            return ""
        raise
    _send_bytes(str(ticket["upload_url"]), content)
    file_id = str(ticket["file_id"])
    client.files_completeUploadExternal(files=[{"id": file_id, "title": payload["title"]}])
    return file_id


def _send_bytes(url: str, content: bytes) -> None:
    request = urllib.request.Request(
        url, data=content, method="POST", headers={"Content-Type": "application/octet-stream"}
    )
    try:
        with urllib.request.urlopen(request, timeout=UPLOAD_TIMEOUT) as answer:
            if answer.status != 200:
                raise RetryLater(f"upload_http_{answer.status}")
    except urllib.error.HTTPError as error:
        raise RetryLater(f"upload_http_{error.code}") from None


def _share(client: WebClient, payload: dict[str, Any]) -> str:
    """Upload and share into the person's DM; the DM's id, which the sender records."""
    opened = client.conversations_open(users=payload["channel"])
    channel = opened.get("channel") or {}
    dm = str(channel.get("id") or "") if isinstance(channel, dict) else ""
    if not dm:
        raise RetryLater("no_dm_channel")
    content = base64.b64decode(payload["content_b64"])
    ticket = client.files_getUploadURLExternal(filename=payload["filename"], length=len(content))
    _send_bytes(str(ticket["upload_url"]), content)
    client.files_completeUploadExternal(
        files=[{"id": str(ticket["file_id"]), "title": payload["title"]}],
        channel_id=dm,
        initial_comment=payload.get("initial_comment") or None,
    )
    return dm


def _post(client: WebClient, payload: dict[str, Any], key: str, attempts: int) -> dict[str, Any]:
    body = dict(payload)
    file_id = body.pop("file_id", None) or None
    body.setdefault("metadata", {"event_type": "pulsebot_outbox", "event_payload": {"key": key}})
    give_up_on_chart = file_id is None or attempts >= FILE_RETRIES - 1
    body["blocks"] = with_file(body.get("blocks") or [], None if give_up_on_chart else file_id)
    try:
        response = client.chat_postMessage(**body)
    except SlackApiError as error:
        if str(error.response.get("error")) == "invalid_blocks" and not give_up_on_chart:
            raise RetryLater("invalid_blocks") from None
        raise
    data = response.data if isinstance(response.data, dict) else {}
    return {"channel": data.get("channel"), "ts": data.get("ts")}


def with_file(blocks: list[dict[str, Any]], file_id: str | None) -> list[dict[str, Any]]:
    """The image block points at the file; without one it becomes a line saying so."""
    out = []
    for block in blocks:
        if (
            block.get("type") == "image"
            and block.get("slack_file", {}).get("id") == FILE_PLACEHOLDER
        ):
            if file_id is None:
                out.append(
                    {
                        "type": "context",
                        "elements": [{"type": "mrkdwn", "text": "_The chart is unavailable._"}],
                    }
                )
                continue
            block = {**block, "slack_file": {"id": file_id}}
        out.append(block)
    return out
