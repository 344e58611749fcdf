"""The pipeline's database role: owns the database and its schema, is no superuser.

The pipeline (receiver, workers, beat, migrations) connects as PIPELINE_ROLE. It owns every
table the migrations create, and cannot bypass row-level security: the migrations give it a
policy that sees every tenant's rows (migrations/rls.py). A superuser only creates the roles
and the database; `cartwheel run` does that in its embedded PostgreSQL, the tests in theirs,
docker/initdb in compose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg2
from psycopg2 import errors, sql
from sqlalchemy.engine import make_url

from core.settings import API_DB_ROLE

PIPELINE_ROLE = "cartwheel"
_OPTIONS = "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION"

# A database that a superuser migrated (what `cartwheel run` did before it had a pipeline
# role) is handed over: every object of its schema, and the pipeline's policies, change hands.
_HAND_OVER = f"""
DO $$
DECLARE
    obj record;
BEGIN
    FOR obj IN
        SELECT c.oid::regclass::text AS name FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND c.relowner <> '{PIPELINE_ROLE}'::regrole
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO {PIPELINE_ROLE}', obj.name);
    END LOOP;
    FOR obj IN
        SELECT p.oid::regprocedure::text AS name FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace
          AND p.proowner <> '{PIPELINE_ROLE}'::regrole
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO {PIPELINE_ROLE}', obj.name);
    END LOOP;
    FOR obj IN
        SELECT t.oid::regtype::text AS name FROM pg_type t
        WHERE t.typnamespace = current_schema()::regnamespace
          AND t.typtype IN ('e', 'd') AND t.typowner <> '{PIPELINE_ROLE}'::regrole
    LOOP
        EXECUTE format('ALTER TYPE %s OWNER TO {PIPELINE_ROLE}', obj.name);
    END LOOP;
    FOR obj IN
        SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_policies
        WHERE schemaname = current_schema() AND policyname = 'pipeline_all'
    LOOP
        EXECUTE format('ALTER POLICY pipeline_all ON %s TO {PIPELINE_ROLE}', obj.name);
    END LOOP;
END
$$;
"""  # noqa: S608


def pipeline_database(admin_url: str, database: str) -> str:
    """Make the roles and `database` (owned by PIPELINE_ROLE) if missing; its URL as that role.

    admin_url is a superuser's. Passwords are left to the server's authentication (the
    embedded server trusts its unix socket).
    """
    with autocommit(admin_url) as cur:
        ensure_roles(cur)
        cur.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)
        )
        row = cur.fetchone()
        name, role = sql.Identifier(database), sql.Identifier(PIPELINE_ROLE)
        if row is None:
            cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(name, role))
        elif row[0] != PIPELINE_ROLE:
            cur.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(name, role))
            with autocommit(_url(admin_url, database=database)) as inside:
                inside.execute(_HAND_OVER)
    return _url(admin_url, database=database, username=PIPELINE_ROLE)


def ensure_roles(cur: Any) -> None:
    """PIPELINE_ROLE and the dashboard API's role, created if the server lacks them."""
    _ensure_role(cur, PIPELINE_ROLE, _OPTIONS)
    _ensure_role(cur, API_DB_ROLE, f"{_OPTIONS} NOINHERIT")


def _ensure_role(cur: Any, role: str, options: str) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    if cur.fetchone() is None:
        # Another process on this server may create it meanwhile.
        with suppress(errors.DuplicateObject, errors.UniqueViolation):
            cur.execute(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(role)))


def _url(url: str, **parts: Any) -> str:
    if "username" in parts:
        parts["password"] = None
    return make_url(url).set(**parts).render_as_string(hide_password=False)


@contextmanager
def autocommit(url: str) -> Iterator[psycopg2.extensions.cursor]:
    """A cursor on an autocommit connection, closed afterwards."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()
