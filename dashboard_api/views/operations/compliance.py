"""Held shop/redact and customers/redact requests, for the owner to confirm or reject.

A signed delivery proves only that its sender knows the webhook secret, so erasures wait for
the owner here (docs/operations.md#compliance-webhooks-and-uninstalls). The compliance job
carries out a confirmed request, and marks a rejected one `rejected`, on its next run.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from dashboard_api.accounts.schemas import HoldOut
from dashboard_api.api import Blueprint
from dashboard_api.auth import current_principal, require_role
from dashboard_api.context import current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import NotFound
from shops.holds import Hold, HoldError, decide_hold, list_holds

blp = Blueprint(
    "compliance_holds",
    __name__,
    url_prefix="/api/compliance",
    description="Erasure requests held for the owner's confirmation (owners only).",
)


class HoldList(Schema):
    items = fields.List(fields.Nested(HoldOut), required=True)


@blp.route("/holds", methods=["GET"])
@require_role("owner")
@blp.response(200, HoldList)
def holds() -> Any:
    """Held requests, the nearest deadline first; undecided ones wait for the owner."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return {"items": list_holds(session, tenant_id=principal.tenant_id)}


def _decide(webhook_id: str, decision: str) -> Hold:
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        try:
            decide_hold(
                session,
                tenant_id=principal.tenant_id,
                webhook_id=webhook_id,
                decision=decision,
                by=f"user:{principal.user_id}",
            )
        except HoldError:
            raise NotFound("No undecided hold with this webhook id.") from None
        found = list_holds(session, tenant_id=principal.tenant_id)
    return next(h for h in found if h.webhook_id == webhook_id)


@blp.route("/holds/<string:webhook_id>/confirm", methods=["POST"])
@require_role("owner")
@blp.response(200, HoldOut)
@blp.alt_response(404, response="NOT_FOUND")
def confirm(webhook_id: str) -> Any:
    """Confirm a held request: the compliance job carries it out on its next run."""
    return _decide(webhook_id, "confirmed")


@blp.route("/holds/<string:webhook_id>/reject", methods=["POST"])
@require_role("owner")
@blp.response(200, HoldOut)
@blp.alt_response(404, response="NOT_FOUND")
def reject(webhook_id: str) -> Any:
    """Reject a held request (a forged one): nothing is erased."""
    return _decide(webhook_id, "rejected")
