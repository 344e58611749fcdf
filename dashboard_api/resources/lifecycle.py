"""Dead letters and their replay, the tenant's lifecycle settings, customer data exports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from cartwheel.events import EventFilter, EventRow, get_dead_letter, list_dead_letters
from cartwheel.events import replay_dead_letters as replay_letters
from cartwheel.streams import QueueFull, StreamWriter
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, WRITE_ROLES, current_principal, require_role
from dashboard_api.context import current_redis, current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import ApiError, NotFound
from dashboard_api.resources.data_schemas import BIGINT_MAX
from dashboard_api.resources.lifecycle_schemas import (
    DeadLetterArgs,
    DeadLetterDetail,
    DeadLetterList,
    ExportArgs,
    ExportDetail,
    ExportList,
    LifecycleSettings,
    LifecycleSettingsIn,
    ReplayIn,
    ReplayOut,
)
from models import CustomerExport, Tenant

blp = Blueprint(
    "lifecycle",
    __name__,
    url_prefix="/api",
    description="Dead letters and replay, abandonment and retention settings, data exports.",
)


def _dead_out(row: EventRow) -> dict[str, Any]:
    return {
        "id": row.dead_letter_id,
        "webhook_id": row.webhook_id,
        "topic": row.topic,
        "status": row.status,
        "error": row.error,
        "attempts": row.attempts,
        "dead_lettered_at": row.at,
        "received_at": row.details["received_at"],
        "replayed_at": row.details["replayed_at"],
        "body": row.body,
    }


@blp.route("/dead-letters", methods=["GET"])
@require_role(*WRITE_ROLES)
@blp.arguments(DeadLetterArgs, location="query")
@blp.response(200, DeadLetterList)
def dead_letters(args: dict[str, Any]) -> Any:
    """The shop's dead letters, newest first: deliveries the pipeline could not take."""
    principal = current_principal()
    flt = EventFilter(tenant_id=principal.tenant_id, **args)
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return {"items": [_dead_out(r) for r in list_dead_letters(session, flt)]}


@blp.route("/dead-letters/<int:dead_letter_id>", methods=["GET"])
@require_role(*WRITE_ROLES)
@blp.response(200, DeadLetterDetail)
@blp.alt_response(404, response="NOT_FOUND")
def dead_letter(dead_letter_id: int) -> Any:
    """One dead letter, with its body and error."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        found = _find(session, dead_letter_id, principal.tenant_id)
    return _dead_out(found)


def _find(session: Any, dead_letter_id: int, tenant_id: uuid.UUID) -> EventRow:
    found = None
    if dead_letter_id <= BIGINT_MAX:
        found = get_dead_letter(session, dead_letter_id, tenant_id=tenant_id)
    if found is None:
        raise NotFound("No such dead letter.")
    return found


def _replay(tenant_id: uuid.UUID, ids: list[int] | None, flt: EventFilter) -> dict[str, Any]:
    settings = current_settings()
    writer = StreamWriter(current_redis(), settings.stream_keys, settings.queue_high_water)
    try:
        with tenant_session(settings, tenant_id) as session:
            if ids is not None and len(ids) == 1:
                _find(session, ids[0], tenant_id)
            result = replay_letters(session, writer, now=datetime.now(UTC), ids=ids, flt=flt)
    except QueueFull as exc:
        raise ApiError(
            "The event queue is full; retry later.",
            code="queue_full",
            status=503,
            headers={"Retry-After": "5"},
        ) from exc
    return {"replayed": result.replayed, "skipped": result.skipped}


@blp.route("/dead-letters/<int:dead_letter_id>/replay", methods=["POST"])
@require_role(*WRITE_ROLES)
@blp.response(202, ReplayOut)
@blp.alt_response(404, response="NOT_FOUND")
def replay_dead_letter(dead_letter_id: int) -> Any:
    """Put one dead letter back through the pipeline; replaying it again does nothing."""
    principal = current_principal()
    flt = EventFilter(tenant_id=principal.tenant_id)
    return _replay(principal.tenant_id, [dead_letter_id], flt)


@blp.route("/dead-letters/replay", methods=["POST"])
@require_role(*WRITE_ROLES)
@blp.arguments(ReplayIn)
@blp.response(202, ReplayOut)
def replay_dead_letters(data: dict[str, Any]) -> Any:
    """Put dead letters back through the pipeline: by id, or all matching the filters."""
    principal = current_principal()
    flt = EventFilter(
        tenant_id=principal.tenant_id,
        topic=data.get("topic"),
        since=data.get("since"),
        until=data.get("until"),
        limit=data["limit"],
    )
    return _replay(principal.tenant_id, None if data["all"] else data["ids"], flt)


@blp.route("/tenant/lifecycle", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, LifecycleSettings)
def lifecycle_settings() -> Any:
    """The shop's abandonment window and raw-payload retention."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return _tenant(session, principal.tenant_id)


@blp.route("/tenant/lifecycle", methods=["PATCH"])
@require_role(*WRITE_ROLES)
@blp.arguments(LifecycleSettingsIn)
@blp.response(200, LifecycleSettings)
def change_lifecycle_settings(data: dict[str, Any]) -> Any:
    """Change the abandonment window (from the next sweep on) and the retention period."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        tenant = _tenant(session, principal.tenant_id)
        for name, value in data.items():
            setattr(tenant, name, value)
        session.flush()
        return tenant


def _tenant(session: Any, tenant_id: uuid.UUID) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    return tenant


@blp.route("/customer-exports", methods=["GET"])
@require_role("owner")
@blp.arguments(ExportArgs, location="query")
@blp.response(200, ExportList)
def customer_exports(args: dict[str, Any]) -> Any:
    """Data exports built for customers/data_request webhooks, newest first."""
    principal = current_principal()
    stmt = select(CustomerExport).where(CustomerExport.tenant_id == principal.tenant_id)
    if "customer_id" in args:
        stmt = stmt.where(CustomerExport.customer_id == args["customer_id"])
    stmt = stmt.order_by(CustomerExport.created_at.desc()).limit(args["limit"])
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return {"items": list(session.scalars(stmt))}


@blp.route("/customer-exports/<uuid:export_id>", methods=["GET"])
@require_role("owner")
@blp.response(200, ExportDetail)
@blp.alt_response(404, response="NOT_FOUND")
def customer_export(export_id: uuid.UUID) -> Any:
    """One customer data export: everything the shop holds about that customer."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        found = session.scalar(
            select(CustomerExport).where(
                CustomerExport.tenant_id == principal.tenant_id, CustomerExport.id == export_id
            )
        )
        if found is None:
            raise NotFound("No such export.")
        return found
