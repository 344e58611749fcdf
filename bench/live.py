"""Live streams under load: many browsers on GET /api/live while the pipeline takes webhooks.

The dashboard runs under gunicorn with the production config, the receiver too, and a real
Celery worker and beat drain the streams. `clients` event streams (spread over the tenants)
stay open, read by one thread over non-blocking sockets, while an open-loop sender posts
`rate` webhooks/s. Each change event says when the receiver accepted the oldest delivery it
covers; delivery latency runs from there to the moment a client read the event, for every
client that got it. The baseline is the same run's webhook-to-row latency: a change cannot
reach a browser before its rows are committed.
"""

from __future__ import annotations

import json
import selectors
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.latency import (
    celery_pipeline,
    processed_at,
    send_open_loop,
    spread_over,
    summary,
    wait_for_rows,
)
from bench.services import child_env, delete_keys, gunicorn
from core.settings import Settings
from dashboard_api.tokens import issue_access_token
from models.db import get_engine

TARGET_P99_SECONDS = 2.0


class Clients:
    """`count` event streams read by one thread; records (read at - accepted at) per event."""

    def __init__(self, base: str, tokens: Sequence[str], count: int) -> None:
        parts = urlsplit(base)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.tokens = tokens
        self.count = count
        self.latencies: list[float] = []
        self.connected = 0
        self.failed = 0
        self.closed = 0
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="live-clients", daemon=True)

    def open(self, timeout: float = 60) -> None:
        for i in range(self.count):
            sock = socket.create_connection(self.address, timeout=10)
            request = (
                f"GET /api/live HTTP/1.1\r\nHost: {self.address[0]}\r\n"
                f"Authorization: Bearer {self.tokens[i % len(self.tokens)]}\r\n"
                "Accept: text/event-stream\r\n\r\n"
            )
            sock.sendall(request.encode())
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ, {"buffer": b"", "ready": False})
        self._thread.start()
        deadline = time.monotonic() + timeout
        while self.connected + self.failed < self.count and time.monotonic() < deadline:
            time.sleep(0.1)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.2):
                now = time.time()
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._selector.unregister(key.fileobj)
                    key.fileobj.close()  # type: ignore[union-attr]
                    self.closed += 1
                    continue
                self._feed(key.data, data, now)

    def _feed(self, state: dict[str, Any], data: bytes, now: float) -> None:
        buffer = state["buffer"] + data
        *lines, state["buffer"] = buffer.split(b"\n")
        for line in lines:
            if not state["ready"] and line.startswith(b"HTTP/1.1 "):
                if line.split()[1] == b"200":
                    state["ready"] = True
                    self.connected += 1
                else:
                    self.failed += 1
            elif line.startswith(b'data: {"version"'):
                change = json.loads(line[6:])["change"]
                if change.get("accepted_at") is not None:
                    self.latencies.append(now - change["accepted_at"])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()


def run_live(
    settings: Settings,
    tenants: Sequence[dict[str, str]],
    *,
    clients: int,
    rate: float,
    seconds: float,
    workers: int,
    workdir: Path,
) -> dict[str, Any]:
    """Event delivery p50/p99 to `clients` open streams while `rate` webhooks/s arrive."""
    count = int(rate * seconds)
    deliveries = spread_over(tenants, count, start=40_000_000)
    tokens = [
        issue_access_token(
            settings,
            tenant_id=uuid.UUID(t["id"]),
            user_id=uuid.uuid4(),
            role="analyst",
            email=f"bench-{n}@example.com",
            generation=0,
        )
        for n, t in enumerate(tenants)
    ]
    env = child_env(settings)
    engine = get_engine(settings.database_url)
    try:
        with (
            gunicorn("receiver:create_app()", env, workdir / "live-receiver.log", workers) as rx,
            gunicorn("dashboard_api:create_app()", env, workdir / "live-dash.log", workers) as dash,
            celery_pipeline(env, settings, workdir, "live"),
        ):
            streams = Clients(dash, tokens, clients)
            try:
                streams.open()
                sent = send_open_loop(rx, deliveries, rate=rate)
                statuses = zip(deliveries, sent.status, strict=True)
                accepted = [w for (w, *_), status in statuses if status == 200]
                missing = wait_for_rows(engine, accepted, timeout=60)
                time.sleep(2.0)  # the last commits' events on their way
            finally:
                streams.close()
        committed = processed_at(engine, accepted)
    finally:
        delete_keys(settings.redis_url, settings.namespace)
    went = {w: sent.sent[i] for i, (w, *_) in enumerate(deliveries)}
    to_row = summary([committed[w] - went[w] for w in accepted if w in committed])
    delivered = summary(streams.latencies)
    return {
        "clients": clients,
        "connected": streams.connected,
        "refused": streams.failed,
        "closed_early": streams.closed,
        "rate": rate,
        "seconds": seconds,
        "sent": count,
        "accepted": len(accepted),
        "rows_missing": len(missing),
        "events_read": len(streams.latencies),
        "accepted_to_browser": delivered,
        "sent_to_row": to_row,
        "target_p99_s": TARGET_P99_SECONDS,
        "passed": streams.connected == clients
        and not streams.closed
        and delivered["p99"] <= TARGET_P99_SECONDS,
    }
