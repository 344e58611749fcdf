"""Customer data exports, built for customers/data_request webhooks (owners only)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from dashboard_api.api import Blueprint
from dashboard_api.auth import current_principal, require_role
from dashboard_api.context import current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import NotFound
from dashboard_api.views.operations.schemas import (
    ExportArgs,
    ExportDetail,
    ExportList,
)
from models import CustomerExport

blp = Blueprint(
    "customer_exports",
    __name__,
    url_prefix="/api",
    description="Customer data exports, built for customers/data_request webhooks (owners only).",
)


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
