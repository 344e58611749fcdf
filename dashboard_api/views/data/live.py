"""GET /api/live: the signed-in user's shop's changes, live, as Server-Sent Events."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from marshmallow import Schema, fields, validate

from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, current_principal, require_role
from dashboard_api.context import LIVE_KEY
from dashboard_api.errors import Invalid
from dashboard_api.live import ENTRY_ID, Hub, events

blp = Blueprint("live", __name__, url_prefix="/api", description="Live changes of the shop.")

_LAST_ID = "The id of the last event this stream sent (digits-digits)."


class LiveArgs(Schema):
    last_event_id = fields.String(
        validate=validate.Regexp(ENTRY_ID, error=_LAST_ID),
        metadata={"description": "As the `Last-Event-ID` header, for a new EventSource."},
    )


@blp.route("/live", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(LiveArgs, location="query")
@blp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Last-Event-ID",
            "schema": {"type": "string", "pattern": ENTRY_ID.pattern},
            "description": _LAST_ID + " Browsers send it when they reconnect.",
        }
    ]
)
@blp.alt_response(400, response="BAD_REQUEST")
@blp.response(
    200,
    content_type="text/event-stream",
    description="An event stream (text/event-stream) that stays open.",
)
def live(args: dict[str, Any]) -> Response:
    """The shop's changes as Server-Sent Events, as they are committed

    Each `change` event follows a commit that changed the shop's data: `data` is
    `{"version": <the shop's data version now>, "change": {"topics": [...], "accepted_at":
    <epoch seconds the receiver accepted the oldest of them, or null>, "bumped_at": ...}}`.
    Cached answers of the new version are fresh, so a page re-reads what it shows.

    A browser that comes back sends the last id it saw (`Last-Event-ID`, or `last_event_id`
    in the query) and gets every change it missed first; when the feed no longer reaches back
    that far it gets a `reset` event instead (re-read everything). The first connection gets
    a `ready` event with the id to come back with. The stream ends with an `expired` event
    when the access token expires or is revoked: refresh the session and connect again.
    Keep-alive comments come every 15 s. Only the caller's own shop's changes are sent.
    """
    principal = current_principal()
    after = request.headers.get("Last-Event-ID") or args.get("last_event_id") or None
    if after is not None and not ENTRY_ID.match(after):
        raise Invalid("The request is invalid.", fields={"Last-Event-ID": [_LAST_ID]})
    hub: Hub = current_app.extensions[LIVE_KEY]
    stream = events(hub, principal.claims, after=after)
    response = Response(stream, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # proxies must pass each event at once
    return response
