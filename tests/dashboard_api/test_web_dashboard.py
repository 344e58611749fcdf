"""The web dashboard in a real browser: Debian's Chromium, driven by Playwright, against the
dashboard served over HTTP, with data delivered through the receiver and drained as the
workers drain it. The figures on the page must be the independent computation's, to the cent.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from core.settings import Settings
from models import Order, Tenant
from models.db import session_scope
from shops.registration import verify_shop
from tests.dashboard_api.test_insights import EXPECTED as INSIGHTS
from tests.dashboard_api.test_insights import _fill as fill_insights_shop
from tests.eventlog.test_replay import (
    BROKEN,
    broken,  # noqa: F401 (the fixture, used by name)
    count,
    dead_letter_after_a_failure,
    fix,
)
from tests.plugins.browser import PHONE, screenshot
from tests.plugins.dashboard import PASSWORD
from tests.support import customer_oracle
from tests.support.accounts import register_shop
from tests.support.customer_scenario import deliver as deliver_customers
from tests.support.customer_scenario import generated
from tests.support.pipeline import drain_all
from tests.support.product_oracle import products_report
from tests.support.sales_oracle import Shop as SalesShop
from tests.support.sales_oracle import instant, sales_report
from tests.support.sales_scenario import march_and_april
from tests.support.samples import sample_json
from tests.support.webhooks import Sender
from workers.analytics.customers import recompute_tenant

Account = dict[str, Any]
NY = "America/New_York"


@pytest.fixture
def shop(api_client: FlaskClient, client: FlaskClient, settings: Settings) -> Account:
    """A New York shop with March and April 2026 delivered through the receiver and drained."""
    account = register_shop(api_client, settings, NY, label="web")
    sender = Sender(client, shop=account["shop"], secret=account["webhook_secret"])
    scenario = march_and_april()
    for topic, payload in scenario:
        assert sender.send(topic, payload).status_code == 200
    drain_all(settings)
    return account | {"scenario": scenario}


def sign_in(page: Page, base: str, email: str, path: str = "/app/") -> None:
    page.goto(base + path)
    expect(page).to_have_url(re.compile(r"/app/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/app/login"))
    expect(page.locator("main h1")).not_to_have_text("Sign in")


def expect_tile(page: Page, name: str, value: str) -> None:
    """The tile shows `value` (waiting for the page to re-read, as a person would)."""
    expect(page.locator(f"[data-kpi={name}] .value")).to_have_attribute("data-value", value)


def tile_value(page: Page, name: str) -> str:
    value = page.locator(f"[data-kpi={name}] .value")
    expect(value).to_be_visible()
    return str(value.get_attribute("data-value"))


def test_sign_in_read_the_tiles_and_change_the_range(
    page: Page, dashboard_url: str, shop: Account
) -> None:
    sign_in(page, dashboard_url, shop["email"])

    page.get_by_label("Period").select_option("custom")
    page.get_by_label("From", exact=True).fill("2026-03-01")
    page.get_by_label("To", exact=True).fill("2026-03-31")
    expect(page).to_have_url(re.compile(r"from=2026-03-01&to=2026-03-31"))
    expect(page.get_by_text("compared with 2026-01-29 to 2026-02-28")).to_be_visible()

    march = sales_report(shop["scenario"], date(2026, 3, 1), date(2026, 3, 31), NY)["totals"]
    expect_tile(page, "net_sales", march["net_sales"])
    expect_tile(page, "orders", str(march["orders"]))
    expect_tile(page, "average_order_value", march["average_order_value"])
    # The table under the chart has every day of the range, each the oracle's.
    page.get_by_text("The numbers").click()
    rows = page.locator("table", has_text="Sales by day").locator("tbody tr")
    expect(rows).to_have_count(31)
    screenshot(page, "overview")


def test_the_session_cookies_are_out_of_reach_of_scripts(
    page: Page, dashboard_url: str, shop: Account
) -> None:
    sign_in(page, dashboard_url, shop["email"])
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["cartwheel_access"]["httpOnly"] and cookies["cartwheel_refresh"]["httpOnly"]
    assert all(c["secure"] and c["sameSite"] == "Strict" for c in cookies.values())
    seen_by_script = page.evaluate("document.cookie")
    assert "cartwheel_access" not in seen_by_script and "cartwheel_refresh" not in seen_by_script

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/app/login"))
    page.goto(dashboard_url + "/app/")
    expect(page).to_have_url(re.compile(r"/app/login"))


def test_a_wrong_password_is_said_so(page: Page, dashboard_url: str, shop: Account) -> None:
    page.goto(dashboard_url + "/app/login")
    page.get_by_label("Email").fill(shop["email"])
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The email address or the password is wrong.")


def test_another_shops_user_sees_none_of_its_data(
    page: Page,
    dashboard_url: str,
    shop: Account,
    api_client: FlaskClient,
    settings: Settings,
) -> None:
    other = register_shop(api_client, settings, NY, label="other")
    sign_in(page, dashboard_url, other["email"], "/app/?from=2026-03-01&to=2026-04-30")
    expect_tile(page, "orders", "0")
    expect_tile(page, "net_sales", "0.00")
    expect(page.locator("#who-email")).to_contain_text(other["email"])


def an_order_placed_now() -> dict[str, Any]:
    """Shopify's sample order, placed now (not a test, not cancelled), with an id of its own."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return sample_json("orders_create") | {
        "id": uuid.uuid4().int >> 70,
        "test": False,
        "cancelled_at": None,
        "cancel_reason": None,
        "created_at": now,
        "processed_at": now,
        "updated_at": now,
    }


def test_an_order_sent_to_the_receiver_shows_live_without_a_reload(
    page: Page,
    dashboard_url: str,
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
) -> None:
    account = register_shop(api_client, settings, NY, label="live")
    sign_in(page, dashboard_url, account["email"])  # the last 30 days, today included
    expect_tile(page, "orders", "0")
    expect(page.locator("#live-status")).to_contain_text("Live")
    page.evaluate("window.stillTheSamePage = true")

    order = an_order_placed_now()
    sender = Sender(client, shop=account["shop"], secret=account["webhook_secret"])
    assert sender.send("orders/create", order).status_code == 200
    drain_all(settings)

    expect_tile(page, "orders", "1")
    today = datetime.now(ZoneInfo(NY)).date()
    expected = sales_report([("orders/create", order)], today - timedelta(days=29), today, NY)
    expect_tile(page, "net_sales", expected["totals"]["net_sales"])
    expect(page.get_by_role("list", name="Latest changes")).to_contain_text("orders/create")
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, "overview-live")


def test_open_a_customer_from_the_list(
    page: Page,
    dashboard_url: str,
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
) -> None:
    account = register_shop(api_client, settings, NY, label="customers")
    data, _ = generated(seed=11)
    deliver_customers(client, settings, account, data, seed=3)
    with session_scope(settings.database_url) as session:
        recompute_tenant(session, account["tenant_id"], datetime(2026, 7, 1, 16, tzinfo=UTC))
    expected = customer_oracle.customers(data, date(2026, 7, 1), NY)
    by_spend = sorted(expected.values(), key=lambda c: (-Decimal(c["net_spend"]), -int(c["id"])))

    sign_in(page, dashboard_url, account["email"])
    page.get_by_role("link", name="Customers").click()
    segments = customer_oracle.rfm(data, date(2026, 7, 1), NY)
    grid = page.locator("[data-segment]")
    expect(grid.first).to_be_visible()
    shown = {c.get_attribute("data-segment"): c.inner_text() for c in grid.all()}
    for name, figures in segments.items():
        if figures["customers"]:
            assert f"{figures['customers']} customers" in shown[name], (name, shown.get(name))
            assert f"{dollars(figures['net_spend'])} net spend" in shown[name], name
    rows = page.locator("table", has_text="Net spend").locator("tbody tr")
    expect(rows.first).to_contain_text(f"${Decimal(by_spend[0]['net_spend']):,.2f}")
    screenshot(page, "customers")
    rows.first.get_by_role("link").click()
    top = by_spend[0]
    expect(page).to_have_url(re.compile(rf"/app/customers/{top['id']}$"))
    net = page.locator("[data-fact='Net spend (historical CLV)']")
    expect(net).to_have_text(f"${Decimal(top['net_spend']):,.2f}")
    expect(page.locator("[data-fact=Orders]")).to_have_text(str(top["orders"]))
    expect(page.locator("[data-fact='RFM segment']")).to_have_text(top["segment"].replace("_", " "))
    screenshot(page, "customer")


@pytest.mark.usefixtures("broken")
def test_replay_a_dead_letter(
    page: Page,
    dashboard_url: str,
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
) -> None:
    account = register_shop(api_client, settings, NY, label="ops")
    sender = Sender(client, shop=account["shop"], secret=account["webhook_secret"])
    dead = dead_letter_after_a_failure(sender, settings)
    sign_in(page, dashboard_url, account["email"])
    page.get_by_role("link", name="Operations").click()
    row = page.locator("tbody tr", has_text="orders/create")
    expect(row).to_contain_text("refused")
    screenshot(page, "operations")

    fix(settings)  # the cause is fixed; the owner replays the delivery
    page.get_by_role("button", name=f"Replay dead letter {dead.id}").click()
    expect(row.locator("[data-status]")).to_have_text("replayed")
    drain_all(settings)
    assert count(settings, Order, Order.shopify_id == BROKEN) == 1


def dollars(text: str) -> str:
    """Money text as the page shows it in USD (en-US)."""
    value = Decimal(text)
    return f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def test_products_by_vendor_and_filtered_by_one(
    page: Page, dashboard_url: str, shop: Account
) -> None:
    sign_in(page, dashboard_url, shop["email"], "/app/products?from=2026-03-01&to=2026-04-30")
    page.get_by_label("Rows").select_option("vendor")
    expect(page).to_have_url(re.compile(r"group_by=vendor"))
    header = page.locator("table", has_text="Sell-through").locator("th").first
    expect(header).to_have_text("Vendor")
    start, end = date(2026, 3, 1), date(2026, 4, 30)
    by_vendor = products_report(shop["scenario"], start, end, NY, "vendor")["items"]
    rows = page.locator("table", has_text="Sell-through").locator("tbody tr")
    expect(rows).to_have_count(len(by_vendor))
    shown = {r.locator("td").nth(0).inner_text(): r.locator("td").nth(3).inner_text()
             for r in rows.all()}  # fmt: skip
    assert shown == {(k or "No vendor"): dollars(v["net_sales"]) for k, v in by_vendor.items()}

    vendor = max(by_vendor, key=lambda k: Decimal(by_vendor[k]["net_sales"]))
    page.get_by_label("Rows").select_option("product")
    expect(header).to_have_text("Product")  # the page re-read by product, then the filter
    page.get_by_label("Vendor").fill(vendor)
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"vendor="))
    mine = products_report(shop["scenario"], start, end, NY, "product", vendor=vendor)["items"]
    expect(rows).to_have_count(len(mine))
    sales = sorted(r.locator("td").nth(3).inner_text() for r in rows.all())
    assert sales == sorted(dollars(v["net_sales"]) for v in mine.values())
    screenshot(page, "products")


def test_orders_page_by_page_filtered_and_one_opened(
    page: Page, dashboard_url: str, shop: Account
) -> None:
    known = SalesShop.of(shop["scenario"])
    listed = [o for o in known.orders.values() if o["id"] not in known.deleted]

    def refunds_of(order_id: int) -> list[Any]:
        return [r for r in known.refunds.values() if r["order_id"] == order_id]

    sign_in(page, dashboard_url, shop["email"], "/app/orders?limit=5")
    rows = page.locator("table", has_text="Fulfillment").locator("tbody tr")
    expect(rows).to_have_count(5)
    older = page.get_by_role("button", name="Older orders")
    while older.is_visible():
        shown = rows.count()
        older.click()
        expect(rows).not_to_have_count(shown)
    names = [r.locator("td").nth(0).inner_text() for r in rows.all()]
    newest_first = sorted(listed, key=lambda o: (instant(o["created_at"]), o["id"]), reverse=True)
    assert names == [o["name"] for o in newest_first]

    page.get_by_label("Payment").select_option("refunded")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"financial_status=refunded"))
    refunded = [o for o in listed if o["financial_status"] == "refunded"]
    expect(rows).to_have_count(len(refunded))

    order = max(listed, key=lambda o: len(refunds_of(o["id"])))
    page.goto(f"{dashboard_url}/app/orders/{order['id']}")
    expect(page.locator("[data-fact=Total]")).to_have_text(dollars(order["total_price"]))
    refunds = page.locator("table", has_text="The order's refunds").locator("tbody tr")
    expect(refunds).to_have_count(len(refunds_of(order["id"])))
    lines = page.locator("table", has_text="The order's lines").locator("tbody tr")
    expect(lines).to_have_count(len(order["line_items"]))
    screenshot(page, "order")


def test_invite_an_analyst_who_accepts_and_sees_no_settings(
    page: Page,
    chromium: Browser,
    dashboard_url: str,
    api_client: FlaskClient,
    settings: Settings,
) -> None:
    owner = register_shop(api_client, settings, NY, label="team")
    sign_in(page, dashboard_url, owner["email"])
    page.get_by_role("link", name="Settings").click()
    analyst = f"analyst-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Email").fill(analyst)
    page.get_by_label("Role", exact=True).select_option("analyst")
    page.get_by_role("button", name="Invite").click()
    link = page.get_by_label(f"Invite link for {analyst}").input_value()
    assert link.startswith(f"{dashboard_url}/app/invite?token=")

    page.get_by_label("Key name").fill("warehouse")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("Key warehouse").input_value()
    screenshot(page, "settings")
    page.reload()
    listed = page.locator("table", has_text="Starts with").locator("tbody tr", has_text="warehouse")
    prefix = listed.locator("td").nth(1).inner_text()
    assert key.startswith(prefix) and len(key) > len(prefix)
    assert key not in page.content()  # shown once, never again

    other = chromium.new_context()
    try:
        invited = other.new_page()
        invited.goto(link)
        invited.get_by_label("New password").fill(PASSWORD)
        invited.get_by_role("button", name="Accept").click()
        expect(invited.get_by_role("status")).to_contain_text("sign in")
        sign_in(invited, dashboard_url, analyst)
        expect(invited.get_by_role("heading", name="Overview")).to_be_visible()
        expect(invited.get_by_role("link", name="Settings")).to_be_hidden()
        expect(invited.get_by_role("link", name="Operations")).to_be_hidden()
        invited.goto(f"{dashboard_url}/app/settings")
        expect(invited.locator("main")).to_contain_text("for the shop's owners and admins")
    finally:
        other.close()


def test_register_connect_and_watch_the_first_events_arrive(
    page: Page, dashboard_url: str, client: FlaskClient, settings: Settings
) -> None:
    tag = uuid.uuid4().hex[:8]
    shop, email, secret = (
        f"new-{tag}.myshopify.com",
        f"merchant-{tag}@example.com",
        uuid.uuid4().hex,
    )
    page.goto(f"{dashboard_url}/app/login")
    page.get_by_role("link", name="Register a shop").click()
    page.get_by_label("Shop name").fill("New shop")
    page.get_by_label("Store address").fill(shop)
    page.get_by_label("Your email").fill(email)
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_label("Your app's client secret").fill(secret)
    page.get_by_label("Time zone").select_option(NY)
    page.get_by_role("button", name="Register").click()
    page.get_by_role("status").get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up the shop")).to_be_visible()
    expect(page.locator("[data-verified]")).to_have_attribute("data-verified", "false")
    toml = page.get_by_label("shopify.app.toml webhooks section").inner_text()
    assert 'uri = "https://<your receiver>/webhooks/orders"' in toml
    assert '"orders/create"' in toml and 'compliance_topics = ["customers/data_request"' in toml

    with session_scope(settings.database_url) as session:  # as an operator would
        tenant = session.scalar(select(Tenant).where(Tenant.shop_domain == shop))
        assert tenant is not None and verify_shop(session, tenant_id=tenant.id)
    page.reload()
    expect(page.locator("[data-verified]")).to_have_attribute("data-verified", "true")
    expect(page.locator("#first-events")).to_contain_text("Nothing yet")

    sender = Sender(client, shop=shop, secret=secret)
    assert sender.send("orders/create", an_order_placed_now()).status_code == 200
    drain_all(settings)
    expect(page.locator("#first-events")).to_contain_text("orders/create")
    screenshot(page, "setup")


def test_the_checkout_funnel(
    page: Page,
    dashboard_url: str,
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
) -> None:
    account = register_shop(api_client, settings, NY, label="funnel")
    fill_insights_shop(
        Sender(client, shop=account["shop"], secret=account["webhook_secret"]), settings
    )
    sign_in(page, dashboard_url, account["email"], "/app/checkouts?from=2026-01-10&to=2026-01-12")
    expected = INSIGHTS["checkouts"]  # worked by hand in test_insights.py
    for step in ("started", "completed", "recovered", "abandoned", "open"):
        figure = page.locator(f"[data-step={step}] .figure")
        expect(figure).to_have_attribute("data-value", str(expected[step]))
    value = page.locator("[data-kpi=recovered_value] .value")
    expect(value).to_have_attribute("data-value", expected["recovered_value"])
    page.get_by_text("The numbers").click()
    days = page.locator("table", has_text="Checkouts by day").locator("tbody tr")
    expect(days).to_have_count(3)
    screenshot(page, "checkouts")


def test_the_overview_fits_a_phone(page: Page, dashboard_url: str, shop: Account) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, dashboard_url, shop["email"], "/app/?from=2026-03-01&to=2026-04-30")
    tile_value(page, "net_sales")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"
    screenshot(page, "overview-phone")
