"""Rows pulled from the Admin API, written through the one write path, and the drift they show.

Pulled rows carry Shopify's `updated_at` but no X-Shopify-Triggered-At, so on an equal
`updated_at` a webhook's version wins (its triggered_at beats the pulled row's none): a backfill
racing live webhooks can never overwrite newer data.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from resources.graphql import MappingError
from resources.registry import Resource
from resources.rows import EntityRow
from writes import write_rows

log = logging.getLogger(__name__)


@dataclass
class Drift:
    """What a batch of pulled rows found: seen, missing here, stale here, actually written."""

    seen: int = 0
    missing: int = 0
    stale: int = 0
    written: int = 0

    def add(self, other: Drift) -> None:
        self.seen += other.seen
        self.missing += other.missing
        self.stale += other.stale
        self.written += other.written

    def as_dict(self) -> dict[str, int]:
        return {
            "seen": self.seen,
            "missing": self.missing,
            "stale": self.stale,
            "written": self.written,
        }


def map_nodes(
    resource: Resource, nodes: list[dict[str, Any]], *, tenant_id: uuid.UUID, source: str
) -> list[EntityRow]:
    """The rows gathered nodes stand for; a node that cannot be mapped is logged and skipped."""
    assert resource.pull is not None
    child = resource.pull.child
    rows = []
    for node in nodes:
        children = list(node.get(child) or ()) if child else []
        try:
            rows.append(resource.pulled_row(node, children, tenant_id=tenant_id, source=source))
        except MappingError as exc:
            log.warning(
                "unmappable node skipped", extra={"resource": resource.name, "error": str(exc)}
            )
    return rows


def write_pulled(session: Session, rows: list[EntityRow]) -> Drift:
    """Write pulled rows where they are newer; rows new to the table were missing, rows that
    replaced an older version were stale."""
    if not rows:
        return Drift()
    result = write_rows(session, rows)
    written = len(result.won)
    return Drift(
        seen=len({r.identity for r in rows}),
        missing=result.inserted,
        stale=written - result.inserted,
        written=written,
    )
