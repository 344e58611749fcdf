"""Admin API pulls from the dashboard: store the shop's token, start backfills, watch drift."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from core import jobs
from dashboard_api.api import Blueprint
from dashboard_api.auth import WRITE_ROLES, current_principal, require_role
from dashboard_api.context import current_producer, current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import Conflict, Invalid, NotFound
from dashboard_api.views.data.schemas import no_nul
from models import BackfillRun
from shops.credentials import CredentialError, credential_info, set_tenant_credentials
from shops.syncs import checkpoints, list_backfills, list_reconciles, pullable, start_run

blp = Blueprint(
    "sync",
    __name__,
    url_prefix="/api/sync",
    description="Admin API credentials, backfills and reconcile runs (owners and admins).",
)


class Instant(fields.AwareDateTime):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError("Time out of range.") from exc


class CredentialsIn(Schema):
    access_token = fields.String(
        required=True,
        load_only=True,
        validate=[validate.Length(1, 512), no_nul],
        metadata={
            "description": "The shop's Admin API access token; stored encrypted, never shown."
        },
    )
    api_version = fields.String(
        required=True, validate=validate.Regexp(r"^(\d{4}-(01|04|07|10)|unstable)$")
    )
    admin_url = fields.Url(
        load_default=None,
        allow_none=True,
        require_tld=False,
        schemes={"https"},
        validate=[validate.Length(max=255), no_nul],
        metadata={
            "description": "Only https://<shop domain>, the default; another Admin API "
            "address is an operator setting (`cartwheel tenants set-credentials --admin-url`)."
        },
    )


class CredentialsOut(Schema):
    api_version = fields.String(required=True)
    operator_address = fields.Boolean(
        required=True,
        metadata={"description": "An operator set the Admin API address (not shown to tenants)."},
    )
    updated_at = fields.DateTime(required=True)
    has_token = fields.Boolean(required=True)


class BackfillIn(Schema):
    resources = fields.List(
        fields.String(validate=validate.OneOf(pullable())),
        load_default=lambda: list(pullable()),
        validate=validate.Length(1, len(pullable())),
    )
    since = Instant(load_default=None, allow_none=True, default_timezone=UTC)


class CheckpointOut(Schema):
    resource = fields.String(required=True)
    status = fields.String(required=True)
    rows_expected = fields.Integer(required=True)
    rows_seen = fields.Integer(required=True)
    rows_written = fields.Integer(required=True)
    buckets_done = fields.Integer(required=True)
    bucket_count = fields.Integer(allow_none=True, required=True)


class BackfillOut(Schema):
    id = fields.UUID(required=True)
    status = fields.String(required=True)
    resources = fields.List(fields.String(), required=True)
    since = fields.DateTime(allow_none=True, required=True)
    error = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    started_at = fields.DateTime(allow_none=True, required=True)
    finished_at = fields.DateTime(allow_none=True, required=True)
    progress = fields.List(fields.Nested(CheckpointOut), required=True)


class BackfillStarted(BackfillOut):
    resumed = fields.Boolean(required=True)
    task_id = fields.String(required=True)


class ReconcileOut(Schema):
    id = fields.UUID(required=True)
    status = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True, required=True)
    seen = fields.Integer(required=True)
    missing = fields.Integer(required=True)
    stale = fields.Integer(required=True)
    written = fields.Integer(required=True)
    requests = fields.Integer(required=True)
    throttled = fields.Integer(required=True)
    waited_seconds = fields.Float(required=True)
    error = fields.String(allow_none=True, required=True)
    resources = fields.Dict(required=True, metadata={"description": "Findings per resource."})


BackfillList = Schema.from_dict(
    {"items": fields.List(fields.Nested(BackfillOut), required=True)}, name="BackfillList"
)
ReconcileList = Schema.from_dict(
    {"items": fields.List(fields.Nested(ReconcileOut), required=True)}, name="ReconcileList"
)


def _credentials_out(session: Any, tenant_id: uuid.UUID) -> dict[str, Any]:
    info = credential_info(session, tenant_id=tenant_id)
    if info is None:
        raise NotFound("No Admin API credentials are stored for this shop.")
    return {
        "api_version": info.api_version,
        # An operator's address may be internal: a tenant only learns that one is set.
        "operator_address": info.admin_url is not None,
        "updated_at": info.updated_at,
        "has_token": True,
    }


@blp.route("/credentials", methods=["PUT"])
@require_role(*WRITE_ROLES)
@blp.arguments(CredentialsIn)
@blp.response(200, CredentialsOut)
def put_credentials(data: dict[str, Any]) -> Any:
    """Store (or replace) the shop's Admin API token and version; the token is never returned.

    The Admin API is always the shop's own (`https://<shop domain>`); an `admin_url` naming any
    other address is refused with 400 and nothing is stored.
    """
    principal = current_principal()
    settings = current_settings()
    with tenant_session(settings, principal.tenant_id) as session:
        try:
            set_tenant_credentials(
                session,
                tenant_id=principal.tenant_id,
                token=data["access_token"],
                api_version=data["api_version"],
                admin_url=data["admin_url"],
                secret_keys=settings.secret_keys,
            )
        except CredentialError as exc:
            raise Invalid(str(exc)) from exc
        return _credentials_out(session, principal.tenant_id)


@blp.route("/credentials", methods=["GET"])
@require_role(*WRITE_ROLES)
@blp.response(200, CredentialsOut)
@blp.alt_response(404, response="NOT_FOUND")
def get_credentials() -> Any:
    """What is stored: API version, URL and when; never the token."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return _credentials_out(session, principal.tenant_id)


def _backfill_out(session: Any, run: BackfillRun) -> dict[str, Any]:
    progress = [
        {
            "resource": cp.resource,
            "status": cp.status,
            "rows_expected": cp.root_object_count,
            "rows_seen": cp.rows_seen,
            "rows_written": cp.rows_written,
            "buckets_done": cp.buckets_done,
            "bucket_count": cp.bucket_count,
        }
        for cp in checkpoints(session, run)
    ]
    return {
        "id": run.id,
        "status": run.status,
        "resources": list(run.resources),
        "since": run.since,
        "error": run.error,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "progress": progress,
    }


@blp.route("/backfills", methods=["POST"])
@require_role(*WRITE_ROLES)
@blp.arguments(BackfillIn)
@blp.response(202, BackfillStarted)
@blp.alt_response(409, response="CONFLICT")
def post_backfill(data: dict[str, Any]) -> Any:
    """Start (or resume) a backfill as a Celery task; follow it with GET /backfills/<id>."""
    principal = current_principal()
    settings = current_settings()
    job_id = jobs.new_job_id()
    with tenant_session(settings, principal.tenant_id) as session:
        if credential_info(session, tenant_id=principal.tenant_id) is None:
            raise Conflict(
                "Store the shop's Admin API credentials first (PUT /api/sync/credentials)."
            )
        run, resumed = start_run(
            session,
            tenant_id=principal.tenant_id,
            resources=data["resources"],
            since=data["since"],
            job_id=job_id,
        )
        out = _backfill_out(session, run)
        kwargs = {"tenant_id": str(principal.tenant_id), "run_id": str(run.id)}
        current_producer().enqueue_after_commit(session, jobs.BACKFILL, kwargs, job_id=job_id)
    return {**out, "resumed": resumed, "task_id": job_id}


@blp.route("/backfills", methods=["GET"])
@require_role(*WRITE_ROLES)
@blp.response(200, BackfillList)
def get_backfills() -> Any:
    """The shop's backfills, newest first, with per-resource progress."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        runs = list_backfills(session, tenant_id=principal.tenant_id)
        return {"items": [_backfill_out(session, r) for r in runs]}


@blp.route("/backfills/<uuid:run_id>", methods=["GET"])
@require_role(*WRITE_ROLES)
@blp.response(200, BackfillOut)
@blp.alt_response(404, response="NOT_FOUND")
def get_backfill(run_id: uuid.UUID) -> Any:
    """One backfill and its progress."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        run = session.get(BackfillRun, (principal.tenant_id, run_id))
        if run is None:
            raise NotFound("No such backfill.")
        return _backfill_out(session, run)


@blp.route("/reconcile-runs", methods=["GET"])
@require_role(*WRITE_ROLES)
@blp.response(200, ReconcileList)
def get_reconcile_runs() -> Any:
    """Recent reconcile runs, newest first: how many rows each found missing or stale."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        runs = list_reconciles(session, tenant_id=principal.tenant_id)
        return {
            "items": [
                {
                    "id": r.id,
                    "status": r.status,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "seen": r.seen,
                    "missing": r.missing,
                    "stale": r.stale,
                    "written": r.written,
                    "requests": r.requests,
                    "throttled": r.throttled,
                    "waited_seconds": r.waited_seconds,
                    "error": r.error,
                    "resources": {
                        name: {k: p.get(k, 0) for k in ("seen", "missing", "stale", "written")}
                        for name, p in r.progress.items()
                    },
                }
                for r in runs
            ]
        }
