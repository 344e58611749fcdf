"""Settings, read from the environment once into a frozen dataclass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy.engine import URL, make_url

from core.errors import CartwheelError

# The role the dashboard API connects as: owns nothing, cannot bypass row-level security.
API_DB_ROLE = "cartwheel_api"


class SettingsError(CartwheelError, ValueError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a cartwheel process."""

    database_url: str
    redis_url: str
    secret_keys: str
    namespace: str = "cartwheel"
    stream_shards: int = 4
    max_body_bytes: int = 5 * 1024 * 1024
    queue_high_water: int = 1_000_000
    secret_cache_seconds: float = 10.0
    secret_grace_seconds: int = 3600
    drain_batch_size: int = 500
    drain_block_ms: int = 50
    drain_time_budget: float = 10.0
    drain_interval: float = 1.0
    reclaim_idle_ms: int = 60_000
    reclaim_interval: float = 15.0
    max_deliveries: int = 5
    log_level: str = "INFO"
    # Beat: a standby takes over at most beat_lock_timeout + beat_max_loop_interval after the
    # active beat dies; the active one renews its lock every loop, so the loop must be shorter.
    beat_lock_timeout: int = 30
    beat_max_loop_interval: float = 5.0
    sweep_interval: float = 60.0
    sweep_tenants_per_batch: int = 100
    sweep_rows_per_tenant: int = 500  # per tenant per batch, so no tenant stalls the others
    sweep_time_budget: float = 45.0
    compliance_interval: float = 10.0
    compliance_max_attempts: int = 5  # then the event becomes a dead letter an operator replays
    retention_interval: float = 300.0
    retention_batch_size: int = 1000  # per tenant per batch
    # The dashboard API's connection, as the RLS-restricted role; empty: database_url's server
    # and database with the user replaced by API_DB_ROLE.
    api_database_url: str = ""
    access_token_seconds: int = 900
    refresh_token_seconds: int = 30 * 24 * 3600
    invite_seconds: int = 7 * 24 * 3600
    login_max_failures: int = 5  # per account, within login_window_seconds
    login_max_failures_per_address: int = 20  # per client address, within the window
    login_window_seconds: int = 900
    proxy_hops: int = 0  # reverse proxies in front of the dashboard API (X-Forwarded-For)
    worker_metrics_port: int = 9808  # 0: the worker serves no metrics endpoint
    worker_metrics_host: str = "127.0.0.1"
    # Admin API pulls (backfill, reconcile). backfill_dir: where bulk results are split while
    # a backfill runs (empty: the system temp directory).
    backfill_dir: str = ""
    backfill_bucket_bytes: int = 4 * 1024 * 1024
    bulk_poll_interval: float = 2.0
    reconcile_interval: float = 900.0
    reconcile_overlap_seconds: int = 600
    reconcile_lookback_seconds: int = 86400  # the first reconcile of a resource with no watermark
    # A throttle wait longer than this reschedules the tenant's reconcile instead of sleeping.
    sync_max_inline_wait: float = 5.0

    @property
    def api_db_url(self) -> str:
        """The dashboard API's database URL (api_database_url, or derived from database_url)."""
        if self.api_database_url:
            return self.api_database_url
        url = make_url(self.database_url.replace("postgres://", "postgresql://", 1))
        api = URL.create(
            url.drivername, API_DB_ROLE, None, url.host, url.port, url.database, url.query
        )
        return api.render_as_string(hide_password=False)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some settings changed (tests and the launcher use this)."""
        return replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a child process."""
        return {_env_name(f.name): str(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from CARTWHEEL_* variables plus DATABASE_URL and REDIS_URL."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            name = field.name
            raw = env.get(_env_name(name))
            if raw is None or raw == "":
                continue
            values[name] = _coerce(name, raw, field.type)
        for required in ("database_url", "redis_url", "secret_keys"):
            if required not in values:
                raise SettingsError(f"{_env_name(required)} is not set")
        return cls(**values)


_PLAIN_NAMES = {"database_url": "DATABASE_URL", "redis_url": "REDIS_URL"}


def _env_name(name: str) -> str:
    return _PLAIN_NAMES.get(name, f"CARTWHEEL_{name.upper()}")


def _coerce(name: str, raw: str, annotation: Any) -> Any:
    kind = str(annotation)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{_env_name(name)} must be a number, got {raw!r}") from exc
    return raw
