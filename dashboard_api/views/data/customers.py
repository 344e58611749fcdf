"""Customer analytics: the sortable customer list, one customer, RFM segments and their
movement, acquisition cohorts, and the on-demand recompute (docs/metrics.md, "Customers")."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from flask import Response

from core import jobs
from dashboard_api import cache
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, WRITE_ROLES, current_principal, require_role
from dashboard_api.context import current_producer, current_redis, current_settings
from dashboard_api.csv_export import columns_of, csv_response, document_csv, wants_csv
from dashboard_api.db import tenant_session
from dashboard_api.errors import Invalid, NotFound
from dashboard_api.queries.cohorts import cohort_table, returning_customers
from dashboard_api.queries.customers import customer_analytics, list_customers
from dashboard_api.queries.pagination import CursorError
from dashboard_api.queries.ranges import tenant_timezone
from dashboard_api.queries.rfm import movement, segments, snapshot_on_or_before
from dashboard_api.views.data.customer_schemas import (
    AnalyticsPeriodArgs,
    AnalyticsRecomputeOut,
    CohortsOut,
    CustomerAnalyticsPage,
    CustomerDetailOut,
    CustomerFiguresOut,
    CustomerListArgs,
    RfmMovementOut,
    RfmSegmentsOut,
)
from dashboard_api.views.data.fields import BIGINT_MAX
from dashboard_api.views.data.insights import json_answer, json_body

blp = Blueprint(
    "customer_analytics",
    __name__,
    url_prefix="/api",
    description="Customer lifetime figures, RFM segments and acquisition cohorts.",
)
MAX_COHORT_DAYS = 3 * 366
_PAGING = ("limit", "cursor", "sort", "format")
# Rows per read of a CSV export: memory stays flat however many customers there are.
_CSV_BATCH = 1000
_MOVEMENT, _COHORTS = RfmMovementOut(), CohortsOut()


def _today(session: Any, tenant_id: Any) -> tuple[str, date]:
    tz = tenant_timezone(session, tenant_id=tenant_id)
    return tz, datetime.now(UTC).astimezone(zoneinfo.ZoneInfo(tz)).date()


def _period(args: dict[str, Any], today: date, max_days: int) -> tuple[date, date]:
    end = args.get("end") or today
    start = args.get("start") or date(end.year - 1, end.month, 1)
    if start > end:
        raise Invalid("The request is invalid.", fields={"to": ["Must not be before `from`."]})
    if (end - start).days + 1 > max_days:
        raise Invalid(
            "The request is invalid.",
            fields={"to": [f"The range may span at most {max_days} days."]},
        )
    return start, end


@blp.route("/analytics/customers", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(CustomerListArgs, location="query")
@blp.response(200, CustomerAnalyticsPage)
@document_csv(blp)
def list_customer_analytics(args: dict[str, Any]) -> Any:
    """Customers with their lifetime figures and RFM segment, a page at a time

    Figures as of the last recompute (`as_of`). Guests are not customers. Filters: RFM
    segment, new or returning, tag, first-order days (shop time zone), net spend. `format=csv`
    streams every matching customer in the sort order.
    """
    principal = current_principal()
    settings = current_settings()
    filters = {k: v for k, v in args.items() if k not in _PAGING}
    with tenant_session(settings, principal.tenant_id) as session:
        tz = tenant_timezone(session, tenant_id=principal.tenant_id)
        try:
            page = list_customers(
                session, tenant_id=principal.tenant_id, tz=tz, sort=args["sort"],
                limit=_CSV_BATCH if wants_csv(args) else args["limit"],
                cursor=args.get("cursor"), filters=filters,
            )  # fmt: skip
        except CursorError as exc:
            raise Invalid("The request is invalid.", fields={"cursor": [str(exc)]}) from exc
    if not wants_csv(args):
        return {"items": page.items, "next_cursor": page.next_cursor}

    def rows() -> Iterator[dict[str, Any]]:
        current = page
        yield from current.items
        while current.next_cursor:
            with tenant_session(settings, principal.tenant_id) as session:
                current = list_customers(
                    session, tenant_id=principal.tenant_id, tz=tz, sort=args["sort"],
                    limit=_CSV_BATCH, cursor=current.next_cursor, filters=filters,
                )  # fmt: skip
            yield from current.items

    columns = columns_of(CustomerFiguresOut)
    return csv_response(columns, rows(), filename="customer-analytics", tz=tz)


@blp.route("/customers/<id>/analytics", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, CustomerDetailOut)
def get_customer_analytics(id: str) -> dict[str, Any]:
    """One customer's lifetime figures, and each counted order as new or returning"""
    principal = current_principal()
    if not id.isdigit() or int(id) > BIGINT_MAX:
        raise NotFound("No such customer.")
    with tenant_session(current_settings(), principal.tenant_id) as session:
        found = customer_analytics(session, tenant_id=principal.tenant_id, customer_id=int(id))
    if found is None:
        raise NotFound("No such customer (or not yet recomputed).")
    return found


@blp.route("/analytics/rfm", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, RfmSegmentsOut)
def get_rfm() -> dict[str, Any]:
    """Customers and net spend per RFM segment, as of the last recompute"""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return segments(session, tenant_id=principal.tenant_id)


@blp.route("/analytics/rfm/movement", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(AnalyticsPeriodArgs, location="query")
@blp.response(200, RfmMovementOut)
def get_rfm_movement(args: dict[str, Any]) -> Response:
    """How customers moved between segments from the snapshot of `from` to that of `to`

    Each side is the newest daily snapshot taken on that day or before it. A customer only in
    the later snapshot moved from null (new), one only in the earlier to null (deleted).
    Answers are cached until the shop's data changes or its analytics are recomputed
    (`X-Cache: hit|miss`).
    """
    principal = current_principal()
    settings, client = current_settings(), current_redis()
    # Before any data is read: see dashboard_api/cache.py.
    version = cache.tenant_version(client, settings, principal.tenant_id)
    with tenant_session(settings, principal.tenant_id) as session:
        _, today = _today(session, principal.tenant_id)
        start, end = _period(args, today, 10 * 366)

        def body() -> bytes:
            first = snapshot_on_or_before(session, principal.tenant_id, start)
            second = snapshot_on_or_before(session, principal.tenant_id, end)
            if first is None or second is None:
                raise NotFound("No RFM snapshot on or before `from`.", code="no_snapshot")
            moves = movement(session, tenant_id=principal.tenant_id, first=first, second=second)
            found = {"from_snapshot": first, "to_snapshot": second, "moves": moves}
            return json_body(_MOVEMENT, found)

        what = ("rfm-movement", (start.isoformat(), end.isoformat()))
        return json_answer(
            *cache.cached_body(client, settings, principal.tenant_id, version, what, body)
        )


@blp.route("/analytics/cohorts", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(AnalyticsPeriodArgs, location="query")
@blp.response(200, CohortsOut)
def get_cohorts(args: dict[str, Any]) -> Response:
    """Monthly acquisition cohorts first ordering in the range, and its returning customer rate

    Cohorts as of the last recompute; the returning customer rate is read from the orders. Days
    and months are the shop's; the range spans at most three years (default: since the same
    month a year ago). Answers are cached until the shop's data changes or its analytics are
    recomputed (`X-Cache: hit|miss`).
    """
    principal = current_principal()
    settings, client = current_settings(), current_redis()
    # Before any data is read: see dashboard_api/cache.py.
    version = cache.tenant_version(client, settings, principal.tenant_id)
    with tenant_session(settings, principal.tenant_id) as session:
        tz, today = _today(session, principal.tenant_id)
        start, end = _period(args, today, MAX_COHORT_DAYS)

        def body() -> bytes:
            table = cohort_table(
                session, tenant_id=principal.tenant_id, first_month=start.replace(day=1),
                last_month=end,
            )  # fmt: skip
            rate = returning_customers(
                session, tenant_id=principal.tenant_id, start=start, end=end, tz=tz
            )
            found = {"start": start, "end": end, "tz": tz, **table, "returning_customers": rate}
            return json_body(_COHORTS, found)

        what = ("cohorts", (start.isoformat(), end.isoformat(), tz))
        return json_answer(
            *cache.cached_body(client, settings, principal.tenant_id, version, what, body)
        )


@blp.route("/analytics/recompute", methods=["POST"])
@require_role(*WRITE_ROLES)
@blp.response(202, AnalyticsRecomputeOut)
def post_recompute() -> dict[str, Any]:
    """Recompute the shop's customer figures, RFM segments and cohorts now (a Celery task)"""
    principal = current_principal()
    job_id = current_producer().enqueue(
        jobs.ANALYTICS_TENANT, {"tenant_id": str(principal.tenant_id)}
    )
    return {"task_id": job_id}
