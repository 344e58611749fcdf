"""Settings, read from the environment once into a frozen dataclass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


class SettingsError(ValueError):
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

    @property
    def stream_keys(self) -> list[str]:
        """Every stream shard key, in shard order."""
        return [f"{self.namespace}:events:{n}" for n in range(self.stream_shards)]

    @property
    def consumer_group(self) -> str:
        return f"{self.namespace}-workers"

    @property
    def celery_queue(self) -> str:
        return f"{self.namespace}-tasks"

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
