"""Settings, read from the environment once into a frozen dataclass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy.engine import URL, make_url

from core.crypto import key_problem
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
    # Admission per tenant: a token bucket (deliveries and ingest items per second, burst) and
    # a cap on its un-drained entries in its shard; past either the receiver answers 429.
    tenant_rate: float = 500.0
    tenant_burst: int = 5000
    tenant_backlog_max: int = 5000
    # Redis memory: the receiver answers 503 once the streams hold this many bytes, or once
    # Redis' used_memory is within queue_memory_headroom of its maxmemory (kept for the broker
    # and beat's lock).
    stream_max_bytes: int = 512 * 1024 * 1024
    queue_memory_headroom: float = 0.2
    # A trickling client's body is cut off (408) after this many seconds.
    body_read_seconds: float = 10.0
    # Entries a drain reads ahead of the batch it writes, so one tenant's flood cannot stand
    # in front of another tenant's entries.
    drain_fair_window: int = 5000
    secret_cache_seconds: float = 10.0
    secret_grace_seconds: int = 3600
    drain_batch_size: int = 500
    drain_block_ms: int = 50
    drain_time_budget: float = 10.0
    drain_interval: float = 0.5
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
    # shop/redact and customers/redact wait for the owner's confirmation (operations.md,
    # "Compliance webhooks"); Shopify expects them carried out within this many days.
    compliance_confirm_days: int = 30
    # Who owns a shop (docs/api.md#shop-verification). The Shopify app whose OAuth install
    # proves control of a shop (empty client id: only Admin API tokens verify).
    shopify_client_id: str = ""
    shopify_client_secret: str = ""
    shopify_scopes: str = "read_orders,read_customers,read_products"
    shopify_redirect_url: str = ""  # the dashboard page Shopify sends the merchant back to
    # Where a shop's admin lives, `{shop}` being its domain; operators point it at the fake
    # Admin API for local use and tests. Never a tenant's choice.
    shop_url_template: str = "https://{shop}"
    oauth_state_seconds: int = 600
    register_max_per_address: int = 20  # registrations per client address per window
    register_window_seconds: int = 3600
    retention_interval: float = 300.0
    retention_batch_size: int = 1000  # per tenant per batch
    # Customer exports (answers to customers/data_request) are deleted this many days after
    # they were made: long enough for the merchant to hand them over.
    export_retention_days: int = 30
    # The dashboard API's connection, as the RLS-restricted role; empty: database_url's server
    # and database with the user replaced by API_DB_ROLE.
    api_database_url: str = ""
    access_token_seconds: int = 900
    refresh_token_seconds: int = 30 * 24 * 3600
    invite_seconds: int = 7 * 24 * 3600
    # Sessions and passwords (docs/api.md#sessions): a login's refresh chain ends
    # session_max_seconds after the login however often it is refreshed.
    session_max_seconds: int = 30 * 24 * 3600
    password_reset_seconds: int = 24 * 3600
    # Failed logins (docs/api.md#login-limits), all within login_window_seconds:
    # per account and client address (or per device cookie), then that pair is refused;
    login_max_failures: int = 5
    # per account from any address, then clients without its device cookie slow down to one
    # attempt per login_slowdown_seconds;
    login_max_failures_per_account: int = 10
    login_slowdown_seconds: int = 10
    # per client address across accounts (credential stuffing), then only clients with a
    # device cookie get through from that address.
    login_max_failures_per_address: int = 100
    login_window_seconds: int = 900
    device_cookie_seconds: int = 180 * 24 * 3600
    proxy_hops: int = 0  # reverse proxies in front of the dashboard API (X-Forwarded-For)
    hsts_seconds: int = 0  # >0: Strict-Transport-Security on both apps (served over HTTPS)
    # The receiver's address as Shopify reaches it (the dashboard shows it with the app's
    # webhook subscriptions); `cartwheel run` sets its own.
    receiver_public_url: str = ""
    # Other origins whose pages may call the dashboard API with bearer tokens (CORS), comma
    # separated, e.g. "https://admin.example.com"; none by default.
    cors_origins: str = ""
    worker_metrics_port: int = 9808  # 0: the worker serves no metrics endpoint
    worker_metrics_host: str = "127.0.0.1"
    # Admin API pulls (backfill, reconcile). backfill_dir: where bulk results are split while
    # a backfill runs (empty: the system temp directory).
    backfill_dir: str = ""
    backfill_bucket_bytes: int = 4 * 1024 * 1024
    bulk_poll_interval: float = 2.0
    reconcile_interval: float = 900.0
    # Customer analytics (RFM, cohorts) of every tenant are recomputed this often: nightly.
    analytics_interval: float = 86400.0
    # Predictive CLV (docs/metrics.md, "Predictive CLV"): every tenant refitted this often;
    # a fit needs this much history and this many repeat customers before the holdout, and
    # reports its quality on the last clv_holdout_days days.
    clv_interval: float = 86400.0
    clv_min_history_days: int = 180
    clv_min_repeat_customers: int = 50
    clv_holdout_days: int = 90
    reconcile_overlap_seconds: int = 600
    reconcile_lookback_seconds: int = 86400  # the first reconcile of a resource with no watermark
    # Bulk result files are fetched only over HTTPS from these hosts (comma-separated), or
    # from the origin of an operator-configured Admin API URL; each download is capped.
    bulk_result_hosts: str = "storage.googleapis.com"
    download_max_bytes: int = 10 * 1024**3
    download_max_line_bytes: int = 16 * 1024**2
    download_max_seconds: float = 2 * 3600.0
    # A wait (rate limit, Retry-After, backoff) longer than this reschedules the sync job
    # instead of sleeping in the worker.
    sync_max_inline_wait: float = 1.0
    # A backfill or reconcile run still unfinished this long after it started fails (its
    # checkpoint kept: starting it again resumes there).
    sync_run_deadline: float = 6 * 3600.0
    sync_metrics_port: int = 9809  # the sync worker's metrics endpoint; 0: none

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
        problem = key_problem(values["secret_keys"])
        if problem:
            raise SettingsError(f"CARTWHEEL_SECRET_KEYS {problem}: refusing to start")
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
