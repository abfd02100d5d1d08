"""Per-method pacing by Slack tier, per-channel spacing, and Retry-After pauses.

Time here is `time.monotonic()` seconds: pacing is about intervals, not calendar instants.
"""

from __future__ import annotations

import threading

# Calls per second each method may use (DESIGN.md section 8). chat.postMessage is configured.
TIER_RATES = {
    "chat.update": 50 / 60,  # Tier 3
    "conversations.open": 50 / 60,  # Tier 3
    "reactions.add": 50 / 60,  # Tier 3
    "chat.postEphemeral": 100 / 60,  # Tier 4
    "views.publish": 100 / 60,  # Tier 4
    "views.update": 100 / 60,
    "files.getUploadURLExternal": 100 / 60,
    "files.completeUploadExternal": 100 / 60,
    # bot/delivery/uploads.py: two Tier 4 calls per upload; one post per digest with a chart
    "pulsebot.files_upload": 50 / 60,
    "pulsebot.post_with_file": 1.0,
}
DEFAULT_RATE = 20 / 60  # Tier 2, for anything unlisted
CHANNEL_INTERVAL = 1.0  # chat.postMessage: about one message a second per channel


class Pacer:
    """Hands out send slots so calls leave evenly spaced, never in bursts that draw 429s."""

    def __init__(self, post_rate: float) -> None:
        self._rates = {**TIER_RATES, "chat.postMessage": post_rate}
        self._next_slot: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}
        self._channel_next: dict[str, float] = {}
        self._lock = threading.Lock()

    def interval(self, method: str) -> float:
        return 1.0 / self._rates.get(method, DEFAULT_RATE)

    def paused_methods(self, now: float) -> list[str]:
        """Methods under a Retry-After pause: not worth claiming rows for until it ends."""
        with self._lock:
            return sorted(m for m, until in self._paused_until.items() if until > now)

    def ready_in(self, method: str, channel: str | None, now: float) -> float:
        """Seconds until this method (and, for posts, this channel) may be called again."""
        with self._lock:
            waits = [
                self._next_slot.get(method, now) - now,
                self._paused_until.get(method, now) - now,
            ]
            if channel and method == "chat.postMessage":
                waits.append(self._channel_next.get(channel, now) - now)
        return max(max(waits), 0.0)

    def reserve(self, method: str, channel: str | None, now: float) -> float:
        """Take the method's next slot (and the channel's); returns seconds to wait for it."""
        with self._lock:
            per_channel = bool(channel) and method == "chat.postMessage"
            slot = max(
                self._next_slot.get(method, now),
                self._paused_until.get(method, now),
                self._channel_next.get(channel, now) if per_channel and channel else now,
                now,
            )
            self._next_slot[method] = slot + self.interval(method)
            if per_channel and channel:
                self._channel_next[channel] = slot + CHANNEL_INTERVAL
                if len(self._channel_next) > 10_000:
                    self._forget_old_channels(now)
            return slot - now

    def pause(self, method: str, seconds: float, now: float) -> None:
        """Slack said 429: no call of this method until Retry-After has passed."""
        with self._lock:
            until = now + seconds
            self._paused_until[method] = max(self._paused_until.get(method, 0.0), until)
            self._next_slot[method] = max(self._next_slot.get(method, 0.0), until)

    def _forget_old_channels(self, now: float) -> None:
        self._channel_next = {c: t for c, t in self._channel_next.items() if t > now}
