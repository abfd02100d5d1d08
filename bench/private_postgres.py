"""A PostgreSQL cluster of the bench's own: `initdb` and `pg_ctl` in a temporary directory, on a
free port of 127.0.0.1, stopped and deleted afterwards.

Why its own: a bench that pins the database to a core, or counts its CPU, must know which
processes are the database, and must leave the machine's own server (and whoever else uses it)
alone. The binaries are found under /usr/lib/postgresql/<version>/bin (the newest), or in the
directory PG_BINDIR names. initdb refuses to run as root, so as root the cluster runs as the
`postgres` user (`runuser`), in a directory that user owns.

    with PrivatePostgres() as pg:
        pg.url            # postgresql+psycopg://postgres@127.0.0.1:PORT/bench
        pg.pids()         # the postmaster and every backend, for CPU and affinity
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

DATABASE = "bench"


def bindir() -> Path:
    """The newest installed PostgreSQL's binaries (or $PG_BINDIR)."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise SystemExit(
            "no PostgreSQL binaries under /usr/lib/postgresql/*/bin (set PG_BINDIR to their "
            "directory)"
        )
    newest = max(found, key=lambda path: int(Path(path).parent.parent.name.split(".")[0]))
    return Path(newest).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    """Start on enter, stop (fast) and delete on exit; `settings` become `-c name=value`."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.settings = settings or {}
        self.bin = bindir()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pulsebot-bench-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, cwd=self.root, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = [f"-p {self.port}", f"-k {self.root}", "-c listen_addresses=127.0.0.1"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(options),
            "start",
        )
        self._run(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            DATABASE,
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def pids(self) -> list[int]:
        """The postmaster and its children (backends, WAL writer, checkpointer...), now."""
        root = self.postmaster()
        found = [root]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == root:
                found.append(int(entry.name))
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU of the cluster so far: its live processes, plus what the
        postmaster collected from children that exited."""
        tick = os.sysconf("SC_CLK_TCK")
        root = self.postmaster()
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used = int(fields[11]) + int(fields[12])
            if pid == root:
                used += int(fields[13]) + int(fields[14])
            total += used / tick
        return total

    def __enter__(self) -> PrivatePostgres:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # pg_ctl -w waited; the socket is there too
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
