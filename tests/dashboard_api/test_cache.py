"""Every writer, not only the drain, invalidates the tenant's cached dashboard answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from core.settings import Settings
from core.versions import version_key
from tests.support.pipeline import drain_all
from tests.support.samples import sample_json
from tests.support.webhooks import Sender
from workers.abandonment.sweeps import sweep_abandoned
from workers.runtime import Resources


def _version(client: redis.Redis, settings: Settings, tenant_id: object) -> int:
    return int(client.get(version_key(settings.namespace, str(tenant_id))) or 0)


def test_drain_and_abandonment_sweep_both_bump_the_version(
    sender: Sender, settings: Settings, redis_client: redis.Redis, tenant: dict[str, object]
) -> None:
    assert _version(redis_client, settings, tenant["id"]) == 0
    checkout = sample_json("checkouts_create") | {"updated_at": "2024-01-01T00:00:00Z"}
    sender.send("checkouts/create", checkout)
    drain_all(settings)
    after_drain = _version(redis_client, settings, tenant["id"])
    assert after_drain >= 1
    swept = sweep_abandoned(Resources(settings), now=datetime.now(UTC) + timedelta(days=1))
    assert swept["checkouts"] == 1
    assert _version(redis_client, settings, tenant["id"]) > after_drain


def test_a_sweep_that_changes_nothing_leaves_versions_alone(
    settings: Settings, redis_client: redis.Redis, tenant: dict[str, object]
) -> None:
    sweep_abandoned(Resources(settings), now=datetime.now(UTC))
    assert _version(redis_client, settings, tenant["id"]) == 0
