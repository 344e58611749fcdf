"""The analytics job: docs/metrics.md's hand-worked example reproduced exactly, segment
movement between two recomputes, and the job run by a real Celery worker on demand."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from core import jobs
from core.settings import Settings
from models.db import session_scope
from tests.support import customer_oracle as oracle
from tests.support.accounts import register_shop
from tests.support.customer_scenario import (
    Buyer,
    deliver,
    deliveries,
    hand_worked,
    order,
    refund,
)
from tests.support.processes import celery_worker, send_task
from workers.analytics.customers import recompute_tenant
from workers.runtime import celery_config

JUNE_30 = datetime(2026, 6, 30, 18, 0, tzinfo=UTC)
# docs/metrics.md, "A hand-worked example": (orders, gross, refunded, net, AOV, days between,
# recency, R, F, M, FM, segment) per customer.
EXAMPLE = {
    1: (3, "450.00", "0.00", "450.00", "150.00", "40.50", 5, 5, 5, 5, "5.0", "champions"),
    2: (2, "150.00", "20.00", "130.00", "75.00", "69.00", 10, 4, 4, 4, "4.0", "loyal"),
    3: (1, "300.00", "0.00", "300.00", "300.00", None, 71, 1, 1, 5, "3.0", "at_risk"),
    4: (2, "100.00", "0.00", "100.00", "50.00", "14.00", 44, 2, 4, 3, "3.5", "at_risk"),
    5: (1, "25.00", "0.00", "25.00", "25.00", None, 36, 3, 1, 1, "1.0", "almost_lost"),
    6: (1, "60.00", "0.00", "60.00", "60.00", None, 1, 5, 1, 2, "1.5", "new"),
    7: (0, "0.00", "0.00", "0.00", None, None, None, None, None, None, None, "prospects"),
}
FIELDS = (
    "orders", "gross_spend", "refunded", "net_spend", "average_order_value",
    "average_days_between_orders", "recency_days", "r_score", "f_score", "m_score", "fm_score",
    "segment",
)  # fmt: skip
# month -> months since -> (customers, retention, orders, net revenue)
COHORTS = {
    "2026-04-01": {
        0: (3, 1.0, 3, "480.00"), 1: (1, 0.3333, 1, "150.00"), 2: (2, 0.6667, 2, "250.00"),
    },
    "2026-05-01": {0: (2, 1.0, 3, "125.00")},
    "2026-06-01": {0: (1, 1.0, 1, "60.00")},
}  # fmt: skip


def get(api_client: FlaskClient, account: dict[str, Any], path: str, **query: Any) -> Any:
    response = api_client.get(path, query_string=query, headers=account["headers"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def recompute(settings: Settings, account: dict[str, Any], now: datetime) -> None:
    with session_scope(settings.database_url) as session:
        recompute_tenant(session, account["tenant_id"], now)


def test_the_hand_worked_example_of_the_docs(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    account = register_shop(api_client, settings, "UTC")
    data, buyers = hand_worked()
    deliver(client, settings, account, data, seed=5)
    recompute(settings, account, JUNE_30)
    items = get(api_client, account, "/api/analytics/customers", limit=50)["items"]
    got = {int(i["id"]) - buyers[0].id + 1: tuple(i[f] for f in FIELDS) for i in items}
    assert got == EXAMPLE
    # The oracle reads the same example the same way.
    expected = oracle.customers(data, date(2026, 6, 30), "UTC")
    assert {
        int(c) - buyers[0].id + 1: tuple(e[f] for f in FIELDS) for c, e in expected.items()
    } == EXAMPLE

    rfm = get(api_client, account, "/api/analytics/rfm")["segments"]
    counts = {s["segment"]: (s["customers"], s["net_spend"]) for s in rfm if s["customers"]}
    assert counts == {
        "champions": (1, "450.00"), "loyal": (1, "130.00"), "at_risk": (2, "400.00"),
        "almost_lost": (1, "25.00"), "new": (1, "60.00"), "prospects": (1, "0.00"),
    }  # fmt: skip
    answer = get(
        api_client, account, "/api/analytics/cohorts", **{"from": "2026-04-01", "to": "2026-06-30"}
    )
    table = {
        c["month"]: {
            m["months_since"]: (m["customers"], m["retention"], m["orders"], m["net_revenue"])
            for m in c["months"]
        }
        for c in answer["cohorts"]
    }
    assert table == COHORTS
    assert [c["customers"] for c in answer["cohorts"]] == [3, 2, 1]
    assert answer["returning_customers"] == {"customers": 6, "returning": 3, "rate": 0.5}
    june = get(
        api_client, account, "/api/analytics/cohorts", **{"from": "2026-06-01", "to": "2026-06-30"}
    )
    assert june["returning_customers"] == {"customers": 3, "returning": 2, "rate": 0.6667}
    assert [c["month"] for c in june["cohorts"]] == ["2026-06-01"]
    # Each order of A: the first new, the others returning.
    a = get(api_client, account, f"/api/customers/{buyers[0].id}/analytics")
    assert [o["customer_type"] for o in a["order_history"]] == ["new", "returning", "returning"]


def test_movement_compares_the_snapshots_of_two_days(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    account = register_shop(api_client, settings, "UTC")
    data, buyers = hand_worked()
    deliver(client, settings, account, data, seed=6)
    recompute(settings, account, JUNE_30)
    # In July: E comes back twice and G buys for the first time; a new customer H too.
    h = Buyer(8)
    back = refund(12, 1, "2026-07-26T12:00:00+00:00", 1)
    more = deliveries(
        [
            (order(11, "2026-07-20T12:00:00+00:00", "90.00"), buyers[4]),
            (order(12, "2026-07-25T12:00:00+00:00", "95.00", refunds=(back,)), buyers[4]),
            (order(13, "2026-07-28T12:00:00+00:00", "35.00"), buyers[6]),
            (order(14, "2026-07-30T12:00:00+00:00", "45.00"), h),
        ],
        [h],
    )  # fmt: skip
    deliver(client, settings, account, more, seed=7)
    july_31 = datetime(2026, 7, 31, 18, 0, tzinfo=UTC)
    recompute(settings, account, july_31)
    before = oracle.customers(data, date(2026, 6, 30), "UTC")
    after = oracle.customers(data + more, date(2026, 7, 31), "UTC")
    pairs: dict[tuple[str | None, str | None], int] = {}
    for cid in before.keys() | after.keys():
        key = (before.get(cid, {}).get("segment"), after.get(cid, {}).get("segment"))
        pairs[key] = pairs.get(key, 0) + 1
    answer = get(
        api_client,
        account,
        "/api/analytics/rfm/movement",
        **{"from": "2026-07-01", "to": "2026-08-15"},
    )
    assert answer["from_snapshot"] == "2026-06-30" and answer["to_snapshot"] == "2026-07-31"
    assert {(m["from"], m["to"]): m["customers"] for m in answer["moves"]} == pairs
    assert (None, after[str(h.id)]["segment"]) in pairs  # H is new since June
    assert (
        before[str(buyers[6].id)]["segment"] == "prospects" != after[str(buyers[6].id)]["segment"]
    )
    # The same day twice: everyone stays.
    same = get(
        api_client,
        account,
        "/api/analytics/rfm/movement",
        **{"from": "2026-07-31", "to": "2026-07-31"},
    )
    assert all(m["from"] == m["to"] for m in same["moves"])
    # A second recompute on the same local day replaces that day's snapshot, never adds one.
    recompute(settings, account, july_31)
    again = get(
        api_client,
        account,
        "/api/analytics/rfm/movement",
        **{"from": "2026-06-30", "to": "2026-07-31"},
    )
    assert sum(m["customers"] for m in again["moves"]) == len(before.keys() | after.keys())


def test_movement_counts_a_customer_who_left_as_moving_to_nothing(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    account = register_shop(api_client, settings, "UTC")
    data, buyers = hand_worked()
    deliver(client, settings, account, data, seed=9)
    recompute(settings, account, JUNE_30)
    # G, a prospect, is deleted; F's record too (F's order keeps F a customer, unknown).
    gone = deliveries(
        [], [Buyer(7, deleted=True, recorded=False), Buyer(6, deleted=True, recorded=False)]
    )
    deliver(client, settings, account, gone, seed=10)
    july_1 = datetime(2026, 7, 1, 18, 0, tzinfo=UTC)
    recompute(settings, account, july_1)
    before = oracle.customers(data, date(2026, 6, 30), "UTC")
    after = oracle.customers(data + gone, date(2026, 7, 1), "UTC")
    pairs: dict[tuple[str | None, str | None], int] = {}
    for cid in before.keys() | after.keys():
        key = (before.get(cid, {}).get("segment"), after.get(cid, {}).get("segment"))
        pairs[key] = pairs.get(key, 0) + 1
    answer = get(
        api_client, account, "/api/analytics/rfm/movement",
        **{"from": "2026-06-30", "to": "2026-07-01"},
    )  # fmt: skip
    moves = [(m["from"], m["to"], m["customers"]) for m in answer["moves"]]
    assert {(f, t): n for f, t, n in moves} == pairs
    assert ("prospects", None) in pairs and str(buyers[6].id) not in after
    # Sorted by segment, nothing first.
    keys = [(f is not None, f or "", t is not None, t or "") for f, t, _ in moves]
    assert keys == sorted(keys)


def test_post_recompute_runs_the_task_on_a_celery_worker(
    api_client: FlaskClient, client: FlaskClient, settings: Settings, tmp_path: Path
) -> None:
    account = register_shop(api_client, settings, "UTC")
    data, buyers = hand_worked()
    deliver(client, settings, account, data, seed=8)
    assert get(api_client, account, "/api/analytics/customers")["items"] == []
    with celery_worker(settings, tmp_path, concurrency=1) as worker:
        response = api_client.post("/api/analytics/recompute", headers=account["headers"])
        assert response.status_code == 202, response.get_data(as_text=True)
        task_id = response.get_json()["task_id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            items = get(api_client, account, "/api/analytics/customers", limit=50)["items"]
            if items:
                break
            time.sleep(0.2)
        log = worker.output()
    assert len(items) == len(buyers)
    assert f"Task {jobs.ANALYTICS_TENANT}[{task_id}] received" in log
    # Scored on the worker's today: the segments are those of the oracle for that day.
    as_of = date.fromisoformat(items[0]["as_of"])
    expected = oracle.customers(data, as_of, "UTC")
    assert {i["id"]: i["segment"] for i in items} == {c: e["segment"] for c, e in expected.items()}


def test_beat_recomputes_every_shop_nightly_on_the_sync_queue(settings: Settings) -> None:
    config = celery_config(settings)
    entry = config["beat_schedule"]["recompute-analytics"]
    assert entry["task"] == jobs.ANALYTICS_ALL
    assert entry["schedule"].total_seconds() == settings.analytics_interval == 86400
    for name in (jobs.ANALYTICS_ALL, jobs.ANALYTICS_TENANT):
        assert config["task_routes"][name]["queue"] == jobs.sync_queue(settings)


def test_the_nightly_fan_out_recomputes_each_shop(
    api_client: FlaskClient, client: FlaskClient, settings: Settings, tmp_path: Path
) -> None:
    a, b = (register_shop(api_client, settings, zone) for zone in ("UTC", "America/New_York"))
    data, _ = hand_worked()
    deliver(client, settings, a, data, seed=9)
    deliver(client, settings, b, data[:4], seed=10)
    with celery_worker(settings, tmp_path, concurrency=1):
        send_task(settings, jobs.ANALYTICS_ALL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = [get(api_client, s, "/api/analytics/rfm")["as_of"] for s in (a, b)]
            if all(done):
                break
            time.sleep(0.2)
    assert all(done)
    assert get(api_client, a, "/api/analytics/rfm")["customers"] == 7
    # The second shop has four customer records and no orders: four prospects.
    rfm_b = get(api_client, b, "/api/analytics/rfm")
    assert rfm_b["customers"] == 4
    assert {s["segment"]: s["customers"] for s in rfm_b["segments"]}["prospects"] == 4
