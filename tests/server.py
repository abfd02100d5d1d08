"""The real server for end-to-end tests: uvicorn serving the production ASGI app.

In a thread for most tests (fast, same configuration as `pulsebot run`), or as a separate
`pulsebot run` process when a test must kill it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bot.app import build_app
from bot.deps import Deps
from bot.runtime import Runtime
from bot.server import create_asgi
from bot.settings import Settings
from storage.engine import make_engine, make_session_factory

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
KUDOS_CHANNEL = "C0KUDOS"


def server_settings(database_url: str, api_url: str, token: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "PULSEBOT_KUDOS_CHANNEL": KUDOS_CHANNEL,
        "PULSEBOT_POST_RATE": 50,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class RunningServer:
    url: str
    deps: Deps
    runtime: Runtime


@contextmanager
def running_server(settings: Settings, **runtime_options: Any) -> Iterator[RunningServer]:
    """`runtime_options` go to `Runtime` (e.g. `recheck_every`)."""
    engine = make_engine(settings.database_url, pool_size=10)
    deps = Deps(settings=settings, session_factory=make_session_factory(engine))
    runtime = Runtime(deps, scheduler=False, **runtime_options)
    asgi = create_asgi(build_app(settings, deps), deps, runtime)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(asgi, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", deps=deps, runtime=runtime)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def kill_hard(self) -> None:
        """kill -9: no shutdown hook runs, exactly like a crash."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_hard()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_process(env: dict[str, str], log_path: Path, *args: str) -> ServerProcess:
    """`pulsebot run` in a process of its own, waiting until /healthz answers."""
    port = free_port()
    full_env = {**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1"}
    log_file = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", *args],
        env=full_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=log_path.parent,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pulsebot run exited: {log_path.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return ServerProcess(url=url, process=process, log_path=log_path)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"pulsebot run did not answer /healthz: {log_path.read_text()}")
