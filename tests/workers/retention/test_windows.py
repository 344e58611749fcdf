"""Retention of dead letters, personal data in entity payloads and customer exports.

Each window: rows older than it lose their data when the retention job's purges run, newer ones
keep it, another tenant's rows are untouched, and running the purges again changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select, update

from core.settings import Settings
from models import Customer, CustomerExport, DeadLetter, Order, Tenant
from models.db import session_scope
from tests.support.faults_events import wait_until
from tests.support.lifecycle_data import T0, customer, order, send, sender_for, set_tenant
from tests.support.processes import celery_beat, celery_worker
from workers.retention.sweeps import purge_expired
from workers.runtime import Resources

PERSON = {"email": "ada@example.com", "first": "Ada", "last": "Lovelace", "phone": "+4420123"}


def dead_letters(settings: Settings, tenant_id: uuid.UUID) -> list[str]:
    with session_scope(settings.database_url) as s:
        rows = s.scalars(select(DeadLetter.webhook_id).where(DeadLetter.tenant_id == tenant_id))
        return sorted(rows)


def poison(client: FlaskClient, settings: Settings, tenant: dict[str, Any], n: int = 1) -> None:
    """Deliveries the drain cannot apply: each becomes a dead letter with its body."""
    send(sender_for(client, tenant), settings, *[("orders/create", {"id": "x"})] * n)


def run(settings: Settings, at: datetime) -> dict[str, int]:
    return purge_expired(Resources(settings), now=at)


def test_dead_letters_leave_after_the_tenants_window_replayed_or_not(
    client: FlaskClient, settings: Settings, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    week, month = make_tenant(), make_tenant()
    set_tenant(settings, week["id"], dead_letter_retention_days=7)
    poison(client, settings, week, 2)
    poison(client, settings, month, 1)
    with session_scope(settings.database_url) as s:  # an operator replayed one of them
        first = s.scalars(select(DeadLetter).where(DeadLetter.tenant_id == week["id"])).first()
        assert first is not None
        first.replayed_at = datetime.now(UTC)
    now = datetime.now(UTC)

    assert run(settings, now + timedelta(days=6))["dead_letters"] == 0
    assert (len(dead_letters(settings, week["id"])), len(dead_letters(settings, month["id"]))) == (
        2,
        1,
    )
    assert run(settings, now + timedelta(days=8))["dead_letters"] == 2
    assert dead_letters(settings, week["id"]) == []
    assert len(dead_letters(settings, month["id"])) == 1  # the default window is 30 days
    assert run(settings, now + timedelta(days=31))["dead_letters"] == 1
    assert run(settings, now + timedelta(days=31))["dead_letters"] == 0
    assert dead_letters(settings, month["id"]) == []


def stored(settings: Settings, tenant_id: uuid.UUID) -> tuple[Any, Any]:
    """(the customer row, the order row) of the tenant."""
    with session_scope(settings.database_url) as s:
        c = s.scalars(select(Customer).where(Customer.tenant_id == tenant_id)).one()
        o = s.scalars(select(Order).where(Order.tenant_id == tenant_id)).one()
        s.expunge_all()
        return c, o


def age(settings: Settings, tenant_id: uuid.UUID, days: int) -> None:
    """Make the tenant's stored versions `days` older, as if they had been written then."""
    with session_scope(settings.database_url) as s:
        for model in (Customer, Order):
            s.execute(
                update(model)
                .where(model.tenant_id == tenant_id)
                .values(ingested_at=model.ingested_at - timedelta(days=days))
            )


def shop_with_a_person(client: FlaskClient, settings: Settings, tenant: dict[str, Any]) -> None:
    person = customer(7, **PERSON)
    send(
        sender_for(client, tenant),
        settings,
        ("customers/create", person),
        ("orders/create", order(70, at=T0, customer=person, email=PERSON["email"])),
    )


def test_personal_fields_leave_entity_payloads_after_the_pii_window(
    client: FlaskClient, settings: Settings, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    short, default = make_tenant(), make_tenant()
    set_tenant(settings, short["id"], pii_retention_days=7)
    for t in (short, default):
        shop_with_a_person(client, settings, t)
        age(settings, t["id"], 8)
    before_c, before_o = stored(settings, short["id"])
    untouched = stored(settings, default["id"])
    assert PERSON["email"] in str(before_c.payload) and "Lovelace" in str(before_o.payload)

    assert run(settings, datetime.now(UTC))["entity_pii"] == 2
    c, o = stored(settings, short["id"])
    for payload in (c.payload, o.payload):
        text = str(payload)
        assert all(v not in text for v in ("ada@example.com", "Ada", "Lovelace", "+4420123"))
    # What metrics and the data API need stays: ids, amounts, dates, typed columns.
    assert c.payload["id"] == 7 and c.payload["created_at"] == before_c.payload["created_at"]
    assert o.payload["total_price"] == before_o.payload["total_price"]
    assert o.payload["customer"]["id"] == 7
    assert [li["id"] for li in o.payload["line_items"]] == [
        li["id"] for li in before_o.payload["line_items"]
    ]
    assert (c.email, c.first_name, o.total_price) == (
        before_c.email,
        before_c.first_name,
        before_o.total_price,
    )
    assert c.payload_redacted_at is not None
    # Within its window (90 days by default), the other tenant's payloads are whole.
    assert [r.payload for r in stored(settings, default["id"])] == [r.payload for r in untouched]
    assert run(settings, datetime.now(UTC))["entity_pii"] == 0  # idempotent


def test_a_newer_version_brings_a_whole_payload_due_in_its_turn(
    client: FlaskClient, settings: Settings, tenant: dict[str, Any]
) -> None:
    set_tenant(settings, tenant["id"], pii_retention_days=7)
    shop_with_a_person(client, settings, tenant)
    age(settings, tenant["id"], 8)
    assert run(settings, datetime.now(UTC))["entity_pii"] == 2

    newer = customer(7, **PERSON, at=T0) | {"updated_at": "2026-04-01T00:00:00Z"}
    send(sender_for(client, tenant), settings, ("customers/update", newer))
    c, _ = stored(settings, tenant["id"])
    assert c.payload["email"] == PERSON["email"]  # a fresh version, kept for its window
    assert run(settings, datetime.now(UTC))["entity_pii"] == 0
    later = datetime.now(UTC) + timedelta(days=8)
    assert run(settings, later)["entity_pii"] == 1
    c, _ = stored(settings, tenant["id"])
    assert "email" not in c.payload or c.payload["email"] is None


def add_export(
    settings: Settings, tenant_id: uuid.UUID, customer_id: int, made: datetime
) -> uuid.UUID:
    with session_scope(settings.database_url) as s:
        export = CustomerExport(
            tenant_id=tenant_id,
            webhook_id=str(uuid.uuid4()),
            customer_id=customer_id,
            created_at=made,
            data={"customer": {"id": customer_id, "email": "ada@example.com"}},
        )
        s.add(export)
        s.flush()
        return export.id


def exports(settings: Settings, tenant_id: uuid.UUID) -> set[uuid.UUID]:
    with session_scope(settings.database_url) as s:
        q = select(CustomerExport.id).where(CustomerExport.tenant_id == tenant_id)
        return set(s.scalars(q))


def test_customer_exports_are_deleted_after_the_export_window(
    settings: Settings, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    a, b = make_tenant(), make_tenant()
    now = datetime.now(UTC)
    old_a = add_export(settings, a["id"], 1, now - timedelta(days=31))
    new_a = add_export(settings, a["id"], 2, now - timedelta(days=29))
    new_b = add_export(settings, b["id"], 1, now - timedelta(days=1))

    assert run(settings, now)["exports"] == 1
    assert exports(settings, a["id"]) == {new_a} and old_a not in exports(settings, a["id"])
    assert exports(settings, b["id"]) == {new_b}
    assert run(settings, now)["exports"] == 0
    short = settings.with_overrides(export_retention_days=1)
    assert purge_expired(Resources(short), now=now + timedelta(days=2))["exports"] == 2
    assert exports(settings, a["id"]) == exports(settings, b["id"]) == set()


def test_the_purges_work_in_bounded_batches(
    client: FlaskClient, settings: Settings, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenants = [make_tenant() for _ in range(2)]
    for t in tenants:
        poison(client, settings, t, 3)
    small = settings.with_overrides(retention_batch_size=2, sweep_tenants_per_batch=1)
    later = datetime.now(UTC) + timedelta(days=31)
    assert purge_expired(Resources(small), now=later)["dead_letters"] == 6
    assert [dead_letters(settings, t["id"]) for t in tenants] == [[], []]


def test_the_owner_reads_and_sets_the_windows(
    api_client: FlaskClient, owner: dict[str, Any], settings: Settings
) -> None:
    got = api_client.get("/api/tenant/lifecycle", headers=owner["headers"]).get_json()
    assert (got["raw_retention_days"], got["dead_letter_retention_days"]) == (30, 30)
    assert got["pii_retention_days"] == 90
    changed = api_client.patch(
        "/api/tenant/lifecycle",
        json={"dead_letter_retention_days": 14, "pii_retention_days": 7},
        headers=owner["headers"],
    )
    assert changed.status_code == 200, changed.get_json()
    assert (
        changed.get_json()["dead_letter_retention_days"],
        changed.get_json()["pii_retention_days"],
    ) == (14, 7)
    refused = api_client.patch(
        "/api/tenant/lifecycle", json={"pii_retention_days": 0}, headers=owner["headers"]
    )
    assert refused.status_code == 400
    assert "pii_retention_days" in refused.get_json()["fields"]
    with session_scope(settings.database_url) as s:
        assert s.get(Tenant, uuid.UUID(owner["tenant_id"])).pii_retention_days == 7


def test_the_scheduled_retention_job_applies_every_window(
    client: FlaskClient, settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    """A real beat schedules the job, a real worker runs it: expired rows go, fresh ones stay."""
    poison(client, settings, tenant, 2)
    with session_scope(settings.database_url) as s:
        old = s.scalars(select(DeadLetter).where(DeadLetter.tenant_id == tenant["id"])).first()
        assert old is not None
        old.created_at = datetime.now(UTC) - timedelta(days=31)
    now = datetime.now(UTC)
    stale = add_export(settings, tenant["id"], 1, now - timedelta(days=31))
    fresh = add_export(settings, tenant["id"], 2, now)
    s = settings.with_overrides(
        retention_interval=1.0, drain_interval=30.0, sweep_interval=60.0, compliance_interval=60.0
    )
    with celery_worker(s, tmp_path), celery_beat(s, tmp_path):
        wait_until(
            lambda: (
                stale not in exports(settings, tenant["id"])
                and len(dead_letters(settings, tenant["id"])) == 1
            ),
            60,
            "the retention job to run",
        )
    assert exports(settings, tenant["id"]) == {fresh}
