"""Predictive CLV: the latest fit with its quality and distribution, per-customer predictions,
and a fit on demand (docs/metrics.md, "Predictive CLV")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response
from marshmallow import Schema, fields, validate

from core import jobs
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, WRITE_ROLES, current_principal, require_role
from dashboard_api.context import current_producer, current_settings
from dashboard_api.csv_export import CsvFormatArgs, columns_of, csv_response, wants_csv
from dashboard_api.db import tenant_session
from dashboard_api.errors import Conflict, Invalid
from dashboard_api.queries import clv as q
from dashboard_api.queries.pagination import CursorError
from dashboard_api.views.data.arguments import DEFAULT_LIMIT, MAX_LIMIT
from dashboard_api.views.data.fields import IdString, Money, Rows, no_nul
from models.clv import ClvFit

blp = Blueprint(
    "clv",
    __name__,
    url_prefix="/api/analytics/clv",
    description="Predictive customer lifetime value: BG/NBD and Gamma-Gamma fits per shop.",
)

_SORTS = [*q.SORTS, *(f"-{name}" for name in q.SORTS)]


class FitOut(Schema):
    id = fields.UUID(required=True)
    status = fields.String(
        required=True,
        metadata={"description": "`complete`, or `insufficient_history` (see `message`)."},
    )
    message = fields.String(allow_none=True, required=True)
    as_of = fields.Date(required=True, metadata={"description": "Data cutoff: a local day."})
    timezone = fields.String(required=True)
    currency = fields.String(allow_none=True, required=True)
    started_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True, required=True)
    customers = fields.Integer(allow_none=True, required=True)
    repeat_customers = fields.Integer(allow_none=True, required=True)
    history_days = fields.Integer(allow_none=True, required=True)
    parameters = fields.Dict(
        allow_none=True,
        required=True,
        metadata={"description": "`bg_nbd`: r, alpha, a, b (days); `gamma_gamma`: p, q, v."},
    )
    quality = fields.Dict(
        allow_none=True,
        required=True,
        metadata={"description": "Holdout check: fitted before the last days, then compared."},
    )
    distribution = fields.Dict(
        allow_none=True,
        required=True,
        metadata={"description": "Totals per horizon, value quantiles, P(alive) bands."},
    )
    timings = fields.Dict(allow_none=True, required=True)
    library = fields.String(allow_none=True, required=True)


class RunningOut(Schema):
    id = fields.UUID(required=True)
    job_id = fields.String(allow_none=True, required=True)
    started_at = fields.DateTime(required=True)


class ClvOut(Schema):
    status = fields.String(
        required=True,
        metadata={"description": "The latest fit's status, or `not_fitted` before any."},
    )
    fit = fields.Nested(FitOut, allow_none=True, required=True)
    running = fields.Nested(RunningOut, allow_none=True, required=True)


class FitStarted(Schema):
    task_id = fields.String(required=True)
    status = fields.String(required=True)


class PredictionOut(Schema):
    customer_id = IdString(required=True)
    frequency = fields.Integer(required=True, metadata={"description": "Repeat purchases."})
    recency_days = fields.Integer(required=True)
    age_days = fields.Integer(required=True)
    monetary_value = Money(allow_none=True, required=True)
    probability_alive = fields.Float(required=True)
    purchases_3m = fields.Float(required=True)
    purchases_6m = fields.Float(required=True)
    purchases_12m = fields.Float(required=True)
    expected_order_value = Money(required=True)
    value_3m = Money(required=True)
    value_6m = Money(required=True)
    value_12m = Money(required=True)


class PredictionPage(Schema):
    fit_id = fields.UUID(required=True)
    items = Rows(PredictionOut, required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class PredictionArgs(CsvFormatArgs):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = fields.String(validate=[validate.Length(max=2000), no_nul])
    sort = fields.String(
        load_default=q.DEFAULT_SORT,
        validate=validate.OneOf(_SORTS),
        metadata={"description": "Sort field; a leading `-` sorts descending."},
    )


def _fit_out(fit: ClvFit) -> dict[str, Any]:
    return {name: getattr(fit, name) for name in FitOut().fields}


@blp.route("", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, ClvOut)
def get_clv() -> Any:
    """The latest finished fit: status, holdout quality, parameters, predicted value.

    A shop with too little history answers 200 with status `insufficient_history`, the reason
    in `fit.message`, and no predictions. `running` shows a fit in progress.
    """
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        fit = q.latest_fit(session, tenant_id=principal.tenant_id)
        running = q.running_fit(session, tenant_id=principal.tenant_id)
        return {
            "status": fit.status if fit else "not_fitted",
            "fit": _fit_out(fit) if fit else None,
            "running": running,
        }


@blp.route("/fit", methods=["POST"])
@require_role(*WRITE_ROLES)
@blp.response(202, FitStarted)
def post_fit() -> Any:
    """Fit the shop's models now, as a background task (visible in Flower); follow it with GET."""
    task_id = current_producer().enqueue(
        jobs.CLV_FIT, {"tenant_id": str(current_principal().tenant_id)}
    )
    return {"task_id": task_id, "status": "queued"}


@blp.route("/customers", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(PredictionArgs, location="query")
@blp.response(200, PredictionPage)
@blp.alt_response(409, response="CONFLICT")
@blp.doc(responses={"200": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def get_predictions(args: dict[str, Any]) -> Any:
    """Each customer's predictions under the latest complete fit, a page at a time.

    409 `no_predictions` when the latest fit is not complete (or there is none). `format=csv`
    streams every customer in the sort order.
    """
    settings, tenant_id = current_settings(), current_principal().tenant_id
    with tenant_session(settings, tenant_id) as session:
        fit = q.latest_fit(session, tenant_id=tenant_id)
        if fit is None or fit.status != "complete":
            message = fit.message if fit and fit.message else "No CLV fit has completed yet."
            raise Conflict(message, code="no_predictions")
        fit_id, tz = fit.id, fit.timezone
        if not wants_csv(args):
            try:
                page = q.list_predictions(
                    session,
                    tenant_id=tenant_id,
                    fit_id=fit_id,
                    sort=args["sort"],
                    limit=args["limit"],
                    cursor=args.get("cursor"),
                )
            except CursorError as exc:
                raise Invalid("The request is invalid.", fields={"cursor": [str(exc)]}) from exc
            return {"fit_id": fit_id, "items": page.items, "next_cursor": page.next_cursor}

    def rows() -> Iterator[dict[str, Any]]:
        with tenant_session(settings, tenant_id) as session:
            yield from q.iter_predictions(
                session, tenant_id=tenant_id, fit_id=fit_id, sort=args["sort"]
            )

    response: Response = csv_response(
        columns_of(PredictionOut), rows(), filename="clv-customers", tz=tz
    )
    return response
