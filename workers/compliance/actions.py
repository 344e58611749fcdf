"""Act on compliance and app webhooks: redact or export a customer, erase a shop, uninstall,
take a shop's new time zone.

The drain only records app/uninstalled, shop/update, customers/data_request, customers/redact
and shop/redact in the event log (status `recorded`). A periodic job picks them up here, so none
is lost when a worker dies: an event leaves `recorded` in the same transaction that carries out
its action.

A valid signature proves only that the sender knows the webhook secret, so shop/redact and
customers/redact are not carried out at once: each becomes a hold (`shops.holds`, event status
`held`) and is carried out, or dropped, once the owner or an operator decides.
"""

from __future__ import annotations

import logging
import time
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, exists, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core import jobs
from core.errors import TransientError, is_transient
from core.topics import ACTED_ON_TOPICS
from models import ComplianceAction, ComplianceHold, CustomerExport, Tenant, WebhookEvent
from models.base import table_of
from models.db import session_scope
from shops.holds import DESTRUCTIVE_TOPICS, decision_of, hold_request
from workers.compliance import metrics
from workers.compliance.customer_data import Person, build_export, find_person, redact_customer
from workers.compliance.failures import note_failure

if TYPE_CHECKING:
    from workers.runtime import Resources

log = logging.getLogger(__name__)

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
ACTION_OF = {
    "customers/redact": "redact_customer",
    "customers/data_request": "export_customer",
    "shop/redact": "erase_shop",
    "app/uninstalled": "uninstall",
    "shop/update": "update_shop",
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
    """Recorded compliance and app webhooks not yet acted on, and held ones now decided,
    oldest first."""
    ev = table_of(WebhookEvent)
    holds = table_of(ComplianceHold)
    decided = exists().where(
        holds.c.tenant_id == ev.c.tenant_id,
        holds.c.webhook_id == ev.c.webhook_id,
        holds.c.decided_at.is_not(None),
    )
    rows = session.execute(
        select(ev.c.tenant_id, ev.c.webhook_id)
        .where(or_(ev.c.status == "recorded", and_(ev.c.status == "held", decided)))
        .where(ev.c.topic.in_(sorted(ACTED_ON_TOPICS)))
        .order_by(ev.c.received_at)
        .limit(limit)
    )
    return [(r.tenant_id, r.webhook_id) for r in rows]


def act_on_event(
    session: Session, *, tenant_id: uuid.UUID, webhook_id: str, confirm_days: int = 30
) -> Action | None:
    """Carry out one recorded webhook (or hold a destructive one); None when it is done,
    still waiting for a decision, or another worker has it."""
    ev = table_of(WebhookEvent)
    row = session.execute(
        select(ev.c.topic, ev.c.payload, ev.c.received_at)
        .where(ev.c.tenant_id == tenant_id, ev.c.webhook_id == webhook_id)
        .where(ev.c.status.in_(("recorded", "held")))
        .with_for_update(skip_locked=True)
    ).first()
    tenant = session.get(Tenant, tenant_id)
    if row is None or tenant is None:
        return None
    payload = row.payload if isinstance(row.payload, dict) else {}
    event = Recorded(tenant, webhook_id, row.topic, payload)
    action = _refusal(tenant, row.topic, payload)
    if action is None and row.topic in DESTRUCTIVE_TOPICS:
        decision = decision_of(session, tenant_id=tenant_id, webhook_id=webhook_id)
        if decision is None:
            return _hold(session, event, row.received_at, confirm_days)
        if decision == "held":
            return None
        if decision == "rejected":
            action = Action(row.topic, ACTION_OF[row.topic], "rejected", reason=REJECTED)
    action = action or HANDLERS[row.topic](session, event)
    _record(session, event, action, row.received_at)
    if action.action != "erase_shop" or action.outcome != "done":
        session.execute(
            update(ev)
            .where(ev.c.tenant_id == tenant_id, ev.c.webhook_id == webhook_id)
            .values(status="processed" if action.outcome == "done" else "rejected")
            .values(error=action.reason)
        )
    return action


REJECTED = "the owner or an operator rejected the request"


def _hold(session: Session, event: Recorded, received_at: datetime, confirm_days: int) -> Action:
    """Keep a destructive request until someone with the right to decide has decided."""
    customer_id, _ = _customer(event.payload)
    hold_request(
        session,
        tenant_id=event.tenant.id,
        webhook_id=event.webhook_id,
        topic=event.topic,
        customer_id=customer_id,
        received_at=received_at,
        confirm_days=confirm_days,
    )
    ev = table_of(WebhookEvent)
    session.execute(
        update(ev)
        .where(ev.c.tenant_id == event.tenant.id, ev.c.webhook_id == event.webhook_id)
        .values(status="held")
    )
    return Action(event.topic, ACTION_OF[event.topic], "held", customer_id=customer_id)


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


def _update_shop(session: Session, event: Recorded) -> Action:
    """Take the shop's new time zone; its rollups are rebuilt in it after the commit."""
    tenant, zone = event.tenant, event.payload.get("iana_timezone")
    if not isinstance(zone, str):
        return Action("shop/update", "update_shop", "rejected", reason="body has no iana_timezone")
    if not _known_zone(session, zone):
        reason = "iana_timezone is not a known time zone"
        return Action("shop/update", "update_shop", "rejected", reason=reason)
    if zone == tenant.timezone:
        return Action("shop/update", "update_shop", detail={"timezone": zone, "unchanged": True})
    previous = tenant.timezone
    tenant.timezone = zone
    session.flush()
    return Action("shop/update", "update_shop", detail={"timezone_was": previous, "timezone": zone})


def _known_zone(session: Session, name: str) -> bool:
    """An IANA zone both Python and PostgreSQL know: reports bucket days with either."""
    if name not in _iana_zones():
        return False
    known = text("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = :tz)")
    return bool(session.scalar(known, {"tz": name}))


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


HANDLERS: dict[str, Callable[[Session, Recorded], Action]] = {
    "customers/redact": _redact,
    "customers/data_request": _export,
    "shop/redact": _erase_shop,
    "app/uninstalled": _uninstall,
    "shop/update": _update_shop,
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
                action = act_on_event(
                    session,
                    tenant_id=tenant_id,
                    webhook_id=webhook_id,
                    confirm_days=settings.compliance_confirm_days,
                )
        except Exception as exc:
            if is_transient(exc):
                raise TransientError(str(exc)) from exc
            note_failure(settings, tenant_id, webhook_id, exc)
            continue
        if action is None:
            continue
        if "timezone_was" in action.detail:
            # Only now it has committed: the rebuild reads the new zone. Until it runs the
            # rollups' zone differs from the shop's, so the reports answer from the rows.
            res.producer.enqueue(jobs.REBUILD_ROLLUPS, {"tenant_id": str(tenant_id)})
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


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ids(values: Any) -> list[int]:
    return [i for v in values if (i := _id(v)) is not None] if isinstance(values, list) else []


def _request_id(payload: dict[str, Any]) -> str | None:
    request = payload.get("data_request")
    if isinstance(request, dict) and request.get("id") is not None:
        return str(request["id"])[:255]
    return None
