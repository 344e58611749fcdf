"""Helpers for Admin API pulls: order webhooks from fake nodes, expected and stored orders,
and a canned HTTP server to play an internal service or a hostile Admin API."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import func, select

from core.settings import Settings
from devtools.fake_shopify import ShopData
from models import Order, OrderLineItem
from models.db import session_scope


def _amount(bag: dict[str, Any] | None) -> str | None:
    return bag["shopMoney"]["amount"] if bag else None


def order_webhook(node: dict[str, Any]) -> dict[str, Any]:
    """The REST webhook body Shopify would send for a fake Order node."""
    number = int(node["id"].rsplit("/", 1)[1])
    customer = node.get("customer")
    fulfillment = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}
    return {
        "id": number,
        "admin_graphql_api_id": node["id"],
        "name": node["name"],
        "email": node["email"],
        "created_at": node["createdAt"],
        "updated_at": node["updatedAt"],
        "processed_at": node["processedAt"],
        "cancelled_at": node["cancelledAt"],
        "closed_at": node["closedAt"],
        "cancel_reason": node["cancelReason"] and node["cancelReason"].lower(),
        "financial_status": node["displayFinancialStatus"].lower(),
        "fulfillment_status": fulfillment.get(node["displayFulfillmentStatus"]),
        "currency": node["currencyCode"],
        "test": node["test"],
        "source_name": node["sourceName"],
        "cart_token": node["cartToken"],
        "checkout_token": node["checkoutToken"],
        "total_price": _amount(node["totalPriceSet"]),
        "subtotal_price": _amount(node["subtotalPriceSet"]),
        "total_tax": _amount(node["totalTaxSet"]),
        "total_discounts": _amount(node["totalDiscountsSet"]),
        "current_total_price": _amount(node["currentTotalPriceSet"]),
        "customer": customer
        and {
            "id": int(customer["id"].rsplit("/", 1)[1]),
            "email": customer["defaultEmailAddress"]["emailAddress"],
            "first_name": customer["firstName"],
            "last_name": customer["lastName"],
        },
        "line_items": [
            {
                "id": int(li["id"].rsplit("/", 1)[1]),
                "sku": li["sku"],
                "title": li["title"],
                "quantity": li["quantity"],
                "current_quantity": li["currentQuantity"],
                "price": _amount(li["originalUnitPriceSet"]),
                "product_id": li["product"] and int(li["product"]["id"].rsplit("/", 1)[1]),
                "variant_id": li["variant"] and int(li["variant"]["id"].rsplit("/", 1)[1]),
            }
            for li in node["lineItems"]
        ],
    }


def expected_orders(shop: ShopData) -> dict[int, tuple[Decimal, str, int, int]]:
    """Per order id: total, financial status, line-item count and quantity, as the fake holds."""
    return {
        int(n["id"].rsplit("/", 1)[1]): (
            Decimal(n["totalPriceSet"]["shopMoney"]["amount"]),
            n["displayFinancialStatus"].lower(),
            len(n["lineItems"]),
            sum(li["quantity"] for li in n["lineItems"]),
        )
        for n in shop.listing("Order")
    }


def stored_orders(settings: Settings, tenant_id: uuid.UUID) -> dict[int, tuple[Any, ...]]:
    """The same figures as stored in PostgreSQL."""
    lines = (
        select(
            OrderLineItem.order_id,
            func.count().label("n"),
            func.sum(OrderLineItem.quantity).label("q"),
        )
        .where(OrderLineItem.tenant_id == tenant_id)
        .group_by(OrderLineItem.order_id)
        .subquery()
    )
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(
                Order.shopify_id, Order.total_price, Order.financial_status, lines.c.n, lines.c.q
            )
            .outerjoin(lines, lines.c.order_id == Order.shopify_id)
            .where(Order.tenant_id == tenant_id)
        )
        return {r[0]: (r[1], r[2], r[3] or 0, int(r[4] or 0)) for r in rows}


@dataclass
class Canned:
    """A real HTTP server on 127.0.0.1 that answers every request with `answer(path)`.

    `answer` returns (status, headers, body chunks); chunks are written one by one, so a body
    can be endless or trickle. `requests` records each request line; `sent` counts body bytes
    written before the client hung up.
    """

    answer: Callable[[str], tuple[int, dict[str, str], Iterable[bytes]]]
    requests: list[str] = field(default_factory=list)
    sent: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> Canned:
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                canned.requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                status, headers, chunks = canned.answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        canned.sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _reply

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
