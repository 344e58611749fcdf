"""What the shop's webhooks arrive as: topics and API versions seen, and the replay of
deliveries whose topic cartwheel did not handle when they came."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import Schema, fields, validate

from core.wire import QueueFull, StreamWriter
from dashboard_api.accounts.registration import get_tenant
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, WRITE_ROLES, current_principal, require_role
from dashboard_api.context import current_redis, current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import queue_refusal
from dashboard_api.views.data.schemas import no_nul
from dashboard_api.views.operations.schemas import MAX_REPLAY, Instant
from eventlog.listing import EventFilter, deliveries_seen
from eventlog.replay import replay_unhandled
from shops.ownership import API_VERSION
from shops.subscriptions import app_toml, subscriptions

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/webhooks",
    description="Topics and API versions the shop's webhooks come with.",
)


class SeenArgs(Schema):
    days = fields.Integer(
        load_default=30,
        validate=validate.Range(1, 365),
        metadata={"description": "Look back this many days."},
    )


class SeenOut(Schema):
    topic = fields.String(required=True)
    api_version = fields.String(required=True, allow_none=True)
    deliveries = fields.Integer(required=True)
    unhandled = fields.Integer(
        required=True, metadata={"description": "Recorded while cartwheel did not handle it."}
    )
    last_received_at = fields.DateTime(required=True)
    handled = fields.Boolean(required=True, metadata={"description": "Handled now."})
    api_version_supported = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "Shopify still supports the version (null: not a stable one)."},
    )


class SeenList(Schema):
    items = fields.List(fields.Nested(SeenOut), required=True)
    unhandled_topics = fields.List(fields.String(), required=True)
    unsupported_api_versions = fields.List(fields.String(), required=True)


class UnhandledReplayIn(Schema):
    topic = fields.String(validate=[validate.Length(max=64), no_nul])
    since = Instant(default_timezone=UTC, metadata={"description": "Received at or after."})
    until = Instant(default_timezone=UTC, metadata={"description": "Received before."})
    limit = fields.Integer(load_default=MAX_REPLAY, validate=validate.Range(1, MAX_REPLAY))


class UnhandledReplayOut(Schema):
    replayed = fields.List(fields.String(), required=True, metadata={"description": "Webhook ids."})
    left = fields.Integer(
        required=True,
        metadata={"description": "Still unhandled topics, purged payloads, or past the limit."},
    )


@blp.route("/seen", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(SeenArgs, location="query")
@blp.response(200, SeenList)
def seen(args: dict[str, Any]) -> dict[str, Any]:
    """Deliveries by topic and API version over the last days

    A topic cartwheel does not handle is answered 200 and recorded (`unhandled`), so Shopify
    keeps the subscription; a version Shopify no longer supports means the subscription is about
    to move to a newer version with other payload shapes.
    """
    principal = current_principal()
    since = datetime.now(UTC) - timedelta(days=args["days"])
    with tenant_session(current_settings(), principal.tenant_id) as session:
        rows = deliveries_seen(session, tenant_id=principal.tenant_id, since=since)
    return {
        "items": [
            {
                "topic": r.topic,
                "api_version": r.api_version,
                "deliveries": r.deliveries,
                "unhandled": r.unhandled,
                "last_received_at": r.last_received_at,
                "handled": r.handled,
                "api_version_supported": r.version_supported,
            }
            for r in rows
        ],
        "unhandled_topics": sorted({r.topic for r in rows if not r.handled}),
        "unsupported_api_versions": sorted(
            {r.api_version for r in rows if r.api_version and r.version_supported is False}
        ),
    }


@blp.route("/unhandled/replay", methods=["POST"])
@require_role(*WRITE_ROLES)
@blp.arguments(UnhandledReplayIn)
@blp.response(202, UnhandledReplayOut)
def replay(data: dict[str, Any]) -> dict[str, Any]:
    """Put deliveries recorded as unhandled, of topics cartwheel handles now, through the pipeline

    Each is applied like a new delivery; replaying again does nothing more.
    """
    principal = current_principal()
    settings = current_settings()
    flt = EventFilter(
        tenant_id=principal.tenant_id,
        topic=data.get("topic"),
        since=data.get("since"),
        until=data.get("until"),
        limit=data["limit"],
    )
    try:
        with tenant_session(settings, principal.tenant_id) as session:
            result = replay_unhandled(session, StreamWriter(current_redis(), settings), flt)
    except QueueFull as exc:
        raise queue_refusal(exc) from exc
    return {"replayed": result.replayed, "left": result.left}


class SubscriptionOut(Schema):
    topics = fields.List(fields.String(), required=True)
    uri = fields.String(required=True)
    compliance = fields.Boolean(
        required=True, metadata={"description": "Shopify's mandatory compliance topics."}
    )


class SubscriptionsOut(Schema):
    receiver_url = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The receiver as Shopify reaches it (null: not configured)."},
    )
    shop_domain = fields.String(required=True)
    api_version = fields.String(required=True)
    subscriptions = fields.List(fields.Nested(SubscriptionOut), required=True)
    app_toml = fields.String(
        required=True, metadata={"description": "The `[webhooks]` section of shopify.app.toml."}
    )


@blp.route("/subscriptions", methods=["GET"])
@require_role(*WRITE_ROLES)
@blp.response(200, SubscriptionsOut)
def get_subscriptions() -> dict[str, Any]:
    """The webhook subscriptions the shop's app makes to send its data here

    Every topic cartwheel handles, grouped by the receiver path that takes it, and the same as
    the `[webhooks]` section of `shopify.app.toml`. The receiver's address is
    `CARTWHEEL_RECEIVER_PUBLIC_URL` (`https://<your receiver>` in the TOML when it is unset).
    """
    principal = current_principal()
    configured = current_settings().receiver_public_url or None
    url = configured or "https://<your receiver>"
    with tenant_session(current_settings(), principal.tenant_id) as session:
        shop = get_tenant(session, tenant_id=principal.tenant_id).shop_domain
    return {
        "receiver_url": configured,
        "shop_domain": shop,
        "api_version": API_VERSION,
        "subscriptions": subscriptions(url),
        "app_toml": app_toml(url),
    }
