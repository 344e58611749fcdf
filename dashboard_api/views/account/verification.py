"""Proving that the caller's tenant owns its shop: Shopify's OAuth install, or an Admin API token.

Until then the tenant is a claim: it receives no webhooks. The OAuth redirect comes back to the
dashboard, which forwards its query parameters here with the owner's bearer token, so a
redirect only ever verifies the tenant that started the flow (`state` is bound to it).
"""

from __future__ import annotations

import uuid
from typing import Any

from dashboard_api.accounts.registration import get_tenant, mark_verified
from dashboard_api.accounts.schemas import (
    AuthorizeOut,
    OAuthCallbackIn,
    TokenProofIn,
    VerificationOut,
)
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, current_principal, require_role
from dashboard_api.context import current_redis, current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import ApiError, Conflict, Invalid
from models import Tenant
from shops.credentials import set_tenant_credentials
from shops.ownership import (
    API_VERSION,
    OwnershipError,
    authorize_url,
    check_redirect,
    check_token,
    exchange_code,
    new_state,
)

blp = Blueprint("verification", __name__, description="Prove that the tenant owns its shop")


def _state_key(state: str) -> str:
    return f"{current_settings().namespace}:oauth-state:{state}"


def _refused(exc: OwnershipError) -> ApiError:
    return ApiError(str(exc), status=400, code=exc.code)


def _status(tenant: Tenant) -> dict[str, Any]:
    methods = ["oauth", "token"] if current_settings().shopify_client_id else ["token"]
    return {
        "verified": tenant.verified_at is not None,
        "verified_at": tenant.verified_at,
        "shop_domain": tenant.shop_domain,
        "methods": methods,
    }


def _unverified_shop(tenant_id: uuid.UUID) -> str:
    with tenant_session(current_settings(), tenant_id) as session:
        tenant = get_tenant(session, tenant_id=tenant_id)
        if tenant.verified_at is not None:
            raise Conflict("The shop is verified already.", code="already_verified")
        return tenant.shop_domain


def _verify(tenant_id: uuid.UUID, token: str) -> dict[str, Any]:
    """Mark the tenant verified and keep the token that proved it as its Admin API token."""
    settings = current_settings()
    with tenant_session(settings, tenant_id) as session:
        tenant = mark_verified(session, tenant_id=tenant_id)
        set_tenant_credentials(
            session,
            tenant_id=tenant_id,
            token=token,
            api_version=API_VERSION,
            admin_url=None,
            secret_keys=settings.secret_keys,
        )
        return _status(tenant)


@blp.route("/api/tenant/verification", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, VerificationOut)
def verification() -> Any:
    """Whether the tenant's shop is verified, and how it can be."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return _status(get_tenant(session, tenant_id=principal.tenant_id))


@blp.route("/api/tenant/verification/oauth", methods=["POST"])
@require_role("owner")
@blp.response(200, AuthorizeOut)
@blp.alt_response(409, response="CONFLICT")
def start_oauth() -> Any:
    """Start the app install: the URL to send the merchant to (its `state` lasts a while)."""
    settings = current_settings()
    if not settings.shopify_client_id or not settings.shopify_client_secret:
        raise Invalid("This deployment has no Shopify app configured.", code="oauth_unavailable")
    principal = current_principal()
    shop = _unverified_shop(principal.tenant_id)
    state = new_state()
    current_redis().set(
        _state_key(state),
        f"{principal.tenant_id}:{principal.user_id}",
        ex=settings.oauth_state_seconds,
    )
    return {"authorize_url": authorize_url(settings, shop, state)}


@blp.route("/api/tenant/verification/oauth/callback", methods=["POST"])
@require_role("owner")
@blp.arguments(OAuthCallbackIn)
@blp.response(200, VerificationOut)
@blp.alt_response(409, response="CONFLICT")
def finish_oauth(params: dict[str, str]) -> Any:
    """Finish the install with the redirect's parameters: hmac, state, shop, then the code."""
    settings = current_settings()
    principal = current_principal()
    try:
        shop = check_redirect(params, settings.shopify_client_secret)
    except OwnershipError as exc:
        raise _refused(exc) from None
    key, client = _state_key(params["state"]), current_redis()
    owner = client.get(key)
    # Spent only by the flow's own owner (DEL answers 0 to the second of two racing uses), so
    # someone else holding the redirect cannot even use the state up.
    mine = owner is not None and _text(owner) == f"{principal.tenant_id}:{principal.user_id}"
    if not mine or not client.delete(key):
        raise Invalid("The state is unknown, used or expired; start again.", code="bad_state")
    if shop != _unverified_shop(principal.tenant_id):
        raise Invalid("The redirect is for another shop.", code="shop_mismatch")
    try:
        token = exchange_code(settings, shop, params["code"])
    except OwnershipError as exc:
        raise _refused(exc) from None
    return _verify(principal.tenant_id, token)


@blp.route("/api/tenant/verification/token", methods=["POST"])
@require_role("owner")
@blp.arguments(TokenProofIn)
@blp.response(200, VerificationOut)
@blp.alt_response(409, response="CONFLICT")
def verify_token(data: dict[str, str]) -> Any:
    """Prove control with an Admin API access token that answers for the tenant's shop."""
    settings = current_settings()
    principal = current_principal()
    shop = _unverified_shop(principal.tenant_id)
    try:
        check_token(settings, shop, data["access_token"])
    except OwnershipError as exc:
        raise _refused(exc) from None
    return _verify(principal.tenant_id, data["access_token"])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
