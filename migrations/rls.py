"""Row-level security for tenant tables, for migrations to share (docs/architecture.md).

The dashboard API connects as API_DB_ROLE and sets `cartwheel.tenant_id` at the start of every
transaction; a policy limits that role to the tenant's rows. The role that runs the migrations
owns the tables, and is the pipeline's role (receiver, workers): FORCE makes RLS apply to it too,
so it gets a policy that lets it see every row.

Usage in a migration that adds a tenant table:

    from migrations.rls import disable_tenant_rls, enable_tenant_rls
    enable_tenant_rls(op, "things", grants="SELECT")   # in upgrade(), after create_table
    disable_tenant_rls(op, "things")                    # in downgrade(), before drop_table
"""

from __future__ import annotations

from typing import Any

from core.settings import API_DB_ROLE

API_ROLE = API_DB_ROLE
TENANT_SETTING = "cartwheel.tenant_id"
# An unset custom setting reads as '' after a transaction that set it locally, hence NULLIF:
# no tenant set means no rows, never an error and never every row.
CURRENT_TENANT = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"

# Built from constants only.
_ENSURE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}') THEN
        BEGIN
            CREATE ROLE {API_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
                NOREPLICATION NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a migration of another database on this server
        END;
    END IF;
    IF EXISTS (
        SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}' AND (rolsuper OR rolbypassrls)
    ) THEN
        RAISE EXCEPTION 'role {API_ROLE} must be NOSUPERUSER NOBYPASSRLS';
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO {API_ROLE}', current_database());
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {API_ROLE}', current_schema());
END
$$;
"""  # noqa: S608

# Leave the role when another database on the server still grants it something.
_DROP_ROLE = f"""
DO $$
BEGIN
    EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM {API_ROLE}', current_schema());
    EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM {API_ROLE}', current_database());
    BEGIN
        DROP ROLE {API_ROLE};
    EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege THEN
        NULL;
    END;
END
$$;
"""


def ensure_api_role(op: Any) -> None:
    """Create the API role if the server lacks it, refuse it if it can bypass RLS, let it in."""
    op.execute(_ENSURE_ROLE)


def drop_api_role(op: Any) -> None:
    """Undo ensure_api_role for this database; drop the role if nothing else uses it."""
    op.execute(_DROP_ROLE)


def enable_tenant_rls(
    op: Any, table: str, *, column: str = "tenant_id", grants: str = "SELECT"
) -> None:
    """RLS enabled and forced on `table`: the API role sees its tenant's rows, the owner all."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} TO {API_ROLE} "
        f"USING ({column} = {CURRENT_TENANT}) WITH CHECK ({column} = {CURRENT_TENANT})"
    )
    # CURRENT_USER is resolved now: the migrating role, which owns the table and runs the
    # pipeline. Without this policy FORCE would hide every row from it unless it is superuser.
    op.execute(
        f"CREATE POLICY pipeline_all ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)"
    )
    if grants:
        op.execute(f"GRANT {grants} ON {table} TO {API_ROLE}")


def disable_tenant_rls(op: Any, table: str) -> None:
    """Undo enable_tenant_rls (for downgrades)."""
    op.execute(f"REVOKE ALL ON {table} FROM {API_ROLE}")
    op.execute(f"DROP POLICY IF EXISTS pipeline_all ON {table}")
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
