"""Ingest API keys for `POST /ingest/<resource>` on the receiver."""

from __future__ import annotations

import uuid
from typing import Any

from dashboard_api.accounts.api_keys import create_api_key, list_api_keys, revoke_api_key
from dashboard_api.accounts.schemas import ApiKeyCreatedOut, ApiKeyIn, ApiKeyOut
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, WRITE_ROLES, current_principal, no_store, require_role
from dashboard_api.context import current_settings
from dashboard_api.db import tenant_session

blp = Blueprint("ingest-keys", __name__, description="API keys for the ingest endpoints")
blp.after_request(no_store)


@blp.route("/api/ingest-keys", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, ApiKeyOut(many=True))
def keys() -> Any:
    """The tenant's keys (never the keys themselves), revoked ones included."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return list_api_keys(session, tenant_id=principal.tenant_id)


@blp.route("/api/ingest-keys", methods=["POST"])
@require_role(*WRITE_ROLES)
@blp.arguments(ApiKeyIn)
@blp.response(201, ApiKeyCreatedOut)
def create(data: dict[str, Any]) -> Any:
    """Create a key; the answer is the only time the key is shown."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        row, key = create_api_key(
            session, tenant_id=principal.tenant_id, created_by=principal.user_id, name=data["name"]
        )
    fields = ("id", "name", "prefix", "created_by", "created_at", "revoked_at")
    return {**{name: getattr(row, name) for name in fields}, "key": key}


@blp.route("/api/ingest-keys/<uuid:key_id>", methods=["DELETE"])
@require_role(*WRITE_ROLES)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
def revoke(key_id: uuid.UUID) -> None:
    """Revoke a key; the receiver refuses it within its cache time (secret_cache_seconds)."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        revoke_api_key(session, tenant_id=principal.tenant_id, key_id=key_id)
