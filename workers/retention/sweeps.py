"""Every retention purge, run one after the other by the retention job (docs/operations.md).

Each is a tenant-fair sweep (workers.batches.run_sweep): bounded batches, one transaction each,
every tenant, uninstalled and unverified ones too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from workers.batches import BatchResult, run_sweep
from workers.retention.dead_letters import purge_dead_letters
from workers.retention.exports import purge_exports
from workers.retention.personal_data import redact_personal_data
from workers.retention.purge import purge_payloads

if TYPE_CHECKING:
    from workers.runtime import Resources


def purge_expired(res: Resources, *, now: datetime | None = None) -> dict[str, int]:
    """Run every purge once over every tenant; rows changed per purge."""
    now = now or datetime.now(UTC)
    size = res.settings.retention_batch_size
    days = res.settings.export_retention_days

    def exports(
        session: Session,
        *,
        now: datetime,
        after: uuid.UUID | None = None,
        tenants: int = 100,
        per_tenant: int = 500,
    ) -> BatchResult:
        return purge_exports(
            session, now=now, days=days, after=after, tenants=tenants, per_tenant=per_tenant
        )

    return {
        name: run_sweep(res, name, batch, now=now, per_tenant=size)
        for name, batch in (
            ("payloads", purge_payloads),
            ("dead_letters", purge_dead_letters),
            ("entity_pii", redact_personal_data),
            ("exports", exports),
        )
    }
