"""Slack's request signing (v0), shared by the demo's client and the end-to-end tests."""

from __future__ import annotations

import hashlib
import hmac
import time


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Slack's v0 signature: hex HMAC-SHA256 over `v0:{timestamp}:{raw body}`."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds. Always the wall clock: Bolt rejects 5 minutes of skew, and
    the demo's own clock may be weeks ahead."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, ts, body),
    }
