"""What every listener and job needs, passed explicitly (nothing global, nothing at import)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, utc_now
from bot.settings import Settings
from storage.engine import unit_of_work


@dataclass
class SlackStatus:
    """What the background auth.test learnt; `/healthz` shows `state`."""

    state: str = "unknown"  # "ok" | "unreachable" | "invalid_auth" | "unknown"
    team_id: str | None = None
    bot_user_id: str | None = None
    bot_id: str | None = None


@dataclass
class Deps:
    settings: Settings
    session_factory: sessionmaker[Session]
    clock: Clock = utc_now
    outbox_wakeup: threading.Event = field(default_factory=threading.Event)
    slack: SlackStatus = field(default_factory=SlackStatus)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction per listener call or job run; close it before calling Slack."""
        with unit_of_work(self.session_factory) as session:
            yield session

    def now(self) -> datetime:
        return self.clock()

    def notify_outbox(self) -> None:
        """Wake this process's sender now instead of at its next poll."""
        self.outbox_wakeup.set()
