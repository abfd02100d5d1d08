"""What the benchmarks share: an emptied PostgreSQL schema, a directory record."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from bot.services.directory import UserRecord

TEAM = "T0TEAM"


def reset_postgres(url: str) -> None:
    """An empty public schema: each bench run starts from nothing."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def record(user_id: str, tz: str) -> UserRecord:
    return UserRecord(
        user_id=user_id,
        user_team_id=TEAM,
        name=user_id.lower(),
        real_name=user_id,
        email=None,
        tz=tz,
        is_bot=False,
        deleted=False,
        is_restricted=False,
    )


class SlackInItsOwnProcess:
    """The Slack emulator in a process of its own, so its threads do not share the sender's
    interpreter lock: arrival times at "Slack" then jitter as little as the machine makes
    them, not as much as one process's threads make them."""

    def __init__(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve_slack, args=(child,), daemon=True)
        self._process.start()
        self.url, self.bot_token = self._pipe.recv()

    def call(self, name: str, *args: object, **kwargs: object) -> object:
        """Call an emulator method there and return its (picklable) result."""
        self._pipe.send((name, args, kwargs))
        result = self._pipe.recv()
        if isinstance(result, Exception):
            raise result
        return result

    def stop(self) -> None:
        self._pipe.send(None)
        self._process.join(timeout=10)


def _serve_slack(pipe: object) -> None:
    from collections import Counter

    from bot.demo.emulator import SlackEmulator

    with SlackEmulator() as slack:
        pipe.send((slack.url, slack.bot_token))  # type: ignore[attr-defined]
        while (request := pipe.recv()) is not None:  # type: ignore[attr-defined]
            name, args, kwargs = request
            try:
                if name == "add_users":
                    for user_id in args[0]:
                        slack.add_user(user_id, tz=args[1])
                    result: object = None
                elif name == "calls":
                    result = len(slack.calls(*args))
                else:
                    result = getattr(slack, name)(*args, **kwargs)
                    if isinstance(result, Counter):
                        result = dict(result)
            except Exception as error:  # shown in the bench's own process
                result = error
            pipe.send(result)  # type: ignore[attr-defined]
