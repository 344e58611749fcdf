"""What the simulator's payloads are made of: Shopify's samples, ids, times, money, and the
shape rules of the API version a delivery claims to be serialized in."""

from __future__ import annotations

import json
import random
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from importlib import resources
from typing import Any

from core.api_versions import release_date

Payload = dict[str, Any]
SHOP_CURRENCY = "USD"
SHOP_TZ = timezone(timedelta(hours=-5))  # the samples' shop is in Ottawa
# From 2026-04 checkouts/create|update carry no checkout `id` (a checkout is its token), orders
# no `checkout_id`, and product webhooks carry the first 100 variants in full, the others only
# in `variant_gids` (https://shopify.dev/docs/api/webhooks/2026-04, products/update).
SHAPES_OF_2026_04 = "2026-04"
FULL_VARIANTS = 100


@dataclass(frozen=True)
class Shape:
    """The payload shapes of one API version."""

    version: str

    def __post_init__(self) -> None:
        if release_date(self.version) is None:
            raise ValueError(f"not a stable Shopify API version: {self.version!r}")

    @property
    def checkout_ids(self) -> bool:
        """Whether checkouts carry their numeric `id` and orders their `checkout_id`."""
        return self.version < SHAPES_OF_2026_04

    @property
    def variants_carried(self) -> int | None:
        """How many variants a product webhook carries in full; None: all of them."""
        return None if self.version < SHAPES_OF_2026_04 else FULL_VARIANTS


@dataclass(frozen=True)
class Currency:
    """The buyer's (presentment) currency and how many of its units one shop unit buys."""

    code: str = SHOP_CURRENCY
    rate: Decimal = Decimal(1)

    def cents(self, shop_cents: int) -> int:
        """A shop-money amount in this currency, rounded to the cent as Shopify rounds it."""
        exact = Decimal(shop_cents) * self.rate
        return int(exact.quantize(Decimal(1), ROUND_HALF_EVEN))


SHOP = Currency()
# Buyers abroad: a few orders are paid in their own currency.
FOREIGN = (Currency("CAD", Decimal("1.3654")), Currency("EUR", Decimal("0.9231")))


@cache
def _sample_text(name: str) -> str:
    return (resources.files("devtools") / "samples" / f"{name}.json").read_text(encoding="utf-8")


def sample(name: str) -> Payload:
    """A fresh copy of one of Shopify's sample payloads (devtools/samples, e.g. "2026-04/x")."""
    payload: Payload = json.loads(_sample_text(name))
    return payload


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def new_id(rng: random.Random) -> int:
    """A fresh 64-bit Shopify id, most past 2^53 where JavaScript numbers lose digits."""
    if rng.random() < 0.7:
        return rng.randint(2**53 + 1, 2**63 - 1)
    return rng.randint(10**9, 2**53 - 1)


def gid(kind: str, id_: int) -> str:
    return f"gid://shopify/{kind}/{id_}"


def ascii_name(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def local(t: datetime) -> str:
    """A time as REST payloads write it: in the shop's zone, to the second."""
    return t.astimezone(SHOP_TZ).isoformat(timespec="seconds")


def zulu(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cents_of(amount: str) -> int:
    units, _, fraction = amount.partition(".")
    return int(units) * 100 + int((fraction + "00")[:2])


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def money_set(shop_cents: int, currency: Currency = SHOP) -> Payload:
    """A `*_set`: the amount in shop money and in the buyer's currency."""
    return {
        "shop_money": {"amount": money(shop_cents), "currency_code": SHOP_CURRENCY},
        "presentment_money": {
            "amount": money(currency.cents(shop_cents)),
            "currency_code": currency.code,
        },
    }
