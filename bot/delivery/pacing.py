"""Per-method pacing by Slack tier, per-channel spacing, and Retry-After pauses.

Time here is `time.monotonic()` seconds: pacing is about intervals, not calendar instants.
"""

from __future__ import annotations

import threading
from collections import deque

# Calls per second each method may use, by its Slack tier. chat.postMessage is configured.
TIER_RATES = {
    "chat.update": 50 / 60,  # Tier 3
    "conversations.open": 50 / 60,  # Tier 3
    "conversations.history": 50 / 60,  # Tier 3
    "conversations.replies": 50 / 60,  # Tier 3
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
# Calls leave evenly spaced but reach Slack with jitter (threads, the network), so a client at
# exactly the limit overruns a strict window now and then, and each 429 costs a whole
# Retry-After second. Pacing this far below the configured rate absorbs the jitter; measured
# with bench/fanout.py against a strict sliding window and a small-burst token bucket.
MARGIN = 0.03
# A 429 despite the margin (a noisier path, a stricter Slack) widens that method's margin by
# this much, up to MAX_MARGIN; it narrows back by RELAX per call sent.
MARGIN_STEP = 0.02
MAX_MARGIN = 0.25
RELAX = 0.999
# How far behind its schedule a method may start a call and still keep that schedule. Kept
# well inside the slack the margin leaves in a 1 s window (MARGIN / (1 - MARGIN) s, about
# 31 ms), with the rest for jitter.
CATCH_UP = 0.005
# However the schedule went, no N + 1 calls of a method allowed N a second leave within
# WINDOW + WINDOW_GUARD of each other, measured on when they really left: a call that left
# late never lets a later one crowd into its second.
WINDOW = 1.0
WINDOW_GUARD = 0.010


class Pacer:
    """Hands out send slots so calls leave evenly spaced, never in bursts that draw 429s."""

    def __init__(self, post_rate: float, margin: float = MARGIN) -> None:
        self._rates = {**TIER_RATES, "chat.postMessage": post_rate}
        self._base_margin = margin
        self._margin: dict[str, float] = {}
        self._next_slot: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}
        self._channel_next: dict[str, float] = {}
        self._departures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def interval(self, method: str) -> float:
        margin = self._margin.get(method, self._base_margin)
        return 1.0 / (self._rates.get(method, DEFAULT_RATE) * (1.0 - margin))

    def margin(self, method: str) -> float:
        with self._lock:
            return self._margin.get(method, self._base_margin)

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
                self._window_floor(method) - now,
            ]
            if channel and method == "chat.postMessage":
                waits.append(self._channel_next.get(channel, now) - now)
        return max(max(waits), 0.0)

    def reserve(self, method: str, channel: str | None, now: float) -> float:
        """Take the method's next slot (and the channel's); returns seconds to wait for it."""
        with self._lock:
            per_channel = bool(channel) and method == "chat.postMessage"
            scheduled = max(
                self._next_slot.get(method, now),
                self._paused_until.get(method, 0.0),
                self._channel_next.get(channel, 0.0) if per_channel and channel else 0.0,
                self._window_floor(method),
            )
            slot = max(scheduled, now)
            # A call that starts late (the previous call or its bookkeeping ran long) keeps the
            # schedule by up to CATCH_UP, so small delays do not add up over a fan-out.
            self._next_slot[method] = max(scheduled, now - CATCH_UP) + self.interval(method)
            if method in self._margin:
                relaxed = self._base_margin + (self._margin[method] - self._base_margin) * RELAX
                self._margin[method] = relaxed
            if per_channel and channel:
                self._channel_next[channel] = slot + CHANNEL_INTERVAL / (1.0 - self._base_margin)
                if len(self._channel_next) > 10_000:
                    self._forget_old_channels(now)
            return slot - now

    def departed(self, method: str, at: float) -> None:
        """A call is leaving now (after any wait): the window floor counts real departures."""
        with self._lock:
            calls = int(self._rates.get(method, DEFAULT_RATE) * WINDOW)
            if calls < 1:
                return
            departures = self._departures.get(method)
            if departures is None or departures.maxlen != calls:
                departures = self._departures[method] = deque(departures or (), maxlen=calls)
            departures.append(at)

    def _window_floor(self, method: str) -> float:
        departures = self._departures.get(method)
        if not departures or len(departures) < (departures.maxlen or 0):
            return 0.0
        return departures[0] + WINDOW + WINDOW_GUARD

    def pause(self, method: str, seconds: float, now: float) -> None:
        """Slack said 429: no call of this method until Retry-After has passed, and a wider
        margin from then on."""
        with self._lock:
            widened = self._margin.get(method, self._base_margin) + MARGIN_STEP
            self._margin[method] = min(widened, MAX_MARGIN)
            until = now + seconds
            self._paused_until[method] = max(self._paused_until.get(method, 0.0), until)
            self._next_slot[method] = max(self._next_slot.get(method, 0.0), until)

    def _forget_old_channels(self, now: float) -> None:
        self._channel_next = {c: t for c, t in self._channel_next.items() if t > now}
