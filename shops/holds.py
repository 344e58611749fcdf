"""Destructive compliance requests held for the owner's word: list, confirm, reject.

A shop/redact or customers/redact delivery proves only that its sender knows the webhook
secret. The compliance job holds each one here instead of erasing at once; the owner (through
the API) or an operator (`cartwheel tenants holds`) confirms or rejects it, and the next run
of the job carries out or drops it (docs/operations.md#compliance-webhooks-and-uninstalls).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import CartwheelError
from models import ComplianceHold
from models.base import table_of

DESTRUCTIVE_TOPICS = frozenset({"shop/redact", "customers/redact"})
DECISIONS = ("confirmed", "rejected")


class HoldError(CartwheelError, ValueError):
    """No such undecided hold."""


@dataclass(frozen=True)
class Hold:
    """A held request as owners and operators see it."""

    tenant_id: uuid.UUID
    webhook_id: str
    topic: str
    customer_id: int | None
    held_at: datetime
    deadline_at: datetime
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None

    @property
    def overdue(self) -> bool:
        """Undecided past the day Shopify expects the request carried out."""
        return self.decision is None and datetime.now(UTC) > self.deadline_at


def hold_request(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    webhook_id: str,
    topic: str,
    customer_id: int | None,
    received_at: datetime,
    confirm_days: int,
) -> None:
    """Hold a request (once: holding it again changes nothing)."""
    session.execute(
        insert(table_of(ComplianceHold))
        .values(
            tenant_id=tenant_id,
            webhook_id=webhook_id,
            topic=topic,
            customer_id=customer_id,
            deadline_at=received_at + timedelta(days=confirm_days),
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "webhook_id"])
    )


def decision_of(session: Session, *, tenant_id: uuid.UUID, webhook_id: str) -> str | None:
    """`held` (waiting), `confirmed`, `rejected`, or None when the request was never held."""
    row = session.execute(
        select(ComplianceHold.decision).where(
            ComplianceHold.tenant_id == tenant_id, ComplianceHold.webhook_id == webhook_id
        )
    ).first()
    if row is None:
        return None
    return row.decision or "held"


def list_holds(
    session: Session, *, tenant_id: uuid.UUID | None = None, undecided_only: bool = False
) -> list[Hold]:
    """Holds, oldest deadline first; of one tenant, or (for operators) of every tenant."""
    query = select(ComplianceHold).order_by(ComplianceHold.deadline_at)
    if tenant_id is not None:
        query = query.where(ComplianceHold.tenant_id == tenant_id)
    if undecided_only:
        query = query.where(ComplianceHold.decided_at.is_(None))
    return [
        Hold(
            h.tenant_id,
            h.webhook_id,
            h.topic,
            h.customer_id,
            h.held_at,
            h.deadline_at,
            h.decision,
            h.decided_by,
            h.decided_at,
        )
        for h in session.scalars(query)
    ]


def decide_hold(
    session: Session, *, tenant_id: uuid.UUID, webhook_id: str, decision: str, by: str
) -> None:
    """Confirm or reject an undecided hold; raises HoldError when there is none."""
    if decision not in DECISIONS:
        raise HoldError(f"{decision!r} is not one of {', '.join(DECISIONS)}")
    holds = table_of(ComplianceHold)
    result = session.execute(
        update(holds)
        .where(holds.c.tenant_id == tenant_id, holds.c.webhook_id == webhook_id)
        .where(holds.c.decided_at.is_(None))
        .values(decision=decision, decided_by=by[:64], decided_at=datetime.now(UTC))
        .returning(holds.c.webhook_id)
    )
    if result.first() is None:
        raise HoldError(f"no undecided hold {webhook_id!r}")
