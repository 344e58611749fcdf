"""Retention: raw payloads leave the event log after the tenant's period; the metadata stays."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import select

from core.settings import Settings
from models import Order, WebhookEvent
from models.db import session_scope
from tests.support.lifecycle_data import (
    T0,
    cart,
    compliance_body,
    order,
    send,
    sender_for,
    set_tenant,
)
from workers.compliance.actions import act_on_recorded_events
from workers.retention.purge import purge_expired_payloads, purge_payloads
from workers.runtime import Resources


def events(settings: Settings, tenant_id: uuid.UUID) -> dict[str, tuple[Any, ...]]:
    """webhook id -> (topic, status, received_at, event id, api version, payload kept?)"""
    with session_scope(settings.database_url) as s:
        rows = s.scalars(select(WebhookEvent).where(WebhookEvent.tenant_id == tenant_id))
        return {
            e.webhook_id: (
                e.topic,
                e.status,
                e.received_at,
                e.event_id,
                e.api_version,
                e.payload is not None,
            )
            for e in rows
        }


def kept(settings: Settings, tenant_id: uuid.UUID) -> int:
    return sum(1 for v in events(settings, tenant_id).values() if v[-1])


def metadata(snapshot: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    return {k: v[:-1] for k, v in snapshot.items()}


def test_payloads_are_purged_after_each_tenants_retention_and_metadata_stays(
    client: FlaskClient, settings: Settings, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    month, week = make_tenant(), make_tenant()
    set_tenant(settings, week["id"], raw_retention_days=7)
    for t in (month, week):
        send(
            sender_for(client, t),
            settings,
            ("orders/create", order(10, at=T0)),
            ("carts/create", cart("k", at=T0)),
            ("carts/update", cart("k", at=T0)),
        )
    before = {t["id"]: events(settings, t["id"]) for t in (month, week)}
    now = datetime.now(UTC)

    assert purge_expired_payloads(Resources(settings), now=now + timedelta(days=6)) == 0
    assert purge_expired_payloads(Resources(settings), now=now + timedelta(days=8)) == 3
    assert (kept(settings, month["id"]), kept(settings, week["id"])) == (3, 0)
    assert purge_expired_payloads(Resources(settings), now=now + timedelta(days=31)) == 3
    assert purge_expired_payloads(Resources(settings), now=now + timedelta(days=31)) == 0

    for t in (month, week):
        assert kept(settings, t["id"]) == 0
        assert metadata(events(settings, t["id"])) == metadata(before[t["id"]])
    # The entity tables keep their current state, payload included.
    with session_scope(settings.database_url) as s:
        assert all(o.payload for o in s.scalars(select(Order)))


def test_the_purge_works_in_bounded_batches(
    client: FlaskClient, settings: Settings, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenants = [make_tenant() for _ in range(2)]
    for t in tenants:
        send(
            sender_for(client, t),
            settings,
            *[("carts/update", cart(f"k{i}", at=T0)) for i in range(5)],
        )
    later = datetime.now(UTC) + timedelta(days=31)

    with session_scope(settings.database_url) as s:
        batch = purge_payloads(s, now=later, per_tenant=2)
    assert batch.counts == {t["id"]: 2 for t in tenants}
    assert batch.full

    purged_before = (
        REGISTRY.get_sample_value("cartwheel_sweep_rows_total", {"sweep": "payloads"}) or 0
    )
    small = settings.with_overrides(retention_batch_size=2, sweep_tenants_per_batch=1)
    assert purge_expired_payloads(Resources(small), now=later) == 6
    assert [kept(settings, t["id"]) for t in tenants] == [0, 0]
    purged = REGISTRY.get_sample_value("cartwheel_sweep_rows_total", {"sweep": "payloads"})
    assert purged == purged_before + 6


def test_a_compliance_webhook_keeps_its_payload_until_it_is_acted_on(
    client: FlaskClient, settings: Settings, tenant: dict[str, Any]
) -> None:
    body = compliance_body("customers_data_request", tenant["shop"])
    send(sender_for(client, tenant), settings, ("customers/data_request", body))
    later = datetime.now(UTC) + timedelta(days=31)

    assert purge_expired_payloads(Resources(settings), now=later) == 0
    [(topic, status, *_rest, has_payload)] = events(settings, tenant["id"]).values()
    assert (topic, status, has_payload) == ("customers/data_request", "recorded", True)

    [action] = act_on_recorded_events(Resources(settings))
    assert action.outcome == "done"
    assert purge_expired_payloads(Resources(settings), now=later) == 1


def test_a_redaction_held_for_the_owner_keeps_its_payload(
    client: FlaskClient, settings: Settings, tenant: dict[str, Any]
) -> None:
    body = compliance_body("customers_redact", tenant["shop"])
    send(sender_for(client, tenant), settings, ("customers/redact", body))
    [action] = act_on_recorded_events(Resources(settings))
    assert action.outcome == "held"
    later = datetime.now(UTC) + timedelta(days=31)
    assert purge_expired_payloads(Resources(settings), now=later) == 0
    [(topic, status, *_rest, has_payload)] = events(settings, tenant["id"]).values()
    assert (topic, status, has_payload) == ("customers/redact", "held", True)


def test_a_notification_that_is_only_recorded_is_purged_too(
    client: FlaskClient, settings: Settings, tenant: dict[str, Any]
) -> None:
    body = {"admin_graphql_api_id": "gid://shopify/BulkOperation/1", "status": "completed"}
    send(sender_for(client, tenant), settings, ("bulk_operations/finish", body))
    [(topic, status, *_, payload_kept)] = events(settings, tenant["id"]).values()
    assert (topic, status, payload_kept) == ("bulk_operations/finish", "recorded", True)
    later = datetime.now(UTC) + timedelta(days=31)
    assert purge_expired_payloads(Resources(settings), now=later) == 1
    assert kept(settings, tenant["id"]) == 0
