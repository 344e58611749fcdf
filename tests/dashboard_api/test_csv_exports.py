"""CSV exports of the lists: the same rows and figures as the JSON list, streamed in constant
memory, safe to open in a spreadsheet, and only ever the shop's own rows."""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from core.settings import Settings
from dashboard_api.csv_export import cell
from models.db import session_scope
from tests.support.accounts import Account, register_shop

NY = "America/New_York"
ORDER_BASE = 9_000_000_000_000_000_000
# Text a spreadsheet would run as a formula, and text that only looks like it.
HOSTILE = ['=HYPERLINK("http://x","y")', "+1 555 0100", "-2+3", "@SUM(A1)", "\tx", "\rx"]

_ORDERS = """
INSERT INTO orders (tenant_id, shopify_id, name, email, customer_id, financial_status,
                    currency, total_price, total_discounts, source_name, test, created_at,
                    processed_at, updated_at)
SELECT :tenant, :base + n, '#' || n, 'buyer' || (n % 97) || '@example.com', :customer + (n % 5),
       CASE WHEN n % 3 = 0 THEN 'paid' ELSE 'refunded' END, 'USD',
       (n % 1000) + 0.01 * (n % 100), -((n % 7) * 0.5), :channel, n % 11 = 0,
       TIMESTAMPTZ '2026-03-08 06:00+00' + n * INTERVAL '1 minute',
       CASE WHEN n % 13 = 0 THEN NULL
            ELSE TIMESTAMPTZ '2026-03-08 06:00+00' + n * INTERVAL '1 minute' END,
       TIMESTAMPTZ '2026-03-10 00:00+00'
FROM generate_series(1, :rows) AS n
"""
_CUSTOMERS = """
INSERT INTO customers (tenant_id, shopify_id, email, first_name, last_name, phone, state,
                       created_at, updated_at)
VALUES (:tenant, :id, :email, :first, :last, :phone, 'enabled', :at, :at)
"""


def insert_orders(settings: Settings, tenant: str, rows: int, channel: str = "web") -> None:
    with session_scope(settings.database_url) as session:
        session.execute(
            text(_ORDERS),
            {
                "tenant": tenant,
                "base": ORDER_BASE,
                "customer": 10,
                "rows": rows,
                "channel": channel,
            },
        )


def insert_customers(settings: Settings, tenant: str) -> None:
    with session_scope(settings.database_url) as session:
        for n, hostile in enumerate(HOSTILE):
            session.execute(
                text(_CUSTOMERS),
                {
                    "tenant": tenant,
                    "id": 10 + n,
                    "email": f"{hostile[:3].strip()}{n}@example.com",
                    "first": hostile,
                    "last": "Doe" if n % 2 else None,
                    "phone": "-5" if n == 0 else None,
                    "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=ZoneInfo("UTC")),
                },
            )


def json_pages(
    api_client: FlaskClient, account: Account, path: str, query: dict[str, str]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        q = query | {"limit": "250"} | ({"cursor": cursor} if cursor else {})
        body = api_client.get(path, query_string=q, headers=account["headers"]).get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def csv_rows(
    api_client: FlaskClient, account: Account, path: str, query: dict[str, str]
) -> list[dict[str, str]]:
    response = api_client.get(
        path, query_string=query | {"format": "csv"}, headers=account["headers"]
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))


def as_json_text(value: str, want: Any, zone: ZoneInfo) -> Any:
    """A CSV cell read back as the JSON list writes the value."""
    if want is None:
        return None if value == "" else value
    if isinstance(want, bool):
        return {"true": True, "false": False}.get(value, value)
    if isinstance(want, int):
        return int(value)
    if isinstance(want, str) and len(want) >= 19 and want[10:11] == "T":
        instant = datetime.fromisoformat(value)
        assert instant.utcoffset() == instant.astimezone(zone).utcoffset()  # the shop's zone
        return instant == datetime.fromisoformat(want) and want
    return value[1:] if value.startswith("'") and value[1:] == want else value


@pytest.fixture
def shop(api_client: FlaskClient, settings: Settings) -> Account:
    owner = register_shop(api_client, settings, NY)
    insert_customers(settings, owner["tenant_id"])
    insert_orders(settings, owner["tenant_id"], 600)
    other = register_shop(api_client, settings, "UTC")
    insert_orders(settings, other["tenant_id"], 50, channel="other-shop")
    return owner


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/orders", {}),
        ("/api/orders", {"sort": "processed_at", "financial_status": "paid"}),
        ("/api/orders", {"channel": "web", "processed_at_min": "2026-03-08T12:00:00Z"}),
        ("/api/customers", {"sort": "email"}),
    ],
)
def test_the_csv_holds_what_the_json_list_holds(
    api_client: FlaskClient, shop: Account, path: str, query: dict[str, str]
) -> None:
    listed = json_pages(api_client, shop, path, query)
    exported = csv_rows(api_client, shop, path, query)
    assert [r["id"] for r in exported] == [i["id"] for i in listed]
    zone = ZoneInfo(NY)
    scalar = [k for k, v in listed[0].items() if not isinstance(v, list | dict)]
    assert set(exported[0]) == set(scalar)
    for row, item in zip(exported, listed, strict=True):
        for name in scalar:
            assert as_json_text(row[name], item[name], zone) == item[name], (name, row, item)


def test_money_is_exact_and_the_other_shop_absent(api_client: FlaskClient, shop: Account) -> None:
    rows = csv_rows(api_client, shop, "/api/orders", {"sort": "id"})
    assert len(rows) == 600
    assert {r["source_name"] for r in rows} == {"web"}
    first = rows[0]  # n = 1
    assert (first["total_price"], first["total_discounts"]) == ("1.01", "-0.50")
    assert first["created_at"] == "2026-03-08T01:01:00-05:00"  # before the switch to EDT
    assert rows[599]["created_at"] == "2026-03-08T12:00:00-04:00"  # n = 600 (16:00Z), EDT


def test_text_that_would_run_as_a_formula_is_defused(
    api_client: FlaskClient, shop: Account
) -> None:
    rows = {r["id"]: r for r in csv_rows(api_client, shop, "/api/customers", {})}
    for n, hostile in enumerate(HOSTILE):
        assert rows[str(10 + n)]["first_name"] == "'" + hostile
    assert rows["10"]["phone"] == "-5"  # a plain number is left alone


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("-6.00"), "-6.00"),
        ("-6.00", "-6.00"),
        ("-6.0e3", "'-6.0e3"),
        ("=1+1", "'=1+1"),
        ("a=1", "a=1"),
        (None, ""),
        (True, "true"),
        (datetime(2026, 7, 1, 12, tzinfo=ZoneInfo("UTC")), "2026-07-01T08:00:00-04:00"),
    ],
)
def test_cells(value: Any, expected: str) -> None:
    assert cell(value, ZoneInfo(NY)) == expected


def test_accept_text_csv_asks_for_csv(api_client: FlaskClient, shop: Account) -> None:
    as_csv = api_client.get("/api/orders", headers=shop["headers"] | {"Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv"
    anything = api_client.get("/api/orders", headers=shop["headers"] | {"Accept": "*/*"})
    assert anything.mimetype == "application/json"
    forced = api_client.get(
        "/api/orders?format=json", headers=shop["headers"] | {"Accept": "text/csv"}
    )
    assert forced.mimetype == "application/json"


def test_a_bad_format_is_400(api_client: FlaskClient, shop: Account) -> None:
    response = api_client.get("/api/orders?format=xlsx", headers=shop["headers"])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert "format" in response.get_json()["fields"]


ROWS = 200_000
GROWTH_BYTES = 16 * 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    """This process's resident set size now (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def test_a_large_export_streams_in_bounded_memory(
    api_client: FlaskClient, settings: Settings
) -> None:
    # 200,000 orders, about 35 MiB of CSV. From before the request to its last row (after a
    # small export has warmed the pools and caches) resident memory must grow by less than
    # 16 MiB: holding the rows (hundreds of MiB as dicts) or the text would break that.
    owner = register_shop(api_client, settings, NY)
    insert_orders(settings, owner["tenant_id"], ROWS)
    warm = api_client.get(
        "/api/orders?format=csv&financial_status=pending", headers=owner["headers"]
    )
    assert warm.get_data(as_text=True).count("\n") == 1  # the header alone
    baseline = highest = resident_bytes()
    response = api_client.get("/api/orders?format=csv&sort=id", headers=owner["headers"])
    assert response.status_code == 200
    sent = lines = 0
    try:
        for chunk in response.response:
            sent += len(chunk)
            lines += chunk.count(b"\n" if isinstance(chunk, bytes) else "\n")
            highest = max(highest, resident_bytes())
    finally:
        response.close()
    growth = highest - baseline
    print(f"200k-row export: {sent / 2**20:.1f} MiB sent, RSS growth {growth / 2**20:.1f} MiB")
    assert lines == ROWS + 1  # the header and every row
    assert sent > 2 * GROWTH_BYTES
    assert growth < GROWTH_BYTES, f"grew {growth / 2**20:.1f} MiB for {sent / 2**20:.1f} MiB"


def test_csv_needs_a_token(api_client: FlaskClient) -> None:
    assert api_client.get("/api/orders?format=csv").status_code == 401


def test_unknown_tenant_sees_nothing(
    api_client: FlaskClient, settings: Settings, shop: Account
) -> None:
    empty = register_shop(api_client, settings, NY)
    rows = csv_rows(api_client, empty, "/api/orders", {})
    assert rows == []
    assert empty["tenant_id"] != shop["tenant_id"]
