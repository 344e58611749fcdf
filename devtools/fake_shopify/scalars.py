"""Shopify's value shapes: global ids, DateTime strings, MoneyV2 and MoneyBag."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def timestamp(moment: datetime) -> str:
    """Shopify's DateTime scalar: UTC, second precision, Z suffix."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def money_v2(amount: Decimal, currency: str = "USD") -> dict[str, Any]:
    """A MoneyV2: an amount as a decimal string (to the cent) and its currency."""
    return {"__typename": "MoneyV2", "amount": str(amount.quantize(CENT)), "currencyCode": currency}


def money(amount: Decimal, currency: str = "USD") -> dict[str, Any]:
    """A MoneyBag whose shop and presentment money are the same."""
    value = money_v2(amount, currency)
    return {"__typename": "MoneyBag", "shopMoney": value, "presentmentMoney": dict(value)}


def bag(
    amount: Decimal,
    currency: str = "USD",
    presentment: str | None = None,
    rate: Decimal = Decimal(1),
) -> dict[str, Any]:
    """A MoneyBag of a shop-money amount, shown to the buyer in `presentment` at `rate`
    (presentment units per shop unit), rounded to the cent as Shopify converts each amount."""
    return {
        "__typename": "MoneyBag",
        "shopMoney": money_v2(amount, currency),
        "presentmentMoney": money_v2(amount * rate, presentment or currency),
    }


def amount(value: dict[str, Any], side: str = "shopMoney") -> Decimal:
    """The amount of one side of a MoneyBag."""
    return Decimal(value[side]["amount"])
