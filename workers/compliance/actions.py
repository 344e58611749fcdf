"""Act on compliance and app webhooks: redact or export a customer, erase a shop, uninstall.

The drain only records app/uninstalled, customers/data_request, customers/redact and shop/redact
in the event log (status `recorded`). A periodic job picks them up here, so none is lost when a
worker dies: an event leaves `recorded` in the same transaction that carries out its action.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import TransientError, is_transient
from core.settings import Settings
from core.topics import ACTED_ON_TOPICS
from models import ComplianceAction, CustomerExport, Tenant, WebhookEvent
from models.base import table_of
from models.db import session_scope
from workers.compliance import metrics
from workers.compliance.customer_data import Person, build_export, find_person, redact_customer
from writes.events import DeadDelivery, write_dead_letters

if TYPE_CHECKING:
    from workers.runtime import Resources

log = logging.getLogger(__name__)

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
ACTION_OF = {
    "customers/redact": "redact_customer",
    "customers/data_request": "export_customer",
    "shop/redact": "erase_shop",
    "app/uninstalled": "uninstall",
}


@dataclass
class Action:
    """What was done for one webhook: ids and counts only, never the data itself."""

    topic: str
    action: str
    outcome: str = "done"
    detail: dict[str, Any] = field(default_factory=dict)
    customer_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Recorded:
    """A recorded compliance or app webhook being acted on."""

    tenant: Tenant
    webhook_id: str
    topic: str
    payload: dict[str, Any]


def pending_events(session: Session, *, limit: int) -> list[tuple[uuid.UUID, str]]:
    """Recorded compliance and app webhooks not yet acted on, oldest first."""
    ev = table_of(WebhookEvent)
    rows = session.execute(
        select(ev.c.tenant_id, ev.c.webhook_id)
        .where(ev.c.status == "recorded", ev.c.topic.in_(sorted(ACTED_ON_TOPICS)))
        .order_by(ev.c.received_at)
        .limit(limit)
    )
    return [(r.tenant_id, r.webhook_id) for r in rows]


def act_on_event(session: Session, *, tenant_id: uuid.UUID, webhook_id: str) -> Action | None:
    """Carry out one recorded webhook; None when it is done or another worker has it."""
    ev = table_of(WebhookEvent)
    row = session.execute(
        select(ev.c.topic, ev.c.payload, ev.c.received_at)
        .where(ev.c.tenant_id == tenant_id, ev.c.webhook_id == webhook_id)
        .where(ev.c.status == "recorded")
        .with_for_update(skip_locked=True)
    ).first()
    tenant = session.get(Tenant, tenant_id)
    if row is None or tenant is None:
        return None
    payload = row.payload if isinstance(row.payload, dict) else {}
    event = Recorded(tenant, webhook_id, row.topic, payload)
    action = _refusal(tenant, row.topic, payload) or HANDLERS[row.topic](session, event)
    _record(session, event, action, row.received_at)
    if action.action != "erase_shop" or action.outcome != "done":
        session.execute(
            update(ev)
            .where(ev.c.tenant_id == tenant_id, ev.c.webhook_id == webhook_id)
            .values(status="processed" if action.outcome == "done" else "rejected")
            .values(error=action.reason)
        )
    return action


def _record(session: Session, event: Recorded, action: Action, received_at: datetime) -> None:
    topic, payload = event.topic, event.payload
    session.execute(
        insert(table_of(ComplianceAction))
        .values(
            tenant_id=event.tenant.id,
            webhook_id=event.webhook_id,
            topic=topic,
            action=action.action,
            outcome=action.outcome,
            shop_id=_id(payload.get("shop_id" if topic in COMPLIANCE_TOPICS else "id")),
            customer_id=action.customer_id,
            request_id=_request_id(payload),
            detail=action.detail,
            reason=action.reason,
            received_at=received_at,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "webhook_id"])
    )


def _refusal(tenant: Tenant, topic: str, payload: dict[str, Any]) -> Action | None:
    """The signature proves the sender; the body must still be about this very shop."""
    if topic in COMPLIANCE_TOPICS:
        claimed = payload.get("shop_domain")
        if not isinstance(claimed, str):
            return Action(topic, ACTION_OF[topic], "rejected", reason="body has no shop_domain")
    else:
        claimed = payload.get("myshopify_domain")
        if not isinstance(claimed, str):
            return None
    if claimed.strip().lower() != tenant.shop_domain:
        return Action(
            topic, ACTION_OF[topic], "rejected", reason="body names another shop than the sender"
        )
    return None


def _customer(payload: dict[str, Any]) -> tuple[int | None, str | None]:
    customer = payload.get("customer")
    if not isinstance(customer, dict):
        return None, None
    email = customer.get("email")
    return _id(customer.get("id")), email if isinstance(email, str) else None


def _person_of(session: Session, event: Recorded, orders_field: str) -> tuple[int, Person] | None:
    """The customer a compliance request names, with everything held about them."""
    customer_id, email = _customer(event.payload)
    if customer_id is None:
        return None
    person = find_person(
        session,
        tenant_id=event.tenant.id,
        customer_id=customer_id,
        email=email,
        order_ids=_ids(event.payload.get(orders_field)),
    )
    return customer_id, person


def _redact(session: Session, event: Recorded) -> Action:
    topic, tenant = event.topic, event.tenant
    found = _person_of(session, event, "orders_to_redact")
    if found is None:
        return Action(topic, "redact_customer", "rejected", reason="body has no customer id")
    customer_id, person = found
    counts = redact_customer(session, tenant_id=tenant.id, person=person)
    return Action(topic, "redact_customer", detail=counts, customer_id=customer_id)


def _export(session: Session, event: Recorded) -> Action:
    topic, tenant, payload = event.topic, event.tenant, event.payload
    found = _person_of(session, event, "orders_requested")
    if found is None:
        return Action(topic, "export_customer", "rejected", reason="body has no customer id")
    customer_id, person = found
    data = build_export(session, tenant_id=tenant.id, person=person)
    data = {"request": payload, "shop_domain": tenant.shop_domain, **data}
    export_id = session.scalar(
        insert(table_of(CustomerExport))
        .values(
            tenant_id=tenant.id,
            webhook_id=event.webhook_id,
            customer_id=customer_id,
            request_id=_request_id(payload),
            data=data,
        )
        .returning(table_of(CustomerExport).c.id)
    )
    counts: dict[str, Any] = {k: len(v) for k, v in data.items() if isinstance(v, list)}
    return Action(
        topic,
        "export_customer",
        detail={"export_id": str(export_id), **counts},
        customer_id=customer_id,
    )


def _erase_shop(session: Session, event: Recorded) -> Action:
    tenant = event.tenant
    # Earlier action records name customers of this shop; only the erasure itself remains.
    actions = table_of(ComplianceAction)
    session.execute(delete(actions).where(actions.c.tenant_id == tenant.id))
    # Every tenant table cascades from the tenant row.
    session.execute(delete(table_of(Tenant)).where(table_of(Tenant).c.id == tenant.id))
    return Action("shop/redact", "erase_shop")


def _uninstall(session: Session, event: Recorded) -> Action:
    tenant = event.tenant
    previous = tenant.status
    tenant.status = "uninstalled"
    session.flush()
    return Action("app/uninstalled", "uninstall", detail={"previous_status": previous})


HANDLERS: dict[str, Callable[[Session, Recorded], Action]] = {
    "customers/redact": _redact,
    "customers/data_request": _export,
    "shop/redact": _erase_shop,
    "app/uninstalled": _uninstall,
}


def act_on_recorded_events(res: Resources, *, limit: int = 100) -> list[Action]:
    """Act on pending compliance and app webhooks, one transaction each, so that one failure
    holds up no other; one that keeps failing becomes a dead letter."""
    settings = res.settings
    with session_scope(settings.database_url) as session:
        keys = pending_events(session, limit=limit)
    done = []
    for tenant_id, webhook_id in keys:
        started = time.perf_counter()
        try:
            with session_scope(settings.database_url) as session:
                action = act_on_event(session, tenant_id=tenant_id, webhook_id=webhook_id)
        except Exception as exc:
            if is_transient(exc):
                raise TransientError(str(exc)) from exc
            _note_failure(settings, tenant_id, webhook_id, exc)
            continue
        if action is None:
            continue
        res.bump_versions([tenant_id])
        metrics.ACTIONS.labels(action.topic, action.outcome).inc()
        metrics.ACTION_SECONDS.labels(action.topic).observe(time.perf_counter() - started)
        log.info(
            "compliance action",
            extra={
                "tenant": str(tenant_id),
                "webhook_id": webhook_id,
                "topic": action.topic,
                "action": action.action,
                "outcome": action.outcome,
            },
        )
        done.append(action)
    return done


def _note_failure(
    settings: Settings, tenant_id: uuid.UUID, webhook_id: str, exc: Exception
) -> None:
    """Leave the event pending with its error (the next run retries it); after
    `compliance_max_attempts` failures, make it a dead letter instead, where operators look."""
    log.exception(
        "compliance action failed", extra={"tenant": str(tenant_id), "webhook_id": webhook_id}
    )
    ev = table_of(WebhookEvent)
    error = f"{type(exc).__name__}: {exc}"[:2000]
    with session_scope(settings.database_url) as session:
        failed = session.execute(
            update(ev)
            .where(ev.c.tenant_id == tenant_id, ev.c.webhook_id == webhook_id)
            .values(attempts=ev.c.attempts + 1, error=error)
            .returning(ev)
        ).one_or_none()
        if failed is None:
            return
        dead = failed.attempts > settings.compliance_max_attempts
        if dead:
            session.execute(
                update(ev)
                .where(ev.c.tenant_id == tenant_id, ev.c.webhook_id == webhook_id)
                .values(status="failed")
            )
            write_dead_letters(session, [_dead_letter(failed, error)])
    metrics.ACTIONS.labels(failed.topic, "dead" if dead else "error").inc()
    if dead:
        log.error(
            "compliance action gave up; dead-lettered",
            extra={"tenant": str(tenant_id), "webhook_id": webhook_id, "topic": failed.topic},
        )


def _dead_letter(event: Any, error: str) -> DeadDelivery:
    """The dead letter of an event the job gave up on; replaying it re-arms the event."""
    return DeadDelivery(
        tenant_id=event.tenant_id,
        webhook_id=event.webhook_id,
        event_id=event.event_id or "",
        topic=event.topic,
        triggered_at=event.triggered_at.isoformat() if event.triggered_at else "",
        api_version=event.api_version or "",
        received_at=event.received_at.isoformat(),
        body=json.dumps(event.payload).encode() if event.payload is not None else b"{}",
        error=f"gave up after {event.attempts - 1} failed attempts: {error}"[:4000],
        attempts=event.attempts,
        stream_entry_id=event.stream_entry_id,
        created_at=datetime.now(UTC),
    )


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ids(values: Any) -> list[int]:
    return [i for v in values if (i := _id(v)) is not None] if isinstance(values, list) else []


def _request_id(payload: dict[str, Any]) -> str | None:
    request = payload.get("data_request")
    if isinstance(request, dict) and request.get("id") is not None:
        return str(request["id"])[:255]
    return None
