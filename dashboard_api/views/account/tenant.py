"""The caller's tenant: its settings (abandonment window, retention) and webhook secret."""

from __future__ import annotations

import uuid
from typing import Any

from dashboard_api.accounts.registration import get_tenant, rotate_webhook_secret
from dashboard_api.accounts.schemas import (
    SecretIn,
    SecretOut,
    ShopSettings,
    ShopSettingsIn,
    TenantOut,
    UserOut,
)
from dashboard_api.accounts.users import get_user
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, WRITE_ROLES, current_principal, require_role
from dashboard_api.context import current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import NotFound
from models import Tenant

blp = Blueprint("tenant", __name__, description="The caller's tenant and user")


@blp.route("/api/tenant", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, TenantOut)
def tenant() -> Any:
    """The tenant (shop) the caller belongs to."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return get_tenant(session, tenant_id=principal.tenant_id)


@blp.route("/api/me", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, UserOut)
def me() -> Any:
    """The calling user."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return get_user(session, tenant_id=principal.tenant_id, user_id=principal.user_id)


@blp.route("/api/tenant/webhook-secret", methods=["POST"])
@require_role("owner")
@blp.arguments(SecretIn)
@blp.response(200, SecretOut)
def rotate(data: dict[str, Any]) -> Any:
    """Make a new webhook secret current; the old one keeps verifying for a grace period.

    Owners only: whoever knows the secret can sign any delivery, compliance requests included.
    """
    principal = current_principal()
    settings = current_settings()
    with tenant_session(settings, principal.tenant_id) as session:
        until = rotate_webhook_secret(
            session,
            tenant_id=principal.tenant_id,
            new_secret=data["webhook_secret"],
            secret_keys=settings.secret_keys,
            grace_seconds=settings.secret_grace_seconds,
        )
    return {"previous_secret_valid_until": until}


@blp.route("/api/tenant/lifecycle", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, ShopSettings)
def shop_settings() -> Any:
    """The shop's abandonment window and its retention windows."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return _tenant(session, principal.tenant_id)


@blp.route("/api/tenant/lifecycle", methods=["PATCH"])
@require_role(*WRITE_ROLES)
@blp.arguments(ShopSettingsIn)
@blp.response(200, ShopSettings)
def change_shop_settings(data: dict[str, Any]) -> Any:
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
