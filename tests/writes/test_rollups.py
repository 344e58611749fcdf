"""The daily rollups, proved: after any sequence of deliveries they equal a recompute from the
rows, and the reports read from them equal a plain-Python reading of the payloads.

Hypothesis picks orders of the sales scenario (refunds in later months, cancellations, guests,
test and deleted orders, a DST day, a non-UTC shop), deletions, a shuffle and a drain size; every
payload goes through the real pipeline twice (retries and re-sends), out of order, for two shops
with the same Shopify ids at other prices and costs. Then, for each shop: every rollup row is
what `cartwheel rollups rebuild` computes from the rows; the sales report, whole and per
segment (channel, customer type), matches the oracles to the cent; and each variant's product
sums match theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from cartwheel.cli import main
from core.crypto import generate_key
from core.settings import Settings
from models.db import session_scope
from resources.rows import EntityRow, Tombstone
from shops.registration import add_tenant
from tests.support.accounts import register_shop
from tests.support.pipeline import drain_all
from tests.support.rollup_oracle import segment_report, variant_totals, with_buyers
from tests.support.rollup_rows import kept_and_rebuilt, rollup_rows
from tests.support.sales_oracle import differences, money, sales_report
from tests.support.sales_scenario import deliveries_of, repriced, sales, shuffled_twice
from tests.support.webhooks import Sender
from writes import write_rows
from writes.rollup_days import rebuild

Account = dict[str, Any]
NY = "America/New_York"
START, END = date(2026, 2, 1), date(2026, 6, 30)
SALES = sales()


def report(api_client: FlaskClient, account: Account, **query: str) -> dict[str, Any]:
    query = {"from": START.isoformat(), "to": END.isoformat()} | query
    response = api_client.get("/api/reports/sales", query_string=query, headers=account["headers"])
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def deliver(
    client: FlaskClient,
    settings: Settings,
    batches: list[tuple[Account, list]],
    after_round: Callable[[], None] = lambda: None,
) -> None:
    """Each shop's copies in turns of its own chunk size, drained (and checked) every round."""
    queues = [
        (Sender(client, shop=a["shop"], secret=a["webhook_secret"]), list(copies), chunk)
        for a, (copies, chunk) in batches
    ]
    while any(copies for _, copies, _ in queues):
        for sender, copies, chunk in queues:
            for topic, payload, webhook_id in copies[:chunk]:
                response = sender.send(topic, payload, webhook_id=webhook_id)
                assert response.status_code == 200, (topic, response.get_json())
            del copies[:chunk]
        drain_all(settings)
        after_round()


def product_sums(settings: Settings, tenant_id: uuid.UUID) -> dict[tuple[int, int], dict]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            text(
                "SELECT product_id, variant_id, SUM(units_sold) AS sold, "
                "SUM(units_returned) AS returned, SUM(gross_sales) AS gross, "
                "SUM(discounts) AS discounts, SUM(returns) AS returns, SUM(net_sales) AS net "
                "FROM product_sales_daily WHERE tenant_id = :t GROUP BY 1, 2"
            ),
            {"t": tenant_id},
        )
        return {(r.product_id, r.variant_id): r._asdict() for r in rows}


def product_problems(expected: dict, got: dict) -> list[str]:
    problems = []
    for key in expected.keys() | got.keys():
        want = expected.get(key) or dict.fromkeys(("sold", "returned"), 0)
        have = got.get(key) or {}
        for name in ("sold", "returned"):
            if int(want.get(name, 0)) != int(have.get(name) or 0):
                problems.append(f"{key} {name}: expected {want.get(name)}, got {have.get(name)}")
        for name in ("gross", "discounts", "returns"):
            if money(Decimal(want.get(name, 0))) != money(Decimal(have.get(name) or 0)):
                problems.append(f"{key} {name}: expected {want.get(name)}, got {have.get(name)}")
        net = want.get("gross", 0) + want.get("discounts", 0) + want.get("returns", 0)
        if money(Decimal(net)) != money(Decimal(have.get("net") or 0)):
            problems.append(f"{key} net: expected {net}, got {have.get('net')}")
    return problems


@hypothesis_settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_rollups_equal_a_recompute_and_the_oracles_after_random_deliveries(
    api_client: FlaskClient, client: FlaskClient, settings: Settings, data: st.DataObject
) -> None:
    picked = data.draw(
        st.lists(st.sampled_from(range(len(SALES))), min_size=3, unique=True), label="orders"
    )
    chosen = [SALES[n] for n in sorted(picked)]
    deleted = data.draw(st.sets(st.sampled_from([s.id for s in chosen])), label="deleted")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    chunk = data.draw(st.sampled_from([5, 17, 60]), label="chunk")
    a, b = register_shop(api_client, settings, NY), register_shop(api_client, settings, "UTC")
    a_data = with_buyers(deliveries_of(chosen)) + [("orders/delete", {"id": i}) for i in deleted]
    b_data = with_buyers(deliveries_of([repriced(s, 3) for s in chosen], costs=2))
    rounds: list[int] = []

    def rollups_equal_a_recompute() -> None:  # after every drain, not only at the end
        rounds.append(len(rounds))
        for account in (a, b):
            kept, fresh = kept_and_rebuilt(settings, account["tenant_id"])
            diff = {t: set(kept[t]) ^ set(fresh[t]) for t in kept}
            assert kept == fresh, f"round {len(rounds)}: rollups differ from a recompute: {diff}"

    copies = [
        (a, (shuffled_twice(a_data, seed), chunk)),
        (b, (shuffled_twice(b_data, seed + 1), 23)),
    ]
    deliver(client, settings, copies, rollups_equal_a_recompute)
    problems: list[str] = []
    for account, zone, payloads in ((a, NY, a_data), (b, "UTC", b_data)):
        expected = sales_report(payloads, START, END, zone)
        problems += [f"[{zone}] {d}" for d in differences(expected, report(api_client, account))]
        got = product_sums(settings, account["tenant_id"])
        problems += [
            f"[{zone} products] {p}" for p in product_problems(variant_totals(payloads), got)
        ]
    for query in ({"customer_type": t} for t in ("new", "returning", "guest")):
        problems += _segment_problems(api_client, a, a_data, query)
    for query in ({"channel": c} for c in ("web", "pos")):
        problems += _segment_problems(api_client, a, a_data, query)
    assert not problems, "\n".join(problems)


def _segment_problems(
    api_client: FlaskClient, account: Account, payloads: list, query: dict[str, str]
) -> list[str]:
    expected = segment_report(payloads, START, END, NY, **query)  # type: ignore[arg-type]
    got = report(api_client, account, **query)
    where = ",".join(f"{k}={v}" for k, v in query.items())
    return [
        f"[{where}] {day['date']} {name}: expected {day[name]}, got {have[name]}"
        for day, have in zip(
            [expected["totals"] | {"date": "totals"}, *expected["days"]],
            [got["totals"], *got["days"]],
            strict=True,
        )
        for name in day
        if name != "date" and day[name] != have[name]
    ]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kolkata"])
def test_another_zone_is_summed_from_the_rows_with_the_same_answer(
    api_client: FlaskClient, client: FlaskClient, settings: Settings, zone: str
) -> None:
    # The rollups are bucketed in the shop's zone; a report in any other zone (a half-hour
    # one too) is answered from the rows and still matches the oracle.
    shop = register_shop(api_client, settings, NY)
    payloads = with_buyers(deliveries_of(SALES[:8]))
    deliver(client, settings, [(shop, (shuffled_twice(payloads, 5), 40))])
    expected = sales_report(payloads, START, END, zone)
    assert not differences(expected, report(api_client, shop, tz=zone))
    problems = _segment_problems(api_client, shop, payloads, {"customer_type": "returning"})
    assert not [p for p in problems if "totals" in p]


def test_a_bad_segment_is_400_and_names_the_field(
    api_client: FlaskClient, settings: Settings
) -> None:
    shop = register_shop(api_client, settings, NY)
    for query, field in (
        (("customer_type", "vip"), "customer_type"),
        (("channel", "x" * 65), "channel"),
    ):
        response = api_client.get(
            "/api/reports/sales", query_string=dict([query]), headers=shop["headers"]
        )
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.get_json()["error"] == "invalid_request"
        assert field in response.get_json()["fields"]


# The write path's bookkeeping, row by row (rolled back per test).

T0 = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def tenant_id(db_session: Session) -> uuid.UUID:
    shop = f"r-{uuid.uuid4().hex[:8]}.myshopify.com"
    tenant = add_tenant(
        db_session, shop=shop, name="R", webhook_secret="s", secret_keys=generate_key()
    )
    db_session.flush()
    return tenant.id


def version(tenant_id: uuid.UUID, key: int, *, placed: datetime, seen: int = 0, **values: Any):
    """An order version (newer with a higher `seen`) of 10.00 with one 10.00 line."""
    return EntityRow(
        resource="orders",
        tenant_id=tenant_id,
        key=key,
        values={"processed_at": placed, "created_at": placed, "total_price": Decimal("10.00"),
                "customer_id": 7, "source_name": "web", **values},
        updated_at=T0 + timedelta(minutes=seen),
        triggered_at=None,
        source=f"webhook-{key}-{seen}",
        payload={"id": key},
        children={"line_items": [
            {"shopify_id": key * 10, "quantity": 1, "price": Decimal("10.00")}
        ]},
    )  # fmt: skip


def daily(session: Session, tenant_id: uuid.UUID) -> set[tuple[Any, ...]]:
    """(day, channel, customer type, orders, gross sales) of every sales rollup row."""
    rows = session.execute(
        text(
            "SELECT day, channel, customer_type, orders, gross_sales FROM sales_daily "
            "WHERE tenant_id = :t"
        ),
        {"t": tenant_id},
    )
    return {(r.day.isoformat(), r.channel, r.customer_type, r.orders, r.gross_sales) for r in rows}


def equal_to_a_rebuild(session: Session, tenant_id: uuid.UUID) -> bool:
    kept = rollup_rows(session, tenant_id)
    with session.begin_nested() as nested:
        rebuild(session, tenant_id)
        fresh = rollup_rows(session, tenant_id)
        nested.rollback()
    return kept == fresh


def test_an_earlier_order_delivered_later_turns_the_first_one_returning(
    db_session: Session, tenant_id: uuid.UUID
) -> None:
    write_rows(db_session, [version(tenant_id, 2, placed=T0)])
    assert daily(db_session, tenant_id) == {("2026-03-10", "web", "new", 1, Decimal("10.0000"))}
    write_rows(db_session, [version(tenant_id, 1, placed=T0 - timedelta(days=9))])
    assert daily(db_session, tenant_id) == {
        ("2026-03-01", "web", "new", 1, Decimal("10.0000")),
        ("2026-03-10", "web", "returning", 1, Decimal("10.0000")),
    }
    # Deleting the first order makes the other one the first again.
    tombstone = Tombstone("orders", tenant_id, 1, T0)
    write_rows(db_session, [], [tombstone])
    assert daily(db_session, tenant_id) == {("2026-03-10", "web", "new", 1, Decimal("10.0000"))}
    assert equal_to_a_rebuild(db_session, tenant_id)


def test_an_update_moves_an_order_off_its_old_day_channel_and_into_test(
    db_session: Session, tenant_id: uuid.UUID
) -> None:
    write_rows(db_session, [version(tenant_id, 1, placed=T0)])
    moved = version(tenant_id, 1, placed=T0 + timedelta(days=2), seen=1, source_name="pos")
    write_rows(db_session, [moved])
    assert daily(db_session, tenant_id) == {("2026-03-12", "pos", "new", 1, Decimal("10.0000"))}
    # A stale version changes nothing; a newer test version takes the order out.
    write_rows(db_session, [version(tenant_id, 1, placed=T0)])
    assert daily(db_session, tenant_id) == {("2026-03-12", "pos", "new", 1, Decimal("10.0000"))}
    write_rows(db_session, [version(tenant_id, 1, placed=T0, seen=2, test=True)])
    assert daily(db_session, tenant_id) == set()
    assert equal_to_a_rebuild(db_session, tenant_id)


def test_the_rebuild_command_restores_lost_rollup_rows(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        shop = f"c-{uuid.uuid4().hex[:8]}.myshopify.com"
        tenant = add_tenant(
            session, shop=shop, name="C", webhook_secret="s", secret_keys=generate_key()
        )
        session.flush()
        tenant_id = tenant.id
        write_rows(session, [version(tenant_id, 1, placed=T0), version(tenant_id, 2, placed=T0)])
    with session_scope(settings.database_url) as session:
        kept = daily(session, tenant_id)
        session.execute(text("DELETE FROM sales_daily WHERE tenant_id = :t"), {"t": tenant_id})
    assert kept == {("2026-03-10", "web", "new", 1, Decimal("10.0000")),
                    ("2026-03-10", "web", "returning", 1, Decimal("10.0000"))}  # fmt: skip
    result = CliRunner().invoke(
        main, ["rollups", "rebuild", "--tenant", shop], env=settings.to_env()
    )
    assert result.exit_code == 0, result.output
    assert f"{tenant_id}: 1 days" in result.output
    with session_scope(settings.database_url) as session:
        assert daily(session, tenant_id) == kept
    unknown = CliRunner().invoke(
        main, ["rollups", "rebuild", "--tenant", "nobody.myshopify.com"], env=settings.to_env()
    )
    assert unknown.exit_code != 0
