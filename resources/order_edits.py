"""Order edits: `orders/edited` carries an `order_edit` (which lines and discounts changed), not an
order. It is recorded, and the order itself is read again through the Admin API where the shop
has credentials; without them the `orders/updated` that follows every edit brings it."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from models import OrderEdit
from models.base import table_of
from resources.fields import Payload, ShopifyId, Timestamp, optional, text
from resources.registry import Resource


class EditPayload(Payload):
    id = ShopifyId(required=True)
    order_id = ShopifyId(required=True)
    created_at = optional(Timestamp())
    committed_at = optional(Timestamp())
    staff_note = text()


class EditBody(Payload):
    order_edit = fields.Nested(EditPayload, required=True)


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """The edit itself; an edit is never changed after it is committed, so it is its own
    version (its commit time)."""
    edit = dict(values["order_edit"])
    edit["updated_at"] = edit.get("committed_at") or edit.get("created_at")
    return edit


RESOURCE = Resource(
    name="order_edits",
    table=table_of(OrderEdit),
    key="shopify_id",
    payload_key="id",
    schema=EditBody(),
    derive=derive,
    columns=("order_id", "created_at", "committed_at", "staff_note"),
    topics=("orders/edited",),
    # Read the edited order again through the Admin API, when the shop has credentials.
    refresh=lambda values: ("orders", values["order_id"]),
)
