"""GET /api/insights against hand-computed figures, with data that came in as webhooks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from core.settings import Settings
from dashboard_api.db import tenant_session
from dashboard_api.queries import columns
from dashboard_api.queries.insights import compute_insights
from dashboard_api.queries.ranges import DayRange
from dashboard_api.views.data.insights import InsightsOut
from models import Tenant
from models.db import session_scope
from tests.support.shop_builders import BIG, cart, checkout, customer, deliver, order
from tests.support.webhooks import Sender
from workers.abandonment.sweeps import sweep_abandoned
from workers.runtime import Resources

NY = "America/New_York"  # UTC-5 in January
RANGE = "from=2026-01-10&to=2026-01-12"
C1, C2, C3, C4 = BIG, BIG + 1, BIG + 2, BIG + 3


def _shop_in(settings: Settings, owner: dict[str, Any], zone: str) -> None:
    with session_scope(settings.database_url) as session:
        session.execute(update(Tenant).where(Tenant.id == owner["tenant_id"]).values(timezone=zone))


@pytest.fixture
def shop(owner: dict[str, Any], client: FlaskClient, settings: Settings) -> Sender:
    """The owner's shop in New York time, sending webhooks to the receiver."""
    _shop_in(settings, owner, NY)
    return Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])


def _fill(shop: Sender, settings: Settings, between: Callable[[], Any] = lambda: None) -> None:
    """The data set the expectations below are computed from by hand (`between` is called
    before each batch of later events)."""
    deliver(
        shop,
        settings,
        ("customers/create", customer(C1, first="Ada", created_at="2025-12-01T10:00:00Z")),
        ("customers/create", customer(C2, first="Bob", created_at="2026-01-11T15:00:00Z")),
        # 23:30 on Jan 12 in New York: new in the range, though it is Jan 13 in UTC.
        ("customers/create", customer(C3, first="Cy", created_at="2026-01-13T04:30:00Z")),
        ("customers/create", customer(C4, first="Dee", created_at="2026-01-11T16:00:00Z")),
        ("orders/create", order(1, total="100.00", at="2026-01-10T15:00:00Z", customer_id=C1)),
        ("orders/create", order(2, total="50.00", at="2026-01-11T12:00:00Z", customer_id=C1)),
        ("orders/create", order(3, total="80.00", at="2026-01-11T14:00:00Z", customer_id=C2)),
        # Jan 12, 23:30 local (Jan 13 in UTC): inside the range.
        ("orders/create", order(4, total="30.00", at="2026-01-13T04:30:00Z", customer_id=C3)),
        # Jan 9, 23:30 local (Jan 10 in UTC): outside the range.
        ("orders/create", order(5, total="25.00", at="2026-01-10T04:30:00Z", customer_id=C2)),
        ("orders/create", order(6, total="999.00", at="2026-01-11T13:00:00Z", test=True)),
        ("orders/create", order(7, total="40.00", at="2026-01-12T15:00:00Z", checkout_token="k3")),
        ("orders/create", order(8, total="70.00", at="2026-01-11T18:00:00Z", customer_id=C4)),
        ("checkouts/create", checkout("k1", total="60.00", at="2026-01-10T15:00:00Z")),
        (
            "checkouts/create",
            checkout("k2", total="45.50", at="2026-01-11T15:00:00Z", cart_token="r2"),
        ),
        ("checkouts/create", checkout("k3", total="40.00", at="2026-01-12T15:00:00Z")),
        ("checkouts/create", checkout("k5", total="99.00", at="2026-01-10T04:00:00Z")),
        ("carts/create", cart("r1", at="2026-01-10T15:00:00Z", lines=("19.99", "40.00"))),
        ("carts/create", cart("r2", at="2026-01-11T14:00:00Z")),
    )
    # Later events: a refund, a cancellation (refunded in full), deletions.
    between()
    deliver(
        shop,
        settings,
        ("orders/updated", order(2, total="50.00", at="2026-01-11T12:00:00Z", customer_id=C1,
                                 updated_at="2026-01-12T09:00:00Z", refunded=["20.00"],
                                 financial_status="partially_refunded")),
        ("orders/cancelled", order(3, total="80.00", at="2026-01-11T14:00:00Z", customer_id=C2,
                                   updated_at="2026-01-11T20:00:00Z",
                                   cancelled_at="2026-01-11T20:00:00Z", refunded=["80.00"],
                                   financial_status="refunded")),
        ("orders/delete", {"id": 8}),
        ("customers/delete", {"id": C4}),
    )  # fmt: skip
    # The abandonment sweep marks k1, k2, k5, r1 abandoned; then an order recovers k2.
    between()
    sweep_abandoned(Resources(settings), now=datetime(2026, 2, 1, tzinfo=UTC))
    between()
    deliver(
        shop,
        settings,
        ("orders/create", order(9, total="45.50", at="2026-01-14T10:00:00Z", checkout_token="k2")),
        ("checkouts/create", checkout("k4", total="12.00", at="2026-01-12T16:00:00Z")),
        ("carts/create", cart("r3", at="2026-01-12T16:00:00Z")),
    )


EXPECTED = {
    "range": {"from": "2026-01-10", "to": "2026-01-12", "tz": NY, "days": 3},
    "currency": "EUR",
    "customers": {"total": 3, "new": 2},
    "orders": {"count": 5, "cancelled": 1, "net_count": 4},
    "sales": {
        "gross": "300.00",
        "cancellations": "80.00",
        "refunds": "20.00",
        "net": "200.00",
        "average_order_value": "50.00",
        # Shopify's definitions (docs/metrics.md, "Sales report"): the five orders placed in
        # the range sell their lines, 300.00 (no discounts, shipping or tax). Order 3's
        # cancellation, at 15:00 on the 11th in New York, returns its 80.00 that day. Order 2's
        # refund returns no goods (it has no refund lines, only a transaction), so Shopify's
        # returns leave it out. The average is (gross + discounts) / orders = 300.00 / 5.
        "shopify": {
            "gross_sales": "300.00",
            "discounts": "0.00",
            "returns": "-80.00",
            "net_sales": "220.00",
            "total_sales": "220.00",
            "average_order_value": "60.00",
        },
    },
    # shopify_net_sales: 100.00; 50.00 + 80.00 sold less 80.00 cancelled; 30.00 + 40.00.
    "revenue_by_day": [
        {
            "date": "2026-01-10",
            "orders": 1,
            "gross_sales": "100.00",
            "net_sales": "100.00",
            "shopify_net_sales": "100.00",
        },
        {
            "date": "2026-01-11",
            "orders": 2,
            "gross_sales": "130.00",
            "net_sales": "30.00",
            "shopify_net_sales": "50.00",
        },
        {
            "date": "2026-01-12",
            "orders": 2,
            "gross_sales": "70.00",
            "net_sales": "70.00",
            "shopify_net_sales": "70.00",
        },
    ],
    "top_customers": [
        {
            "id": str(C1),
            "email": f"c{C1}@example.com",
            "name": "Ada Lovelace",
            "orders": 2,
            "spent": "130.00",
        },
        {
            "id": str(C3),
            "email": f"c{C3}@example.com",
            "name": "Cy Lovelace",
            "orders": 1,
            "spent": "30.00",
        },
    ],
    "repeat_purchase": {"buyers": 2, "repeat_buyers": 1, "rate": 0.5},
    "checkouts": {
        "started": 4,
        "open": 1,
        "completed": 1,
        "abandoned": 1,
        "abandoned_value": "60.00",
        "recovered": 1,
        "recovered_value": "45.50",
        "abandonment_rate": 0.6667,
        "recovery_rate": 0.5,
    },
    "carts": {"created": 3, "abandoned": 1, "abandoned_value": "59.99"},
}


def test_insights_match_hand_computed_figures(
    shop: Sender, settings: Settings, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    _fill(shop, settings)
    response = api_client.get(f"/api/insights?{RANGE}&shopify=true", headers=owner["headers"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == EXPECTED


def test_figures_kept_in_memory_follow_every_later_write(
    shop: Sender, settings: Settings, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    """Buyers, top customers, customers, checkouts and carts are counted from columns kept in
    memory (dashboard_api/queries/columns.py). Asked for before each batch of later events
    (refunds, a cancellation, deletions, the sweep's status changes, new rows), they are read
    in full once and then only the rows written since; the last answer is still the
    hand-computed one."""
    url = f"/api/insights?{RANGE}&shopify=true"
    _fill(shop, settings, between=lambda: api_client.get(url, headers=owner["headers"]))
    held = columns.held(uuid.UUID(owner["tenant_id"]))
    assert set(held) == {"orders", "customers", "checkouts", "carts"}
    assert api_client.get(url, headers=owner["headers"]).get_json() == EXPECTED
    assert (
        columns.held(uuid.UUID(owner["tenant_id"]))["orders"] == 9
    )  # each order once, the deleted too


def test_shopify_figures_are_asked_for(
    shop: Sender, settings: Settings, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    """Without `shopify=true` the answer is the insights' own figures only (and cheaper)."""
    _fill(shop, settings)
    body = api_client.get(f"/api/insights?{RANGE}", headers=owner["headers"]).get_json()
    expected = json.loads(json.dumps(EXPECTED))
    del expected["sales"]["shopify"]
    for day in expected["revenue_by_day"]:
        del day["shopify_net_sales"]
    assert body == expected


def test_plain_function_agrees_with_the_endpoint(
    shop: Sender, settings: Settings, owner: dict[str, Any]
) -> None:
    """compute_insights (the parts on one session) is what the endpoint runs in parallel."""
    _fill(shop, settings)
    rng = DayRange(date(2026, 1, 10), date(2026, 1, 12), NY)
    with tenant_session(settings, owner["tenant_id"]) as session:
        result = compute_insights(
            session, tenant_id=uuid.UUID(owner["tenant_id"]), rng=rng, shopify=True
        )
    assert InsightsOut().dump(result) == EXPECTED


def test_days_follow_the_requested_time_zone(
    shop: Sender, settings: Settings, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    _fill(shop, settings)
    body = api_client.get(
        f"/api/insights?{RANGE}&tz=UTC&shopify=true", headers=owner["headers"]
    ).get_json()
    # In UTC, order 5 (Jan 10 04:30Z) is in and order 4 (Jan 13 04:30Z) is out.
    assert body["range"]["tz"] == "UTC"
    assert [d["gross_sales"] for d in body["revenue_by_day"]] == ["125.00", "130.00", "40.00"]
    assert body["sales"]["gross"] == "295.00"
    # Order 3's cancellation (20:00Z on the 11th) returns its 80.00 on the 11th in UTC too.
    assert [d["shopify_net_sales"] for d in body["revenue_by_day"]] == ["125.00", "50.00", "40.00"]
    assert body["sales"]["shopify"]["net_sales"] == "215.00"
    assert body["customers"]["new"] == 1  # C2 only: C3 arrived on Jan 13 in UTC


def test_empty_range_is_zero_filled(
    shop: Sender, settings: Settings, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    _fill(shop, settings)
    body = api_client.get(
        "/api/insights?from=2025-06-01&to=2025-06-03&shopify=true", headers=owner["headers"]
    ).get_json()
    assert body["orders"] == {"count": 0, "cancelled": 0, "net_count": 0}
    assert body["sales"] == {
        "gross": "0.00",
        "cancellations": "0.00",
        "refunds": "0.00",
        "net": "0.00",
        "average_order_value": None,
        "shopify": {
            "gross_sales": "0.00",
            "discounts": "0.00",
            "returns": "0.00",
            "net_sales": "0.00",
            "total_sales": "0.00",
            "average_order_value": None,
        },
    }
    assert body["revenue_by_day"] == [
        {
            "date": f"2025-06-0{d}",
            "orders": 0,
            "gross_sales": "0.00",
            "net_sales": "0.00",
            "shopify_net_sales": "0.00",
        }
        for d in (1, 2, 3)
    ]
    assert body["top_customers"] == []
    assert body["repeat_purchase"] == {"buyers": 0, "repeat_buyers": 0, "rate": None}
    assert body["checkouts"]["abandonment_rate"] is None
    assert body["checkouts"]["recovery_rate"] is None
    assert body["customers"] == {"total": 3, "new": 0}


def test_a_new_webhook_changes_the_next_answer(
    shop: Sender, settings: Settings, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    _fill(shop, settings)
    url = f"/api/insights?{RANGE}"
    first = api_client.get(url, headers=owner["headers"])
    again = api_client.get(url, headers=owner["headers"])
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("miss", "hit")
    assert again.get_json() == first.get_json()

    deliver(shop, settings, ("orders/create", order(10, total="5.25", at="2026-01-12T17:00:00Z")))
    after = api_client.get(url, headers=owner["headers"])
    assert after.headers["X-Cache"] == "miss"
    assert after.get_json()["sales"]["gross"] == "305.25"
    assert after.get_json()["orders"]["count"] == 6


def test_defaults_are_the_last_30_days_in_the_shop_time_zone(
    shop: Sender, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    body = api_client.get("/api/insights", headers=owner["headers"]).get_json()
    assert body["range"]["tz"] == NY
    assert body["range"]["days"] == 30
    assert len(body["revenue_by_day"]) == 30
    assert body["currency"] is None


def test_analyst_reads_insights(
    make_user: Any, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    analyst = make_user("analyst")
    response = api_client.get(f"/api/insights?{RANGE}", headers=analyst["headers"])
    assert response.status_code == 200
    assert response.get_json()["orders"]["count"] == 0


def test_insights_need_a_token(api_client: FlaskClient) -> None:
    response = api_client.get("/api/insights")
    assert response.status_code == 401
    assert response.get_json()["error"] in ("missing_token", "unauthorized")


def test_other_shops_data_is_not_counted(
    shop: Sender, settings: Settings, api_client: FlaskClient, make_owner: Any
) -> None:
    _fill(shop, settings)
    stranger = make_owner()
    body = api_client.get(f"/api/insights?{RANGE}", headers=stranger["headers"]).get_json()
    assert body["orders"]["count"] == 0
    assert body["customers"]["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-01-12&to=2026-01-10", "to"),
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("tz=Mars/Olympus_Mons", "tz"),
        ("tz=%2B03:00", "tz"),  # a POSIX offset PostgreSQL would take, but not an IANA name
        ("tz=", "tz"),
        ("from=2022-12-31&to=2025-12-31", "to"),  # more than three years (1096 days)
        ("channel=web&customer_type=vip", "customer_type"),
        ("from=0001-01-01&to=0001-01-02", "from"),
        ("to=9999-12-31", "to"),
    ],
)
def test_bad_arguments_answer_400_per_field(
    api_client: FlaskClient, owner: dict[str, Any], query: str, field: str
) -> None:
    response = api_client.get(f"/api/insights?{query}", headers=owner["headers"])
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert field in body["fields"]


def test_the_checkout_funnel_by_day_matches_hand_computed_figures(
    shop: Sender, settings: Settings, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    """GET /api/reports/checkouts: the same checkouts as the insights, by the local day each
    was started. k1 (10:00 on the 10th in New York) is abandoned; k2 (the 11th) recovered; k3
    (the 12th) completed and k4 (the 12th, after the sweep) open; k5 (23:00 on the 9th) is
    outside the range."""
    _fill(shop, settings)
    query = {"from": "2026-01-10", "to": "2026-01-12"}
    response = api_client.get(
        "/api/reports/checkouts", query_string=query, headers=owner["headers"]
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    zero = {"started": 0, "open": 0, "completed": 0, "abandoned": 0, "recovered": 0,
            "abandoned_value": "0.00", "recovered_value": "0.00"}  # fmt: skip
    assert body["days"] == [
        zero | {"date": "2026-01-10", "started": 1, "abandoned": 1, "abandoned_value": "60.00"},
        zero | {"date": "2026-01-11", "started": 1, "recovered": 1, "recovered_value": "45.50"},
        zero | {"date": "2026-01-12", "started": 2, "completed": 1, "open": 1},
    ]
    assert body["totals"] == EXPECTED["checkouts"]
    assert (body["from"], body["to"], body["tz"]) == ("2026-01-10", "2026-01-12", NY)
    as_csv = api_client.get(
        "/api/reports/checkouts", query_string=query | {"format": "csv"}, headers=owner["headers"]
    )
    assert as_csv.status_code == 200
    lines = as_csv.get_data(as_text=True).splitlines()
    assert len(lines) == 4 and lines[1].startswith("2026-01-10,")
