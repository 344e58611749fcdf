"""A GraphQL Admin API client that pays for every query before sending it.

Shopify meters each app+shop with a leaky bucket of query-cost points whose size and restore
rate depend on the shop's plan; every response reports them (`extensions.cost.throttleStatus`).
The client learns them from those responses, never from constants: before a request it projects
the bucket's level from the last report and waits until the query's cost (learned from the
previous response to the same query text) is covered. A query it has not priced yet waits for
Shopify's single-query maximum (1,000 points), which covers any valid query. THROTTLED answers
(another client of the same app spent the bucket) are retried after the wait the reported level
implies. Waits longer than `max_inline_wait` raise ThrottleWait so a Celery task can reschedule
itself instead of holding a worker; one tenant's budget therefore never stalls another's.

Every request goes through `core.egress`: a tenant's shop over a pinned, public-only session,
an operator-configured Admin API as configured; redirects are never followed. Bulk result files
come only over HTTPS from the configured storage hosts (or the operator's Admin API origin),
capped by `workers.sync.download`. An answer's body never goes into an error a tenant can read
(run errors are shown in the dashboard): errors carry the status and a generic reason, the log
carries the start of the body.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from core import egress
from core.errors import CartwheelError, TransientError
from core.settings import Settings
from shops.credentials import AdminApi
from workers.sync.download import DownloadError, DownloadLimits, capped_lines

log = logging.getLogger(__name__)
MAX_QUERY_COST = 1000
_MARGIN = 0.02  # seconds: the reported level is floored and read late, so this is plenty


class ShopifyError(CartwheelError):
    """The Admin API refused a request for good."""


class ShopifyAuthError(ShopifyError):
    """The token is wrong, revoked or lacks a scope (401/403)."""


class ShopifyUnavailable(ShopifyError, TransientError):
    """Shopify kept failing (connection errors, 429, 5xx) after every retry: try again later."""


class QueryError(ShopifyError):
    """The query came back with GraphQL errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e.get("message")) for e in errors)[:500])
        self.errors = errors


class ThrottleWait(ShopifyError):
    """Paying for the next query needs a longer wait than this caller allows inline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the rate limit needs a {seconds:.1f}s wait")
        self.seconds = seconds


class ResultExpired(ShopifyError):
    """A bulk result URL no longer answers (it expired: 403, like GCS)."""


class AddressRefused(ShopifyError):
    """The Admin API or a bulk result URL points where this process may not go."""


@dataclass
class Bucket:
    """The app+shop bucket as last reported by Shopify."""

    maximum: float | None = None
    available: float = 0.0
    restore_rate: float = 0.0
    observed_at: float = 0.0

    def update(self, status: dict[str, Any], now: float) -> None:
        self.maximum = float(status["maximumAvailable"])
        self.available = float(status["currentlyAvailable"])
        self.restore_rate = float(status["restoreRate"])
        self.observed_at = now

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until the bucket holds `cost` points (0 when unknown or already there)."""
        if self.maximum is None or self.restore_rate <= 0:
            return 0.0
        cost = min(cost, self.maximum)
        level = min(self.maximum, self.available + (now - self.observed_at) * self.restore_rate)
        if level >= cost:
            return 0.0
        return (cost - level) / self.restore_rate + _MARGIN


class ShopifyClient:
    """One shop's GraphQL Admin API, throttle-aware."""

    def __init__(
        self,
        api: AdminApi,
        *,
        http: requests.Session | None = None,
        max_inline_wait: float = float("inf"),
        max_attempts: int = 8,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        settings: Settings | None = None,
    ) -> None:
        self.api = api
        trusted = api.operator_url is not None
        self.http = http or (egress.trusted_session() if trusted else egress.public_session())
        self.public = egress.public_session()
        # Without settings (tools, tests): the settings' defaults.
        self.limits = DownloadLimits.from_settings(settings) if settings else DownloadLimits()
        hosts = settings.bulk_result_hosts if settings else DownloadLimits.bulk_result_hosts
        self.bulk_hosts = frozenset(h.strip().lower() for h in hosts.split(",") if h.strip())
        self.max_inline_wait = max_inline_wait
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.sleep, self.clock = sleep, clock
        self.bucket = Bucket()
        self.costs: dict[str, int] = {}
        self.requests_sent = 0
        self.throttled = 0
        self.waited = 0.0

    def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if seconds > self.max_inline_wait:
            raise ThrottleWait(seconds)
        self.waited += seconds
        self.sleep(seconds)

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a query or mutation and return its `data`; raises ShopifyError subclasses."""
        for attempt in range(1, self.max_attempts + 1):
            cost = self.costs.get(query, MAX_QUERY_COST)
            self._pause(self.bucket.wait_for(cost, self.clock()))
            body = self._post({"query": query, "variables": variables or {}}, attempt)
            if body is None:
                continue
            extensions = (body.get("extensions") or {}).get("cost") or {}
            if extensions.get("throttleStatus"):
                self.bucket.update(extensions["throttleStatus"], self.clock())
            if extensions.get("requestedQueryCost") is not None:
                self.costs[query] = int(extensions["requestedQueryCost"])
            errors = body.get("errors")
            if isinstance(errors, list) and any(_code(e) == "THROTTLED" for e in errors):
                self.throttled += 1
                log.info("throttled", extra={"shop": self.api.shop_domain, "attempt": attempt})
                if self.bucket.maximum is None:
                    self._pause(_backoff(attempt))
                continue
            if errors:
                raise QueryError(errors if isinstance(errors, list) else [{"message": errors}])
            return dict(body.get("data") or {})
        raise ShopifyUnavailable(f"{self.api.shop_domain}: gave up after {self.max_attempts} tries")

    def _post(self, payload: dict[str, Any], attempt: int) -> dict[str, Any] | None:
        """One HTTP round trip; None means 'retry after the backoff already slept'."""
        headers = {"X-Shopify-Access-Token": self.api.access_token, "Accept": "application/json"}
        self.requests_sent += 1
        try:
            if self.api.operator_url is None:
                egress.require_https(self.api.graphql_url)
            response = self.http.post(
                self.api.graphql_url,
                json=payload,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except egress.EgressRefused as exc:
            raise AddressRefused(f"{self.api.shop_domain}: Admin API refused: {exc}") from exc
        except requests.RequestException as exc:
            log.warning(
                "admin api unreachable",
                extra={"shop": self.api.shop_domain, "error": str(exc)[:200]},
            )
            self._pause(_backoff(attempt))
            return None
        if response.status_code in (401, 403):
            _log_body(response, self.api.shop_domain)
            raise ShopifyAuthError(
                f"{self.api.shop_domain}: HTTP {response.status_code}: the token was refused"
            )
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = _seconds(response.headers.get("Retry-After"))
            self._pause(_backoff(attempt) if retry_after is None else retry_after)
            return None
        if response.status_code != 200:
            _log_body(response, self.api.shop_domain)
            raise ShopifyError(
                f"{self.api.shop_domain}: HTTP {response.status_code}: {_reason(response)}"
            )
        try:
            return dict(response.json())
        except ValueError as exc:
            raise ShopifyError(f"{self.api.shop_domain}: response is not JSON") from exc

    def stream_lines(self, url: str, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """The lines of a bulk result file, streamed within the download caps."""
        http = self._result_session(url)
        try:
            with http.get(
                url, stream=True, timeout=self.timeout, allow_redirects=False
            ) as response:
                if response.status_code in (400, 403):
                    raise ResultExpired(f"bulk result URL refused: HTTP {response.status_code}")
                if response.status_code != 200:
                    _log_body(response, self.api.shop_domain, streamed=True)
                    raise ShopifyError(
                        f"bulk result download: HTTP {response.status_code}: {_reason(response)}"
                    )
                size = response.headers.get("Content-Length", "")
                if size.isdigit() and int(size) > self.limits.max_bytes:
                    raise DownloadError(
                        f"the bulk result is larger than {self.limits.max_bytes} bytes"
                    )
                yield from capped_lines(_chunks(response, chunk_size), self.limits)
        except egress.EgressRefused as exc:
            raise AddressRefused(f"bulk result URL refused: {exc}") from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            log.warning(
                "bulk result download failed",
                extra={"shop": self.api.shop_domain, "error": str(exc)[:200]},
            )
            raise ShopifyUnavailable("bulk result download failed: connection error") from exc

    def _result_session(self, url: str) -> requests.Session:
        """The session allowed to fetch `url`; refuses any other host."""
        operator = self.api.operator_url
        if operator is not None and egress.origin(url) == egress.origin(operator):
            return self.http
        parts = urlsplit(url)
        if parts.scheme != "https" or (parts.hostname or "").lower() not in self.bulk_hosts:
            raise AddressRefused(
                f"bulk result URL refused: {parts.hostname or 'no host'} is not an HTTPS "
                "storage host of the Admin API"
            )
        egress.require_https(url)
        return self.public


def _chunks(response: requests.Response, size: int) -> Iterator[bytes]:
    """Whatever each read returns (at most `size`), so a trickling server meets the time cap."""
    raw = response.raw
    while chunk := raw.read1(size, decode_content=True):
        yield chunk


def _code(error: Any) -> str | None:
    return (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None


def _backoff(attempt: int) -> float:
    return min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value or ""))
    except ValueError:
        return None


def _reason(response: requests.Response) -> str:
    """A generic reason for a status: never the body, which the tenant could read back."""
    if 300 <= response.status_code < 400:
        return "redirects are not followed"
    return {400: "the request was refused", 404: "not found"}.get(
        response.status_code, "unexpected answer"
    )


def _log_body(response: requests.Response, shop: str, *, streamed: bool = False) -> None:
    """The start of an error answer, for the operator's logs only (a stream is read no further)."""
    try:
        head = response.raw.read(200) if streamed else response.content[:200]
    except (requests.RequestException, OSError, ValueError):
        head = b""
    log.warning(
        "admin api error answer",
        extra={
            "shop": shop,
            "status": response.status_code,
            "body": bytes(head or b"").decode("utf-8", "replace"),
        },
    )
