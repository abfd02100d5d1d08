"""The demo's one clock: starts at the real now, only moves forward, ticks in real time.

The app (`Deps.clock`), the outbox sender, the scheduler's run-due and the emulator's message
`ts` all read it, so "Jump to Friday 16:00" makes Friday's prompts due everywhere at once.
Request signing does not: Slack signs with the wall clock, and so does the demo.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class DemoClock:
    """now() = the instant of the last jump + the real time elapsed since it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._base = (start or datetime.now(UTC)).astimezone(UTC)
        self._base_monotonic = time.monotonic()

    def __call__(self) -> datetime:
        """A `bot.clock.Clock`: an aware UTC instant."""
        with self._lock:
            return self._base_at(time.monotonic())

    def epoch(self) -> float:
        """The same instant as seconds since the epoch, for the emulator's message ts."""
        return self().timestamp()

    def jump_to(self, instant: datetime) -> datetime:
        """Move ahead to `instant` (aware; naive means UTC); never back. Returns the new now."""
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        with self._lock:
            now_monotonic = time.monotonic()
            if instant.astimezone(UTC) > self._base_at(now_monotonic):
                self._base = instant.astimezone(UTC)
                self._base_monotonic = now_monotonic
            return self._base_at(now_monotonic)

    def _base_at(self, monotonic: float) -> datetime:
        return datetime.fromtimestamp(
            self._base.timestamp() + (monotonic - self._base_monotonic), UTC
        )
