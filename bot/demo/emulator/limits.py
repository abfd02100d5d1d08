"""Slack's rate limits as models: a token bucket per method tier (and per channel for posts),
a strict sliding window, and the 429 answer both give."""

from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass, field

from bot.demo.emulator.webapi import SlackError


def rate_limited(retry_after: int) -> SlackError:
    """Slack's 429: the body says `ratelimited`, the header says how long to wait."""
    return SlackError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})


@dataclass
class Bucket:
    """A token bucket, the model behind Slack's "N per minute, short bursts tolerated"."""

    rate: float  # tokens per second
    capacity: float
    fixed_retry_after: int | None = None
    tokens: float = field(init=False)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def take(self) -> int | None:
        """Spend one token; None when allowed, else the Retry-After seconds (>= 1)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        if self.fixed_retry_after is not None:
            return self.fixed_retry_after
        return max(1, math.ceil((1 - self.tokens) / self.rate))


@dataclass
class Window:
    """A strict sliding window: at most `calls` in any `seconds`, the strictest reading of
    "N per second" (a limiter that a client at exactly N/s overruns on any arrival jitter)."""

    calls: int
    seconds: float
    times: collections.deque[float] = field(default_factory=collections.deque)

    def take(self) -> int | None:
        now = time.monotonic()
        while self.times and now - self.times[0] >= self.seconds:
            self.times.popleft()
        if len(self.times) < self.calls:
            self.times.append(now)
            return None
        return max(1, math.ceil(self.seconds - (now - self.times[0])))
