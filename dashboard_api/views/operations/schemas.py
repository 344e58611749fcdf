"""Schemas of the operations endpoints: dead letters, replay, customer data exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from dashboard_api.views.data.schemas import BIGINT_MAX, IdString, no_nul

MAX_LIMIT = 250
MAX_REPLAY = 1000


class Instant(fields.AwareDateTime):
    """An ISO 8601 time, turned into UTC (PostgreSQL refuses some offsets ISO 8601 allows)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError("Time out of range.") from exc


def _instant(description: str) -> Instant:
    return Instant(
        default_timezone=UTC,
        metadata={"description": f"{description} (ISO 8601; no offset means UTC)"},
    )


def _limit(default: int, most: int) -> fields.Integer:
    return fields.Integer(load_default=default, validate=validate.Range(1, most))


class DeadLetterArgs(Schema):
    topic = fields.String(validate=[validate.Length(max=64), no_nul])
    status = fields.String(
        validate=validate.OneOf(("dead", "replayed")),
        metadata={"description": "`dead`: not replayed yet; `replayed`: put back already."},
    )
    since = _instant("Dead-lettered at or after")
    until = _instant("Dead-lettered before")
    limit = _limit(50, MAX_LIMIT)


class DeadLetterOut(Schema):
    id = fields.Integer(required=True)
    webhook_id = fields.String(required=True)
    topic = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "dead or replayed"})
    error = fields.String(required=True)
    attempts = fields.Integer(required=True)
    dead_lettered_at = fields.DateTime(required=True)
    received_at = fields.String(allow_none=True, required=True)
    replayed_at = fields.DateTime(allow_none=True, required=True)


class DeadLetterDetail(DeadLetterOut):
    body = fields.Raw(
        allow_none=True, metadata={"description": "The delivery's body (JSON when it parses)."}
    )


DeadLetterList = Schema.from_dict(
    {"items": fields.List(fields.Nested(DeadLetterOut), required=True)}, name="DeadLetterList"
)


class ReplayIn(Schema):
    ids = fields.List(
        fields.Integer(validate=validate.Range(1, BIGINT_MAX)),
        validate=validate.Length(1, MAX_REPLAY),
        metadata={"description": "Dead letters to replay; or set `all`."},
    )
    all = fields.Boolean(
        load_default=False, metadata={"description": "Every dead letter matching the filters."}
    )
    topic = fields.String(validate=[validate.Length(max=64), no_nul])
    since = _instant("Dead-lettered at or after")
    until = _instant("Dead-lettered before")
    limit = _limit(MAX_REPLAY, MAX_REPLAY)

    @validates_schema
    def _one_way(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("ids")) == bool(data.get("all")):
            raise ValidationError("Give either `ids` or `all: true`.", "_schema")


class ReplayOut(Schema):
    replayed = fields.List(fields.Integer(), required=True)
    skipped = fields.List(
        fields.Integer(),
        required=True,
        metadata={"description": "Asked for, but replayed already or being replayed."},
    )


class ExportArgs(Schema):
    customer_id = IdString()
    limit = _limit(50, MAX_LIMIT)


class ExportOut(Schema):
    id = fields.UUID(required=True)
    customer_id = IdString(required=True)
    request_id = fields.String(allow_none=True, required=True)
    webhook_id = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class ExportDetail(ExportOut):
    data = fields.Dict(required=True, metadata={"description": "Everything held, as JSON."})


ExportList = Schema.from_dict(
    {"items": fields.List(fields.Nested(ExportOut), required=True)}, name="ExportList"
)
