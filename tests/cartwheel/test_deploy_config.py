"""docker-compose's defaults: no default passwords, least-privilege roles, a bounded Redis.

Images cannot be pulled here, so the compose file is read as YAML and its properties checked,
and the database initialisation script runs against a PostgreSQL of the test's own, followed
by the migrations as the role it creates.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
import yaml
from sqlalchemy.engine import make_url

from cartwheel.migrate import upgrade
from tests.support.faults_services import PostgresServer, postgres_server
from tests.support.processes import ROOT

COMPOSE = ROOT / "docker-compose.yml"
INITDB = ROOT / "docker" / "initdb" / "10-roles.sh"
APP_SERVICES = {"migrate", "receiver", "dashboard", "worker", "beat", "flower"}
_VARIABLE = re.compile(r"\$\{(\w+)(:?[-?])?")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _env(service: dict[str, Any]) -> dict[str, str]:
    return dict(service.get("environment") or {})


def test_no_secret_has_a_default() -> None:
    # ${NAME:-default} would start with a known password; ${NAME:?message} refuses to start.
    found = {(name, how) for name, how in _VARIABLE.findall(COMPOSE.read_text())}
    secrets = {(n, h) for n, h in found if re.search("PASSWORD|SECRET|AUTH", n)}
    assert {n for n, _ in secrets} >= {
        "POSTGRES_PASSWORD",
        "CARTWHEEL_DB_PASSWORD",
        "CARTWHEEL_API_DB_PASSWORD",
        "REDIS_PASSWORD",
        "FLOWER_BASIC_AUTH",
        "CARTWHEEL_SECRET_KEYS",
    }
    assert all(how == ":?" for _, how in secrets), secrets


def test_processes_connect_as_the_pipeline_and_api_roles_never_the_superuser(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) >= APP_SERVICES
    postgres = _env(services["postgres"])
    assert postgres["POSTGRES_USER"] == "postgres"
    for name in APP_SERVICES | ({"sync"} & set(services)):
        env = _env(services[name])
        assert make_url(env["DATABASE_URL"]).username == "cartwheel", name
        assert make_url(env["CARTWHEEL_API_DATABASE_URL"]).username == "cartwheel_api", name
    assert services["migrate"]["command"] == ["cartwheel", "migrate"]


def test_redis_has_a_password_a_byte_limit_and_an_append_only_file(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    command = services["redis"]["command"]
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--requirepass"].startswith("${REDIS_PASSWORD:?")
    assert options["--maxmemory"] == "${REDIS_MAXMEMORY:-1gb}"
    assert options["--maxmemory-policy"] == "noeviction"
    assert options["--appendonly"] == "yes"
    assert _env(services["redis"])["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD:?")
    for name in APP_SERVICES | ({"sync"} & set(services)):
        url = _env(services[name])["REDIS_URL"]
        assert url.startswith("redis://:${REDIS_PASSWORD:?"), (name, url)


def test_flower_asks_for_a_login_and_listens_on_loopback_only(compose: dict[str, Any]) -> None:
    flower = compose["services"]["flower"]
    assert _env(flower)["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert flower["ports"] == ["127.0.0.1:5555:5555"]


def test_local_secrets_never_reach_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".env.*", "**/.env", ".cartwheel", "**/.cartwheel"} <= ignored
    assert "COPY . ." in (ROOT / "Dockerfile").read_text()  # hence the ignore file matters
    assert "USER cartwheel" in (ROOT / "Dockerfile").read_text()


# --- the database initialisation, run for real ---------------------------------------------


@pytest.fixture(scope="module")
def initialised() -> Iterator[PostgresServer]:
    """A fresh server initialised by docker/initdb, as the postgres image runs it."""
    with postgres_server() as server:
        env = {
            "PATH": "/usr/bin:/bin",
            "PGHOST": str(server.socket_dir),
            "POSTGRES_USER": make_url(server.url).username or "postgres",
            "POSTGRES_DB": "postgres",
            "CARTWHEEL_DB_PASSWORD": "pipeline-pw",
            "CARTWHEEL_API_DB_PASSWORD": "api-pw",
        }
        subprocess.run(["sh", str(INITDB)], env=env, check=True, capture_output=True, timeout=60)
        upgrade(_as(server, "cartwheel", "cartwheel"))
        yield server


def _as(server: PostgresServer, user: str, database: str) -> str:
    return make_url(server.url).set(username=user, database=database).render_as_string(False)


def _one(url: str, sql: str) -> Any:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
        conn.commit()
        return row[0] if row else None
    finally:
        conn.close()


def test_initdb_makes_least_privilege_roles(initialised: PostgresServer) -> None:
    admin = _as(initialised, make_url(initialised.url).username or "postgres", "postgres")
    roles = _one(
        admin,
        "SELECT json_object_agg(rolname, json_build_array(rolsuper, rolbypassrls, "
        "rolcreaterole, rolcreatedb)) FROM pg_roles WHERE rolname LIKE 'cartwheel%'",
    )
    assert roles == {
        "cartwheel": [False, False, False, False],
        "cartwheel_api": [False, False, False, False],
    }


def test_the_pipeline_role_owns_the_schema_and_the_api_role_owns_nothing(
    initialised: PostgresServer,
) -> None:
    url = _as(initialised, "cartwheel", "cartwheel")
    owners = _one(
        url, "SELECT array_agg(DISTINCT tableowner) FROM pg_tables WHERE schemaname = 'public'"
    )
    assert owners == ["cartwheel"]
    assert (
        _one(url, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'cartwheel'")
        == "cartwheel"
    )
    api = _as(initialised, "cartwheel_api", "cartwheel")
    assert _one(api, "SELECT count(*) FROM tenants") == 0  # no tenant set: no rows
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        _one(api, "SELECT count(*) FROM alembic_version")


def test_no_other_role_may_connect_or_create(initialised: PostgresServer) -> None:
    admin = _as(initialised, make_url(initialised.url).username or "postgres", "postgres")
    _one(admin, "CREATE ROLE stranger LOGIN; SELECT 1")
    with pytest.raises(psycopg2.OperationalError, match="permission denied"):
        _one(_as(initialised, "stranger", "cartwheel"), "SELECT 1")
