"""Signed deliveries POSTed to a receiver at a steady rate: `cartwheel simulate` and the demo
shop's history."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from devtools.traffic import Delivery


@dataclass
class Summary:
    """What a run sent and how the receiver answered."""

    sent: int = 0
    accepted: int = 0
    rejected: Counter[int] = field(default_factory=Counter)  # HTTP status -> deliveries
    kinds: Counter[str] = field(default_factory=Counter)  # first / late / duplicate
    seconds: float = 0.0
    error: str | None = None  # why the run stopped early

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.rejected


def webhook_url(url: str) -> str:
    """A bare receiver address gets the /webhooks path; a URL with a path is used as given."""
    if urlsplit(url).path in ("", "/"):
        return url.rstrip("/") + "/webhooks"
    return url


def send_all(
    deliveries: Iterable[Delivery],
    url: str,
    *,
    rate: float,
    session: requests.Session | None = None,
    timeout: float = 10.0,
) -> Summary:
    """POST each delivery at most `rate` per second over one keep-alive connection."""
    summary = Summary()
    http = session or requests.Session()
    started = time.monotonic()
    try:
        for i, d in enumerate(deliveries):
            # Pace against the start, not the last send, so slow answers do not lower the rate.
            pause = started + i / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            response = http.post(url, data=d.body, headers=d.headers, timeout=timeout)
            summary.sent += 1
            summary.kinds[d.kind] += 1
            if 200 <= response.status_code < 300:
                summary.accepted += 1
            else:
                summary.rejected[response.status_code] += 1
    except requests.RequestException as exc:
        summary.error = f"cannot reach the receiver at {url}: {exc.__class__.__name__}: {exc}"
    except KeyboardInterrupt:
        summary.error = "interrupted"
    finally:
        summary.seconds = time.monotonic() - started
        if session is None:
            http.close()
    return summary
