"""The live feed in a dashboard process: one reader of the namespace's feed, many streams.

Every writer appends an entry to the feed when it bumps a tenant's version (core/versions.py).
Each dashboard process runs one thread that reads the feed (XREAD, blocking) and hands each
entry to the queues of the streams open for that entry's tenant, and to no other. A stream
costs no query of its own: not of PostgreSQL, and of Redis only when a browser comes back
with a Last-Event-ID (one XRANGE of what it missed). Every `KEEPALIVE` seconds the reader asks
Redis, in one pipeline for all of the process's streams, whether their tokens were revoked.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from core.settings import Settings
from core.versions import LIVE_FEED_LENGTH, live_feed, trimmed_key
from dashboard_api.tokens import AccessClaims, revocation_keys, revoked_by

log = logging.getLogger(__name__)

# Seconds between keep-alive comments (proxies close idle connections after 30 to 60 s).
KEEPALIVE = 15.0
# Entries a stream may have waiting before it is too slow to follow: it is told to reload.
BACKLOG = 1_000
# Entries a browser coming back may have missed and still be caught up one by one.
REPLAY = 1_000
_BLOCK_MS = 5_000
ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
# Set when the process stops (a signal): every stream ends, so a graceful stop is quick.
STOPPING = threading.Event()
_HUBS: list[Hub] = []


def stop() -> None:
    """End every stream of this process now (the server is stopping)."""
    STOPPING.set()
    for hub in list(_HUBS):
        hub.wake_all()


@dataclass(frozen=True)
class Entry:
    id: str
    tenant: str
    version: int
    change: str  # JSON: topics, accepted_at, bumped_at (core/versions.py)

    def event(self) -> str:
        """The entry as one Server-Sent Event."""
        data = f'{{"version":{self.version},"change":{self.change}}}'
        return f"id: {self.id}\nevent: change\ndata: {data}\n\n"


def _entry(entry_id: bytes, fields: dict[bytes, bytes]) -> Entry:
    return Entry(
        entry_id.decode(),
        fields[b"tenant"].decode(),
        int(fields[b"version"]),
        fields[b"change"].decode(),
    )


def entry_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


class Overflow(Exception):
    """The stream fell `BACKLOG` entries behind."""


class Subscription:
    """The entries of one tenant for one open stream, in feed order."""

    def __init__(self, tenant: str, claims: AccessClaims) -> None:
        self.tenant = tenant
        self.claims = claims
        self._queue: queue.Queue[Entry | None] = queue.Queue(maxsize=BACKLOG)
        self.overflowed = False
        self.revoked = False

    def offer(self, entry: Entry | None) -> None:
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self.overflowed = True

    def next(self, timeout: float) -> Entry | None:
        """The next entry, or None after `timeout` seconds (or when the process stops);
        raises Overflow once the stream fell too far behind."""
        if self.overflowed:
            raise Overflow
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class Hub:
    """This process's reader of the live feed and the subscriptions it serves."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.feed = live_feed(settings.namespace)
        self.trimmed = trimmed_key(settings.namespace)
        # Blocking reads need a socket timeout longer than the block.
        self.client: Any = redis.Redis.from_url(
            settings.redis_url, socket_timeout=_BLOCK_MS / 1000 + 5, socket_connect_timeout=2
        )
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        _HUBS.append(self)

    def wake_all(self) -> None:
        for sub in self._subscriptions():
            sub.offer(None)

    def subscribe(self, tenant: str, claims: AccessClaims) -> Subscription:
        sub = Subscription(tenant, claims)
        with self._lock:
            self._subscribers[tenant].add(sub)
            if self._reader is None or not self._reader.is_alive():
                # Started on first use (after a server's fork, in the process that serves),
                # from the newest entry now: anything later reaches this subscription.
                start = self.latest()
                self._reader = threading.Thread(
                    target=self._read, args=(start,), name="live-feed", daemon=True
                )
                self._reader.start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subscribers.get(sub.tenant)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[sub.tenant]

    def latest(self) -> str:
        """The id of the feed's newest entry ("0-0" when empty)."""
        newest = self.client.xrevrange(self.feed, count=1)
        return newest[0][0].decode() if newest else "0-0"

    def missed(self, tenant: str, after: str) -> tuple[list[Entry], bool]:
        """The tenant's entries after `after`, and whether they are all of them (False when
        entries after it were trimmed from the feed, or too many were missed)."""
        trimmed = self.client.get(self.trimmed) or b"0-0"
        after_it = self.client.xrange(self.feed, f"({after}", "+", count=LIVE_FEED_LENGTH)
        mine = [e for e in (_entry(i, f) for i, f in after_it) if e.tenant == tenant]
        reaches = entry_key(trimmed.decode()) <= entry_key(after)
        return mine, reaches and len(mine) <= REPLAY

    def _subscriptions(self) -> list[Subscription]:
        with self._lock:
            return [s for group in self._subscribers.values() for s in group]

    def check_tokens(self) -> None:
        """Mark (and wake) the streams whose tokens were revoked: one pipeline for all."""
        subs = self._subscriptions()
        pipe = self.client.pipeline(transaction=False)
        for sub in subs:
            pipe.mget(revocation_keys(self.settings, sub.claims))
        for sub, values in zip(subs, pipe.execute(), strict=True):
            if revoked_by(sub.claims, values):
                sub.revoked = True
                sub.offer(None)

    def _read(self, last: str) -> None:
        checked = time.monotonic()
        while not STOPPING.is_set():
            try:
                if time.monotonic() - checked >= KEEPALIVE:
                    self.check_tokens()
                    checked = time.monotonic()
                got = self.client.xread({self.feed: last}, count=500, block=_BLOCK_MS)
            except redis.RedisError as exc:
                # Entries keep in the feed meanwhile: the next read resumes after `last`.
                log.warning("live feed unreadable", extra={"error": exc.__class__.__name__})
                STOPPING.wait(1.0)
                continue
            for _, entries in got or ():
                for entry_id, fields in entries:
                    entry = _entry(entry_id, fields)
                    last = entry.id
                    with self._lock:
                        targets = list(self._subscribers.get(entry.tenant, ()))
                    for sub in targets:
                        sub.offer(entry)
            with self._lock:
                if not self._subscribers:  # the last stream closed: stop until the next
                    self._reader = None
                    return


def events(hub: Hub, claims: AccessClaims, *, after: str | None) -> Iterator[str]:
    """The text of the event stream of the token's tenant: what it missed after `after`, then
    each entry as it comes, keep-alive comments between; it ends when the token expires or is
    revoked, or the process stops. A browser that cannot be caught up gets a `reset` event
    (reload everything) and the newest id to go on from."""
    yield "retry: 2000\n\n"
    # Subscribed before anything is read, so nothing falls between the replay and the feed.
    sub = hub.subscribe(str(claims.tenant_id), claims)
    until = float(claims.expires_at)
    try:
        sent = after
        if after is None:
            sent = hub.latest()
            yield f"id: {sent}\nevent: ready\ndata: {{}}\n\n"
        else:
            missed, complete = hub.missed(sub.tenant, after)
            if not complete:
                sent = hub.latest()
                yield f"id: {sent}\nevent: reset\ndata: {{}}\n\n"
            else:
                for old in missed:
                    yield old.event()
                    sent = old.id
        while not STOPPING.is_set():
            left = until - time.time()
            if left <= 0 or sub.revoked:
                yield "event: expired\ndata: {}\n\n"
                return
            try:
                entry = sub.next(min(KEEPALIVE, left))
            except Overflow:
                yield f"id: {hub.latest()}\nevent: reset\ndata: {{}}\n\n"
                return
            if entry is None:
                if not sub.revoked and not STOPPING.is_set():
                    yield ": keepalive\n\n"
                continue
            if sent is not None and entry_key(entry.id) <= entry_key(sent):
                continue  # already sent from the replay
            yield entry.event()
            sent = entry.id
    finally:
        hub.unsubscribe(sub)
