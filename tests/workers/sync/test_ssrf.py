"""Server-side requests: answer bodies never reach a tenant, result files only from storage."""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.errors import CartwheelError
from core.settings import Settings
from models import BackfillRun, Customer, ShopCredential
from models.db import session_scope
from shops.credentials import AdminApi, set_credentials
from shops.syncs import start_run
from tests.plugins.fake_admin import Wired
from tests.support.fake_admin import Canned
from tests.support.processes import ROOT, child_env
from workers.runtime import Resources
from workers.sync.backfill import run_backfill
from workers.sync.client import AddressRefused, ShopifyClient

SECRET = "INTERNAL-SERVICE-SECRET-7f3a"
CARTWHEEL = str(Path(sys.executable).parent / "cartwheel")


def backfill_error(settings: Settings, tenant_id: uuid.UUID, resources: list[str]) -> str:
    """Run a backfill to its failure; the error stored on the run (what the dashboard shows)."""
    with session_scope(settings.database_url) as session:
        run, _ = start_run(session, tenant_id=tenant_id, resources=resources, since=None)
        run_id = run.id
    with pytest.raises(CartwheelError):
        run_backfill(Resources(settings), tenant_id=tenant_id, run_id=run_id)
    with session_scope(settings.database_url) as session:
        stored = session.get(BackfillRun, (tenant_id, run_id))
        assert stored is not None and stored.status == "failed"
        return str(stored.error)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 418])
def test_an_error_body_stays_in_the_logs(
    settings: Settings,
    make_tenant: Any,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An Admin API (here an operator's address) answering an error with a body: the run error
    the tenant reads names the status only; the operator's log has the start of the body."""
    tenant = make_tenant()
    answer = (status, {"Content-Type": "text/plain"}, [f"{SECRET} at 10.0.0.7".encode()])
    with Canned(lambda path: answer) as server:
        with session_scope(settings.database_url) as session:
            set_credentials(
                session,
                tenant_id=tenant["id"],
                token="shpat_x",
                api_version="2026-07",
                admin_url=server.url,
                secret_keys=settings.secret_keys,
            )
        with caplog.at_level(logging.WARNING, logger="workers.sync.client"):
            error = backfill_error(settings, tenant["id"], ["customers"])
    assert f"HTTP {status}" in error and SECRET not in error
    assert any(SECRET in str(getattr(r, "body", "")) for r in caplog.records)


def test_a_bulk_result_on_an_internal_host_is_refused_and_nothing_is_ingested(
    settings: Settings, wire_shop: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Admin API reports a result `url` on an internal service serving customers JSONL:
    the download is refused before any request, the run fails, no customer is written."""
    wired: Wired = wire_shop()
    wired.shop.seed(orders=0, customers=5, products=0, checkouts=0)
    body = b"".join(
        b'{"id":"gid://shopify/Customer/%d","email":"x@internal"}\n' % i for i in range(1, 4)
    )
    with Canned(lambda path: (200, {}, [body])) as internal:
        monkeypatch.setattr(wired.fake.bulk, "sign", lambda op, base: f"{internal.url}/c.jsonl")
        error = backfill_error(settings, wired.tenant_id, ["customers"])
        assert internal.requests == []
    assert "AddressRefused" in error and "127.0.0.1 is not an HTTPS storage host" in error
    with session_scope(settings.database_url) as session:
        stored = session.scalar(
            select(func.count()).select_from(Customer).where(Customer.tenant_id == wired.tenant_id)
        )
    assert stored == 0


def tenant_client(graphql_url: str) -> ShopifyClient:
    """A client for a tenant's own address (no operator override)."""
    api = AdminApi(uuid.uuid4(), "shop.myshopify.com", graphql_url, "shpat_x", "2026-07")
    return ShopifyClient(api, max_attempts=1)


@pytest.mark.parametrize(
    "url",
    [
        "http://storage.googleapis.com/shopify/r.jsonl",  # not HTTPS
        "https://storage.googleapis.com.evil.example/r.jsonl",
        "https://127.0.0.1/r.jsonl",
        "https://169.254.169.254/latest/meta-data/",
        "https://shop.myshopify.com/r.jsonl",  # the shop, but not a storage host
    ],
)
def test_bulk_result_urls_must_be_https_on_a_storage_host(url: str) -> None:
    client = tenant_client("https://shop.myshopify.com/admin/api/2026-07/graphql.json")
    with pytest.raises(AddressRefused, match="not an HTTPS storage host"):
        list(client.stream_lines(url))


def test_the_configured_storage_hosts_are_used(settings: Settings) -> None:
    api = AdminApi(uuid.uuid4(), "s.myshopify.com", "https://s.myshopify.com/g", "t", "2026-07")
    client = ShopifyClient(api, settings=settings.with_overrides(bulk_result_hosts="a.example"))
    assert client.bulk_hosts == frozenset({"a.example"})
    assert ShopifyClient(api).bulk_hosts == frozenset({"storage.googleapis.com"})


def test_a_tenant_address_resolving_inside_is_never_contacted() -> None:
    """Without an operator override, the Admin API must be HTTPS on a public address."""
    with Canned(lambda path: (200, {}, [b'{"data":{}}'])) as internal:
        port = internal.url.rsplit(":", 1)[1]
        for url in (f"https://127.0.0.1:{port}/graphql.json", f"https://localhost:{port}/g"):
            with pytest.raises(AddressRefused, match="loopback"):
                tenant_client(url).execute("{ shop { id } }")
        with pytest.raises(AddressRefused, match="https"):
            tenant_client(f"{internal.url}/graphql.json").execute("{ shop { id } }")
        assert internal.requests == []


def test_an_admin_api_redirect_is_an_error_not_followed(settings: Settings) -> None:
    with Canned(lambda path: (200, {}, [SECRET.encode()])) as internal:
        redirect = (302, {"Location": f"{internal.url}/x"}, [SECRET.encode()])
        with Canned(lambda path: redirect) as server:
            api = AdminApi(uuid.uuid4(), "s.myshopify.com", f"{server.url}/g", "t", "2026-07")
            client = ShopifyClient(
                AdminApi(**{**api.__dict__, "operator_url": server.url}), max_attempts=1
            )
            with pytest.raises(Exception, match="HTTP 302: redirects are not followed") as exc:
                client.execute("{ shop { id } }")
            assert SECRET not in str(exc.value)
            with pytest.raises(Exception, match="HTTP 302"):
                list(client.stream_lines(f"{server.url}/r.jsonl"))
        assert internal.requests == []


def test_the_operator_sets_the_admin_url_from_the_command_line(
    settings: Settings, make_tenant: Any
) -> None:
    tenant = make_tenant()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CARTWHEEL, "tenants", "set-credentials", tenant["shop"], *args],
            env=child_env(settings),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stored() -> str | None:
        with session_scope(settings.database_url) as session:
            return session.scalar(
                select(ShopCredential.admin_url).where(ShopCredential.tenant_id == tenant["id"])
            )

    early = cli("--admin-url", "http://127.0.0.1:8090")
    assert early.returncode != 0 and "no Admin API credentials yet" in early.stderr
    assert cli("--token", "shpat_x", "--api-version", "2026-07").returncode == 0
    assert stored() is None
    moved = cli("--admin-url", "http://127.0.0.1:8090/")
    assert moved.returncode == 0, moved.stderr
    assert stored() == "http://127.0.0.1:8090"
    assert cli("--token", "shpat_y", "--api-version", "2026-07").returncode == 0
    assert stored() is None  # a token without --admin-url: the shop's own address again
    assert "Traceback" not in early.stderr + moved.stderr
