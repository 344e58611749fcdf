"""Dead letters and their replay: deliveries the pipeline could not take, put back through it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from core.wire import QueueFull, StreamWriter
from dashboard_api.api import Blueprint
from dashboard_api.auth import WRITE_ROLES, current_principal, require_role
from dashboard_api.context import current_redis, current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import NotFound, queue_refusal
from dashboard_api.views.data.schemas import BIGINT_MAX
from dashboard_api.views.operations.schemas import (
    DeadLetterArgs,
    DeadLetterDetail,
    DeadLetterList,
    ReplayIn,
    ReplayOut,
)
from eventlog.listing import EventFilter, EventRow, get_dead_letter, list_dead_letters
from eventlog.replay import replay_dead_letters as replay_letters

blp = Blueprint(
    "dead_letters",
    __name__,
    url_prefix="/api",
    description="Dead letters and replay (owners and admins).",
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
    writer = StreamWriter(current_redis(), settings)
    try:
        with tenant_session(settings, tenant_id) as session:
            if ids is not None and len(ids) == 1:
                _find(session, ids[0], tenant_id)
            result = replay_letters(session, writer, now=datetime.now(UTC), ids=ids, flt=flt)
    except QueueFull as exc:
        raise queue_refusal(exc) from exc
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
