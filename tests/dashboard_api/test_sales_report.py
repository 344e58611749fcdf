"""GET /api/reports/sales proved to the cent against a plain-Python reading of docs/metrics.md.

The scenario (tests/support/sales_scenario.py) goes through the real pipeline -- receiver,
Redis streams, drain, PostgreSQL -- every payload twice and shuffled; the oracle
(tests/support/sales_oracle.py) computes every figure from the same payload dicts, never from
the database. Every figure of every day and of the totals must agree exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from tests.support.accounts import register_shop
from tests.support.pipeline import drain_all
from tests.support.sales_oracle import differences, sales_report
from tests.support.sales_scenario import (
    BLACK,
    CASE,
    GOLD,
    LINE,
    Delivery,
    Line,
    Refund,
    Sale,
    Shipping,
    catalogue,
    deliveries_of,
    discount,
    march_and_april,
    ny,
    repriced,
    sale_deliveries,
    sales,
    shuffled_twice,
)
from tests.support.webhooks import Sender

Account = dict[str, Any]
NY = "America/New_York"
CHUNK = 40  # deliveries per drain: later versions often land before earlier ones
QUERIES = [
    ("2026-03-01", "2026-04-30", NY),  # both months: the April refund of a March order
    ("2026-03-01", "2026-03-31", NY),  # March alone: the refund is not in it
    ("2026-04-01", "2026-04-30", NY),  # April alone: only the refund of the March order
    ("2026-03-01", "2026-03-31", "UTC"),  # other days: 28 February 23:50 in New York is March
    ("2026-02-28", "2026-03-09", None),  # the shop's own zone, across the 23-hour day
    ("2026-03-08", "2026-03-08", "Europe/Berlin"),
]


@pytest.mark.parametrize("seed", [2026, 7])
def test_report_matches_the_oracle_to_the_cent(
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
    shop_owner: Callable[..., Account],
    seed: int,
) -> None:
    owner = shop_owner(NY)
    scenario = march_and_april()
    deliver_twice_shuffled(client, settings, owner, scenario, seed=seed)
    problems = []
    for start, end, tz in QUERIES:
        got = report(api_client, owner, start, end, tz)
        expected = sales_report(
            scenario, date.fromisoformat(start), date.fromisoformat(end), tz or NY
        )
        problems += [
            f"[{start}..{end} {tz or 'shop zone'}] {d}" for d in differences(expected, got)
        ]
    assert not problems, "\n".join(problems)


def test_each_shop_sees_only_its_own_sales(
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
    shop_owner: Callable[..., Account],
) -> None:
    # The same Shopify ids in both shops, at other prices and costs in the second.
    a, b, empty = shop_owner(NY), shop_owner("UTC"), shop_owner(NY)
    orders = [sales()[1], sales()[6], sales()[7]]
    a_data = deliveries_of(orders)
    b_data = deliveries_of([repriced(sale, 3) for sale in orders], costs=2)
    deliver_twice_shuffled(client, settings, a, a_data, seed=1)
    deliver_twice_shuffled(client, settings, b, b_data, seed=2)
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    problems = []
    for account, data, zone in ((a, a_data, NY), (b, b_data, "UTC"), (empty, [], NY)):
        got = report(api_client, account, start.isoformat(), end.isoformat())
        problems += differences(sales_report(data, start, end, zone), got)
    assert not problems, "\n".join(problems)
    assert report(api_client, empty, "2026-03-01", "2026-03-31")["totals"]["orders"] == 0


def test_a_cost_that_arrives_after_a_newer_one_still_costs_its_sales(
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
    shop_owner: Callable[..., Account],
) -> None:
    # Black cost 12.00 from February and 15.00 from 15 March; the newer version arrives first,
    # in the same drain as the older one. The sale of 7 March was made at 12.00.
    owner = shop_owner(NY)
    items = [
        d
        for d in catalogue()
        if d[0].startswith("inventory_items/") and d[1]["id"] == BLACK.inventory_item_id
    ]
    products = [d for d in catalogue() if d[0] == "products/create"]
    data = products + items[::-1] + list(sale_deliveries(sales()[5]))
    sender = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    for topic, payload in data:
        assert sender.send(topic, payload).status_code == 200
    drain_all(settings)
    got = report(api_client, owner, "2026-03-07", "2026-03-07")
    assert got["totals"]["cost_of_goods_sold"] == "12.00"
    assert not differences(sales_report(data, date(2026, 3, 7), date(2026, 3, 7), NY), got)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-10&to=2026-03-01", "to"),
        ("from=2026-02-30&to=2026-03-01", "from"),
        ("from=yesterday&to=2026-03-01", "from"),
        ("from=2026-03-01&to=2026-3-1x", "to"),
        ("from=2022-01-01&to=2026-03-01", "to"),  # more than three years
        ("from=1969-12-31&to=1970-01-01", "from"),
        ("from=2026-03-01&to=2026-03-31&tz=Mars/Olympus", "tz"),
        ("from=2026-03-01&to=2026-03-31&tz=%2B03:00", "tz"),
        ("from=2026-03-01&to=2026-03-31&tz=", "tz"),
    ],
)
def test_bad_arguments_answer_400_with_the_field(
    api_client: FlaskClient, owner: Account, query: str, field: str
) -> None:
    response = api_client.get(f"/api/reports/sales?{query}", headers=owner["headers"])
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert field in body.get("fields", {}), body


def test_a_nul_in_the_query_is_400(api_client: FlaskClient, owner: Account) -> None:
    # The API refuses NUL characters in any argument before reading the fields.
    query = "from=2026-03-01&to=2026-03-31&tz=America/New%00York"
    response = api_client.get(f"/api/reports/sales?{query}", headers=owner["headers"])
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_request"


def test_the_report_needs_a_token(api_client: FlaskClient) -> None:
    response = api_client.get("/api/reports/sales?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 401
    assert response.get_json()["error"]


# The oracle itself, on data small enough to compute by hand.

HAND = Sale(
    90,
    ny("2026-03-07 23:30"),  # 8 March in UTC
    (
        Line(LINE + 9001, "Aviator sunglasses", "30.00", 2, BLACK, ((0, "6.00"),), "0.10"),
        Line(LINE + 9002, "Engraving", "15.00", 1, None, tax_rate="0.10"),
    ),
    (Shipping(LINE + 9003, "Standard", "5.00", ((1, "1.00"),), "0.10"),),
    (
        discount(0, "SUNNY10", "10.0", "percentage", selection="explicit"),
        discount(1, "SHIP1", "1.00", "fixed_amount", target="shipping_line", selection="all"),
    ),
    refunds=(
        Refund(
            LINE + 9004,
            ny("2026-03-09 10:00"),
            ((LINE + 9001, 1),),
            shipping="lines",
            discrepancy=("1.00", "0.00"),
        ),
    ),
    cancelled_at=ny("2026-03-10 12:00"),
)
ZEROS = {
    "orders": 0, "gross_sales": "0.00", "discounts": "0.00", "returns": "0.00",
    "net_sales": "0.00", "shipping": "0.00", "taxes": "0.00", "duties": "0.00",
    "total_sales": "0.00", "average_order_value": None, "cost_of_goods_sold": "0.00",
    "net_sales_with_cost_recorded": "0.00", "gross_profit": "0.00",
}  # fmt: skip


def figures(**changed: Any) -> dict[str, Any]:
    return ZEROS | changed


def test_oracle_on_a_hand_computed_order() -> None:
    # Sold on the 7th: 2 x 30.00 less 6.00 and 15.00 of engraving; shipping 5.00 less 1.00;
    # 10% tax on 54.00, 15.00 and 4.00; the sunglasses cost 12.00 each (the engraving nothing).
    # Refunded on the 9th: one pair (27.00, tax 2.70), the shipping (4.00, tax 0.40), and 1.00
    # less than that. Cancelled on the 10th: the rest of the goods and tax, and one pair's cost.
    data = catalogue() + list(sale_deliveries(HAND))
    got = sales_report(data, date(2026, 3, 7), date(2026, 3, 10), NY)
    assert got["currency"] == "USD"
    assert [d.pop("date") for d in got["days"]] == ["2026-03-07", "2026-03-08", "2026-03-09",
                                                   "2026-03-10"]  # fmt: skip
    assert got["days"] == [
        figures(orders=1, gross_sales="75.00", discounts="-6.00", net_sales="69.00",
                shipping="4.00", taxes="7.30", total_sales="80.30", average_order_value="69.00",
                cost_of_goods_sold="24.00", net_sales_with_cost_recorded="54.00",
                gross_profit="30.00"),
        ZEROS,
        figures(returns="-26.00", net_sales="-26.00", shipping="-4.00", taxes="-3.10",
                total_sales="-33.10", cost_of_goods_sold="-12.00",
                net_sales_with_cost_recorded="-27.00", gross_profit="-15.00"),
        figures(returns="-43.00", net_sales="-43.00", taxes="-4.20", total_sales="-47.20",
                cost_of_goods_sold="-12.00", net_sales_with_cost_recorded="-27.00",
                gross_profit="-15.00"),
    ]  # fmt: skip
    assert got["totals"] == figures(
        orders=1, gross_sales="75.00", discounts="-6.00", returns="-69.00",
        average_order_value="69.00",
    )  # fmt: skip
    utc = sales_report(data, date(2026, 3, 7), date(2026, 3, 8), "UTC")
    assert [d["orders"] for d in utc["days"]] == [0, 1]


def _plain(number: int, at: str, price: str, variant: Any) -> Sale:
    line = Line(LINE + number * 100 + 1, "Item", price, 1, variant, tax_rate=None)
    refunds: tuple[Refund, ...] = ()
    if number == 91:
        refunds = (Refund(LINE + 9105, ny("2026-03-05 12:00"), ((line.id, 1),)),)
    return Sale(number, ny(at), (line,), refunds=refunds)


def test_oracle_rounds_exact_sums_half_up() -> None:
    # Gold costs 4.125: each day's cost rounds to 4.13 (and a return's to -4.13), the totals
    # round the exact sums (8.25, and 20.00 - 8.25 = 11.75), not the rounded days. Two orders
    # of 10.00 and 10.01 average 10.005, which rounds up.
    orders = [
        _plain(91, "2026-03-02 12:00", "10.00", GOLD),
        _plain(92, "2026-03-03 12:00", "10.00", GOLD),
        _plain(93, "2026-03-04 09:00", "10.00", CASE),
        _plain(94, "2026-03-04 17:00", "10.01", None),
        _plain(95, "2026-03-06 12:00", "10.00", GOLD),
    ]
    got = sales_report(deliveries_of(orders), date(2026, 3, 2), date(2026, 3, 6), NY)
    sold = figures(orders=1, gross_sales="10.00", net_sales="10.00", total_sales="10.00",
                   average_order_value="10.00", cost_of_goods_sold="4.13",
                   net_sales_with_cost_recorded="10.00", gross_profit="5.88")  # fmt: skip
    assert [{k: v for k, v in d.items() if k != "date"} for d in got["days"]] == [
        sold,
        sold,
        figures(orders=2, gross_sales="20.01", net_sales="20.01", total_sales="20.01",
                average_order_value="10.01"),
        figures(returns="-10.00", net_sales="-10.00", total_sales="-10.00",
                cost_of_goods_sold="-4.13", net_sales_with_cost_recorded="-10.00",
                gross_profit="-5.88"),
        sold,
    ]  # fmt: skip
    assert got["totals"] == figures(
        orders=5, gross_sales="50.01", returns="-10.00", net_sales="40.01", total_sales="40.01",
        average_order_value="10.00", cost_of_goods_sold="8.25",
        net_sales_with_cost_recorded="20.00", gross_profit="11.75",
    )  # fmt: skip


def test_the_scenario_holds_what_it_claims() -> None:
    everything = march_and_april()
    spring = (date(2026, 3, 1), date(2026, 4, 30))
    by_number = {sale.number: sale for sale in sales()}

    def totals(data: list[Delivery], start: date, end: date, tz: str = NY) -> dict[str, Any]:
        return sales_report(data, start, end, tz)["totals"]

    # Cancelled orders sum to zero over all days, whatever was refunded first.
    for number in (2, 14, 20):
        alone = catalogue() + list(sale_deliveries(by_number[number]))
        t = totals(alone, *spring)
        assert t["orders"] == 1
        for name in (
            "net_sales",
            "shipping",
            "taxes",
            "duties",
            "total_sales",
            "cost_of_goods_sold",
            "net_sales_with_cost_recorded",
            "gross_profit",
        ):
            assert t[name] == "0.00", (number, name)  # fmt: skip
    # The euro refund pays back in euros: its transaction's amount is not the shop money the
    # report must sum (27.00 + 2.40 tax + 8.00 + 0.71 shipping - 0.50 discrepancy, in dollars).
    euro = next(
        p for t, p in everything if t == "refunds/create" and p["id"] == by_number[20].refunds[0].id
    )
    paid = euro["transactions"][0]
    assert paid["amount"] != "37.61" and paid["currency"] == "EUR"
    # Test and deleted orders, and their refunds, change nothing.
    kept = deliveries_of(s for s in sales() if s.number not in (9, 10))
    assert sales_report(kept, *spring, NY) == sales_report(everything, *spring, NY)
    # The April refund of a March order lowers April only.
    without = deliveries_of(s if s.number != 12 else replace(s, refunds=()) for s in sales())
    march, april = (date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 4, 1), date(2026, 4, 30))
    assert totals(without, *march) == totals(everything, *march)
    assert totals(without, *april) != totals(everything, *april)
    day = sales_report(everything, *april, NY)["days"][2]
    assert (day["date"], day["orders"], day["net_sales"]) == ("2026-04-03", 0, "-30.00")
    # 8 March has 23 hours in New York: three orders there, and other days in UTC.
    dst = sales_report(everything, date(2026, 3, 7), date(2026, 3, 9), NY)["days"]
    assert [d["orders"] for d in dst] == [1, 3, 0]
    utc = sales_report(everything, date(2026, 3, 7), date(2026, 3, 9), "UTC")["days"]
    assert [d["orders"] for d in utc] == [0, 3, 1]
    # Every payload is delivered twice, in an order that is not the order of events.
    copies = shuffled_twice(everything, seed=2026)
    assert len(copies) == 2 * len(everything)
    assert [c[1] for c in copies[: len(everything)]] != [p for _, p in everything]


# Helpers


@pytest.fixture
def shop_owner(api_client: FlaskClient, settings: Settings) -> Callable[..., Account]:
    """Register and verify a shop in a time zone, its owner logged in."""
    return lambda zone: register_shop(api_client, settings, zone, label="sales")


def deliver_twice_shuffled(
    client: FlaskClient, settings: Settings, account: Account, data: list[Delivery], seed: int
) -> None:
    """Every payload twice, shuffled, through /webhooks; drained every CHUNK deliveries."""
    sender = Sender(client, shop=account["shop"], secret=account["webhook_secret"])
    copies = shuffled_twice(data, seed)
    for n in range(0, len(copies), CHUNK):
        for topic, payload, webhook_id in copies[n : n + CHUNK]:
            response = sender.send(topic, payload, webhook_id=webhook_id)
            assert response.status_code == 200, (topic, response.get_json())
        drain_all(settings)


def report(
    api_client: FlaskClient, account: Account, start: str, end: str, tz: str | None = None
) -> dict[str, Any]:
    query = {"from": start, "to": end} | ({"tz": tz} if tz else {})
    response = api_client.get("/api/reports/sales", query_string=query, headers=account["headers"])
    assert response.status_code == 200, (
        query,
        response.status_code,
        response.get_data(as_text=True),
    )
    body: dict[str, Any] = response.get_json()
    return body
