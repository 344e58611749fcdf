"""Tenants never see each other: row-level security and a schema audit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import pytest
from alembic import command
from flask.testing import FlaskClient
from sqlalchemy import Connection, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cartwheel.migrate import alembic_config, upgrade
from core.settings import API_DB_ROLE, Settings
from dashboard_api import create_app
from dashboard_api.db import anonymous_session, tenant_session
from dashboard_api.views.data.lists import RESOURCES
from models import Customer, Order
from models.db import get_engine, session_scope
from receiver import create_app as create_receiver
from shops.registration import verify_shop
from tests.plugins.dashboard import PASSWORD, login
from tests.support import services
from tests.support.pipeline import drain_all
from tests.support.samples import sample_json
from tests.support.shop_builders import deliver
from tests.support.webhooks import Sender

Account = dict[str, Any]

TENANT_TABLES = text(
    """
    SELECT c.table_name, CASE WHEN c.table_name = 'tenants' THEN 'id' ELSE 'tenant_id' END
    FROM information_schema.columns AS c
    JOIN information_schema.tables AS t USING (table_schema, table_name)
    WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
      AND (c.column_name = 'tenant_id' OR (c.table_name = 'tenants' AND c.column_name = 'id'))
    ORDER BY 1
    """
)


def tenant_tables(settings: Settings) -> list[tuple[str, str]]:
    """(table, tenant column) of every table that holds tenant rows."""
    with get_engine(settings.database_url).connect() as conn:
        return tenant_tables_in(conn)


def tenant_tables_in(conn: Connection) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in conn.execute(TENANT_TABLES)]


def readable_tenant_tables(settings: Settings) -> list[tuple[str, str]]:
    """The tenant tables the API role may read at all (no grant is isolation too)."""
    with get_engine(settings.database_url).connect() as conn:
        return [
            (table, column)
            for table, column in tenant_tables(settings)
            if conn.scalar(
                text("SELECT has_table_privilege(:role, :table, 'SELECT')"),
                {"role": API_DB_ROLE, "table": table},
            )
        ]


def _with_money_parts(order: dict[str, Any]) -> dict[str, Any]:
    """The 2026-04 sample order, with a discount, a tax line and a duty besides."""
    amount = {"shop_money": {"amount": "5.00"}, "presentment_money": {"amount": "5.00"}}
    first = order["line_items"][0] | {
        "discount_allocations": [
            {"amount": "5.00", "amount_set": amount, "discount_application_index": 0}
        ],
        "duties": [{"id": "1", "shop_money": {"amount": "5.00"}}],
    }
    return order | {
        "line_items": [first, *order["line_items"][1:]],
        "discount_applications": [{"type": "manual", "value": "5.0", "value_type": "fixed_amount"}],
        "discount_codes": [{"code": "SPRING", "amount": "5.00", "type": "fixed_amount"}],
        "tax_lines": [{"title": "VAT", "rate": 0.2, "price": "5.00", "price_set": amount}],
    }


def _with_refund_parts(refund: dict[str, Any]) -> dict[str, Any]:
    """The 2026-04 sample refund, with refunded shipping, an adjustment and a duty besides."""
    amount = {"shop_money": {"amount": "1.00"}, "presentment_money": {"amount": "1.00"}}
    return refund | {
        "refund_shipping_lines": [
            {"id": 1, "shipping_line_id": 271878346596884000, "subtotal_amount_set": amount}
        ],
        "order_adjustments": [{"id": 1, "kind": "refund_discrepancy", "amount_set": amount}],
        "duties": [{"duty_id": "1", "amount_set": amount}],
    }


def feed(client: FlaskClient, account: Account, email: str) -> None:
    """Shopify's sample payloads for one shop, with its own customer email, through /webhooks."""
    sender = Sender(client, shop=account["shop"], secret=account["webhook_secret"])
    customer = sample_json("customers_create") | {"email": email}
    order = _with_money_parts(sample_json("2026-04/orders_create")) | {"email": email}
    for topic, payload in [
        ("customers/create", customer),
        ("products/create", sample_json("products_create")),
        ("orders/create", order),
        ("orders/edited", sample_json("2026-04/orders_edited")),
        ("refunds/create", _with_refund_parts(sample_json("2026-04/refunds_create"))),
        ("order_transactions/create", sample_json("2026-04/order_transactions_create")),
        ("fulfillments/create", sample_json("2026-04/fulfillments_create")),
        ("inventory_items/create", sample_json("2026-04/inventory_items_create")),
        ("inventory_levels/update", sample_json("2026-04/inventory_levels_update")),
        ("checkouts/create", sample_json("checkouts_create")),
        ("carts/create", sample_json("carts_create")),
    ]:
        assert sender.send(topic, payload).status_code == 200, topic


@pytest.fixture
def two_tenants(
    api_client: FlaskClient,
    client: FlaskClient,
    make_owner: Callable[..., Account],
    settings: Settings,
) -> tuple[Account, Account]:
    """Two shops with the same Shopify ids in their data, users, invites and keys."""
    a, b = make_owner(), make_owner()
    for account, name in ((a, "a"), (b, "b")):
        feed(client, account, f"buyer-{name}@example.com")
        headers = account["headers"]
        api_client.post("/api/ingest-keys", json={"name": f"key {name}"}, headers=headers)
        invite = {"email": f"invitee-{name}-{uuid.uuid4().hex[:6]}@example.com", "role": "analyst"}
        api_client.post("/api/invites", json=invite, headers=headers)
        # A user of the shop with a pending password reset.
        joiner = {"email": f"joiner-{name}-{uuid.uuid4().hex[:6]}@example.com", "role": "analyst"}
        token = api_client.post("/api/invites", json=joiner, headers=headers).get_json()["token"]
        user = api_client.post("/invites/accept", json={"token": token, "password": PASSWORD})
        reset = api_client.post(
            f"/api/users/{user.get_json()['user']['id']}/password-reset", headers=headers
        )
        assert reset.status_code == 201, reset.get_json()
    drain_all(settings)
    return a, b


POPULATED = {
    "tenants",
    "users",
    "refresh_tokens",
    "invites",
    "password_resets",
    "api_keys",
    "customers",
    "products",
    "product_variants",
    "orders",
    "order_line_items",
    "order_shipping_lines",
    "order_discount_applications",
    "order_discount_allocations",
    "order_discount_codes",
    "order_tax_lines",
    "order_duties",
    "order_edits",
    "refunds",
    "refund_line_items",
    "refund_shipping_lines",
    "order_adjustments",
    "refund_duties",
    "order_transactions",
    "fulfillments",
    "fulfillment_line_items",
    "inventory_items",
    "inventory_item_costs",
    "inventory_levels",
    "checkouts",
    "carts",
    "webhook_events",
}


def test_unfiltered_queries_see_only_the_sessions_tenant(
    settings: Settings, two_tenants: tuple[Account, Account]
) -> None:
    a, b = two_tenants
    tables = readable_tenant_tables(settings)
    assert {name for name, _ in tables} >= POPULATED
    for account in (a, b):
        with tenant_session(settings, account["tenant_id"]) as session:
            for table, column in tables:
                # Deliberately no WHERE clause: only the policy keeps other tenants out.
                seen = set(session.scalars(text(f"SELECT DISTINCT {column} FROM {table}")))
                expected = {uuid.UUID(account["tenant_id"])} if table in POPULATED else set()
                if table in POPULATED:
                    assert seen == expected, table
                else:
                    assert seen <= {uuid.UUID(account["tenant_id"])}, table
            customers = session.scalars(select(Customer)).all()
            own, other = ("a", "b") if account is a else ("b", "a")
            emails = {c.email for c in customers}
            assert f"buyer-{own}@example.com" in emails
            assert f"buyer-{other}@example.com" not in emails
            assert {c.tenant_id for c in customers} == {uuid.UUID(account["tenant_id"])}
    # Both shops hold the same Shopify order id; each session sees its own copy only.
    with session_scope(settings.database_url) as session:
        assert len(session.scalars(select(Order)).all()) == 2


def test_no_tenant_set_sees_nothing(
    settings: Settings, two_tenants: tuple[Account, Account]
) -> None:
    with anonymous_session(settings) as session:
        for table, _ in readable_tenant_tables(settings):
            assert session.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table


def test_writes_cannot_reach_another_tenant(
    settings: Settings, two_tenants: tuple[Account, Account]
) -> None:
    a, b = two_tenants
    with tenant_session(settings, a["tenant_id"]) as session:
        changed = session.execute(
            text("UPDATE users SET role = 'analyst' WHERE tenant_id = :b"), {"b": b["tenant_id"]}
        )
        assert changed.rowcount == 0  # type: ignore[attr-defined]
        deleted = session.execute(
            text("DELETE FROM api_keys WHERE tenant_id = :b"), {"b": b["tenant_id"]}
        )
        assert deleted.rowcount == 0  # type: ignore[attr-defined]
    with (
        pytest.raises(DBAPIError, match="row-level security"),
        tenant_session(settings, a["tenant_id"]) as session,
    ):
        session.execute(
            text(
                "INSERT INTO api_keys (tenant_id, name, prefix, key_hash, created_by) "
                "VALUES (:b, 'x', 'x', 'x', :user)"
            ),
            {"b": b["tenant_id"], "user": b["user_id"]},
        )
    with (
        pytest.raises(DBAPIError, match="permission denied"),
        tenant_session(settings, a["tenant_id"]) as session,
    ):
        session.execute(text("DELETE FROM customers"))
    with tenant_session(settings, b["tenant_id"]) as session:
        assert session.scalar(text("SELECT count(*) FROM api_keys")) == 1
        assert session.scalar(text("SELECT count(*) FROM users WHERE role = 'owner'")) == 1


def test_another_tenants_ids_answer_404(
    api_client: FlaskClient, client: FlaskClient, two_tenants: tuple[Account, Account]
) -> None:
    a, b = two_tenants
    b_key = api_client.get("/api/ingest-keys", headers=b["headers"]).get_json()[0]["id"]
    b_invite = api_client.get("/api/invites", headers=b["headers"]).get_json()[0]["id"]
    attempts = [
        ("GET", f"/api/users/{b['user_id']}", None),
        ("PATCH", f"/api/users/{b['user_id']}", {"role": "analyst"}),
        ("DELETE", f"/api/invites/{b_invite}", None),
        ("DELETE", f"/api/ingest-keys/{b_key}", None),
    ]
    for method, path, body in attempts:
        response = api_client.open(path, method=method, json=body, headers=a["headers"])
        assert response.status_code == 404, path
        assert response.get_json()["error"] == "not_found"
    # Nothing of B's changed.
    assert (
        api_client.get(f"/api/users/{b['user_id']}", headers=b["headers"]).get_json()["role"]
        == "owner"
    )
    keys = api_client.get("/api/ingest-keys", headers=b["headers"]).get_json()
    assert keys[0]["revoked_at"] is None
    invites = api_client.get("/api/invites", headers=b["headers"]).get_json()
    assert sorted(i["status"] for i in invites) == ["accepted", "pending"]
    emails = sorted(
        u["email"] for u in api_client.get("/api/users", headers=a["headers"]).get_json()
    )
    assert len(emails) == 2 and emails[0].startswith("joiner-a-") and emails[1] == a["email"]


B_ONLY = 7_000_000_000_000_000_001  # an id only the second shop holds
SAMPLE_ORDER, SAMPLE_ITEM = 820982911946154508, 271878346596884015


def _b_only_entities() -> list[tuple[str, dict[str, Any]]]:
    """Rows only B holds; the refund, fulfillment and level point at rows both shops hold."""
    refund = sample_json("2026-04/refunds_create")
    txn = refund["transactions"][0]
    return [
        ("customers/create", sample_json("customers_create") | {"id": B_ONLY}),
        ("products/create", sample_json("products_create") | {"id": B_ONLY, "variants": []}),
        ("orders/create", sample_json("2026-04/orders_create") | {"id": B_ONLY}),
        ("refunds/create", refund | {"id": B_ONLY, "transactions": [txn | {"id": B_ONLY}]}),
        ("order_transactions/create", txn | {"id": B_ONLY + 1, "kind": "capture"}),
        ("fulfillments/create", sample_json("2026-04/fulfillments_create") | {"id": B_ONLY}),
        ("inventory_items/create", sample_json("2026-04/inventory_items_create") | {"id": B_ONLY}),
        (
            "inventory_levels/update",
            sample_json("2026-04/inventory_levels_update") | {"location_id": B_ONLY},
        ),
    ]


def _ids_in(value: Any) -> set[str]:
    """Every id (own or referenced) anywhere in an answer, its parts' included."""
    if isinstance(value, list):
        return set().union(*map(_ids_in, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = {str(v) for k, v in value.items() if k == "id" or k.endswith("_id")}
    return found.union(*(_ids_in(v) for v in value.values()))


def _ids_listed(api_client: FlaskClient, resource: str, account: Account) -> set[str]:
    """Every id on the first page of a list, in its rows and their parts."""
    response = api_client.get(f"/api/{resource}?limit=250", headers=account["headers"])
    assert response.status_code == 200, resource
    return _ids_in(response.get_json()["items"])


def test_another_tenants_entities_answer_404_and_stay_out_of_lists_and_parts(
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
    two_tenants: tuple[Account, Account],
) -> None:
    a, b = two_tenants
    deliver(Sender(client, shop=b["shop"], secret=b["webhook_secret"]), settings,
            *_b_only_entities())  # fmt: skip
    details = [r for r, served in RESOURCES.items() if served.detail is not None]
    assert {"refunds", "transactions", "fulfillments", "inventory-items"} <= set(details)
    for resource in details:
        if resource in ("checkouts", "carts"):
            continue  # addressed by token; the samples' tokens are the same in both shops
        key = B_ONLY + 1 if resource == "transactions" else B_ONLY
        path = f"/api/{resource}/{key}"
        assert api_client.get(path, headers=b["headers"]).status_code == 200, path
        response = api_client.get(path, headers=a["headers"])
        assert (response.status_code, response.get_json()["error"]) == (404, "not_found"), path
    b_ids = {str(B_ONLY), str(B_ONLY + 1)}
    for resource in RESOURCES:
        assert not _ids_listed(api_client, resource, a) & b_ids, resource
        if resource not in ("checkouts", "carts"):
            assert _ids_listed(api_client, resource, b) & b_ids, resource
    # B's refund, fulfillment and level point at an order and an item A has too: A's order and
    # item show only their own.
    mine = api_client.get(f"/api/orders/{SAMPLE_ORDER}", headers=a["headers"]).get_json()
    theirs = api_client.get(f"/api/orders/{SAMPLE_ORDER}", headers=b["headers"]).get_json()
    for name in ("refunds", "transactions", "fulfillments"):
        assert str(B_ONLY) not in {e["id"] for e in mine[name]}, name
    assert str(B_ONLY) in {r["id"] for r in theirs["refunds"]}
    assert str(B_ONLY) in {f["id"] for f in theirs["fulfillments"]}
    assert str(B_ONLY) in {t["id"] for t in theirs["transactions"]}
    item = api_client.get(f"/api/inventory-items/{SAMPLE_ITEM}", headers=a["headers"]).get_json()
    assert [lv["location_id"] for lv in item["levels"]] == ["24826418"]


# --- schema audit -------------------------------------------------------------------------------


def test_every_tenant_table_has_rls_enabled_and_forced(db_session: Session) -> None:
    conn = db_session.connection()
    for table, _ in tenant_tables_in(conn):
        enabled, forced = conn.execute(
            text(
                "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                "WHERE oid = to_regclass(:t)"
            ),
            {"t": table},
        ).one()
        assert enabled and forced, table
        roles = conn.execute(
            text("SELECT roles::text[] FROM pg_policies WHERE tablename = :t"), {"t": table}
        ).scalars()
        assert any(API_DB_ROLE in r for r in roles), table


def test_the_api_role_is_powerless(db_session: Session) -> None:
    conn = db_session.connection()
    role = conn.execute(
        text(
            "SELECT oid, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
            "FROM pg_roles WHERE rolname = :r"
        ),
        {"r": API_DB_ROLE},
    ).one()
    assert not (role.rolsuper or role.rolbypassrls or role.rolcreaterole or role.rolcreatedb)
    owned = conn.execute(
        text(
            """
            SELECT (SELECT count(*) FROM pg_class WHERE relowner = :o)
                 + (SELECT count(*) FROM pg_proc WHERE proowner = :o)
                 + (SELECT count(*) FROM pg_namespace WHERE nspowner = :o)
                 + (SELECT count(*) FROM pg_type WHERE typowner = :o)
                 + (SELECT count(*) FROM pg_database WHERE datdba = :o)
            """
        ),
        {"o": role.oid},
    ).scalar()
    assert owned == 0
    memberships = conn.execute(
        text("SELECT count(*) FROM pg_auth_members WHERE member = :o"), {"o": role.oid}
    ).scalar()
    assert memberships == 0


KEYS = text(
    """
    SELECT con.conname, con.contype, rel.relname,
           array(SELECT a.attname::text FROM unnest(con.conkey) AS k(n)
                 JOIN pg_attribute AS a ON a.attrelid = con.conrelid AND a.attnum = k.n),
           array(SELECT a.attname::text FROM unnest(con.confkey) AS k(n)
                 JOIN pg_attribute AS a ON a.attrelid = con.confrelid AND a.attnum = k.n),
           ref.relname
    FROM pg_constraint AS con
    JOIN pg_class AS rel ON rel.oid = con.conrelid
    LEFT JOIN pg_class AS ref ON ref.oid = con.confrelid
    WHERE con.contype IN ('p', 'u', 'f', 'x') AND rel.relnamespace = current_schema()::regnamespace
    """
)
UNIQUE_INDEXES = text(
    """
    SELECT i.indexrelid::regclass::text, rel.relname,
           array(SELECT a.attname::text FROM unnest(i.indkey) AS k(n)
                 JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.n)
    FROM pg_index AS i JOIN pg_class AS rel ON rel.oid = i.indrelid
    WHERE i.indisunique AND rel.relnamespace = current_schema()::regnamespace
    """
)
# The tenant registry itself: a shop has one verified tenant by nature.
REGISTRY_KEYS = {"uq_tenants_verified_shop_domain"}


def test_every_key_includes_the_tenant(db_session: Session) -> None:
    conn = db_session.connection()
    tables = dict(tenant_tables_in(conn))
    for name, kind, table, columns, ref_columns, ref_table in conn.execute(KEYS):
        if table not in tables or name in REGISTRY_KEYS:
            continue
        assert tables[table] in columns, f"{name} on {table} lacks the tenant"
        if kind == "f":
            # The tenant column must map onto the referenced table's tenant column.
            mapped = dict(zip(columns, ref_columns, strict=True))
            assert mapped[tables[table]] == tables[ref_table], name
    for name, table, columns in conn.execute(UNIQUE_INDEXES):
        if table in tables and name not in REGISTRY_KEYS:
            assert tables[table] in columns, f"unique index {name} lacks the tenant"


@pytest.mark.parametrize("function", ["cartwheel_login_lookup", "cartwheel_verify_shop"])
def test_security_definers_are_pinned(db_session: Session, function: str) -> None:
    conn = db_session.connection()
    fn = conn.execute(
        text(
            """
            SELECT p.prosecdef, p.proconfig, r.rolname AS owner,
                   has_function_privilege(:api, p.oid, 'EXECUTE') AS api_may,
                   EXISTS (SELECT 1 FROM aclexplode(p.proacl) AS a WHERE a.grantee = 0)
                       AS public_may
            FROM pg_proc AS p JOIN pg_roles AS r ON r.oid = p.proowner
            WHERE p.proname = :function
            """
        ),
        {"api": API_DB_ROLE, "function": function},
    ).one()
    assert fn.prosecdef and fn.owner != API_DB_ROLE
    assert any(setting.startswith("search_path=") for setting in fn.proconfig)
    assert fn.api_may and not fn.public_may


# --- a pipeline role that is not superuser ------------------------------------------------------


@pytest.fixture
def owner_database(pg_server: str) -> Iterator[str]:
    """A fresh database owned and migrated by a role that is neither superuser nor BYPASSRLS."""
    role = f"cw_owner_{uuid.uuid4().hex[:8]}"
    name = f"cartwheel_owned_{uuid.uuid4().hex[:8]}"
    admin = make_url(pg_server.replace("postgres://", "postgresql://", 1))
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE")
            cur.execute(f"CREATE DATABASE {name} OWNER {role}")
        url = admin.set(username=role, password=None, database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        # FORCE ends any pooled connection the test left open.
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            cur.execute(f"DROP ROLE IF EXISTS {role}")
        conn.close()


def test_pipeline_and_api_work_when_the_owner_is_not_superuser(
    owner_database: str, settings: Settings
) -> None:
    upgrade(owner_database)
    owned = settings.with_overrides(database_url=owner_database)
    api = create_app(owned).test_client()
    receiver = create_receiver(owned).test_client()
    body = {
        "name": "Owned",
        "email": f"o-{uuid.uuid4().hex[:6]}@example.com",
        "password": PASSWORD,
        "store_url": f"owned-{uuid.uuid4().hex[:6]}",
        "webhook_secret": "owned-secret",
    }
    registered = api.post("/tenants/register", json=body)
    assert registered.status_code == 202, registered.get_json()
    tokens = login(api, body["email"])
    with session_scope(owned.database_url) as session:  # an operator vouches for the shop
        assert verify_shop(session, tenant_id=uuid.UUID(tokens["tenant_id"]))
    shop = f"{body['store_url']}.myshopify.com"
    sender = Sender(receiver, shop=shop, secret="owned-secret")
    assert sender.send("customers/create", sample_json("customers_create")).status_code == 200
    assert drain_all(owned) == 1
    with tenant_session(owned, tokens["tenant_id"]) as session:
        assert len(session.scalars(select(Customer)).all()) == 1
    with session_scope(owned.database_url) as session:
        assert len(session.scalars(select(Customer)).all()) == 1
    for url in (owned.database_url, owned.api_db_url):
        get_engine(url).dispose()


# --- the migration goes down and up again -------------------------------------------------------


def test_migration_downgrades_and_upgrades(pg_server: str) -> None:
    with services.fresh_database(pg_server) as url:
        upgrade(url)
        command.downgrade(alembic_config(url), "0002-1")
        engine = get_engine(url)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT to_regclass('users')")) is None
            assert not conn.scalar(
                text("SELECT relrowsecurity FROM pg_class WHERE oid = 'customers'::regclass")
            )
            assert not conn.scalar(
                text("SELECT count(*) FROM pg_proc WHERE proname = 'cartwheel_login_lookup'")
            )
        upgrade(url)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT to_regclass('users')")) is not None
        engine.dispose()
