"""A reader of a Server-Sent Events stream over real HTTP, event by event, with a deadline."""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Event:
    id: str | None
    name: str
    data: Any


class EventStream:
    """GET url as an event stream; a thread parses it, `next()` waits for each event."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        self._conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self._conn.getresponse()
        self.status = self.response.status
        self._events: queue.Queue[Event | None] = queue.Queue()
        self.comments = 0
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def json(self) -> Any:
        """The body of a refused request."""
        return json.loads(self.response.read())

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            while raw := self.response.readline():
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if "event" in fields or "data" in fields:
                        data = fields.get("data")
                        self._events.put(
                            Event(
                                fields.get("id"),
                                fields.get("event", "message"),
                                json.loads(data) if data else None,
                            )
                        )
                    fields = {}
                elif line.startswith(":"):
                    self.comments += 1
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
        except (OSError, ValueError, http.client.HTTPException):
            pass  # closed by close()
        finally:
            self._events.put(None)

    def next(self, timeout: float = 10) -> Event | None:
        """The next event; None when the stream ended. Fails after `timeout` seconds."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s") from None

    def next_named(self, name: str, timeout: float = 10) -> Event:
        """The next event called `name` (others before it are skipped)."""
        while True:
            event = self.next(timeout)
            assert event is not None, f"the stream ended before a {name} event"
            if event.name == name:
                return event

    def nothing_within(self, seconds: float) -> bool:
        try:
            event = self._events.get(timeout=seconds)
        except queue.Empty:
            return True
        self._events.put(event)
        return False

    def close(self) -> None:
        # Shut the socket first: a read waiting in the other thread returns at once.
        if self._conn.sock is not None:
            with contextlib.suppress(OSError):
                self._conn.sock.shutdown(socket.SHUT_RDWR)
        self._conn.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
