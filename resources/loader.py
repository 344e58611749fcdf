"""Payload schemas compiled into plain functions, so the drain does not pay marshmallow per field.

Marshmallow stays the contract. A `Loader` walks the schema's declared fields once, at import,
and builds a loader for the common case: every field missing, null or of its plain JSON type
and valid. Anything else -- a string where a number belongs, a value a validator refuses, a field
type it was not taught -- falls back to `schema.load`, which gives marshmallow's own answer and
error messages. The fast path may therefore be stricter than marshmallow, never looser, and when
it accepts it returns exactly what marshmallow returns; tests/resources/test_loader.py checks this
on generated payloads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields
from marshmallow.utils import missing

from resources.fields import (
    LooseId,
    Money,
    MoneySet,
    Timestamp,
    to_amounts,
    to_id,
    to_money,
    to_timestamp,
)

Derive = Callable[[dict[str, Any]], dict[str, Any]]
Convert = Callable[[Any], Any]


class _Unusual(Exception):
    """The fast path will not decide this value; marshmallow will."""


def _strict_int(value: Any) -> int:
    if type(value) is not int:
        raise _Unusual
    return value


def _plain_str(value: Any) -> str:
    if type(value) is not str:
        raise _Unusual
    return value


def _plain_bool(value: Any) -> bool:
    if value is not True and value is not False:
        raise _Unusual
    return bool(value)


def _checked(convert: Callable[[Any], Any]) -> Convert:
    def run(value: Any) -> Any:
        try:
            return convert(value)
        except ValidationError as exc:
            raise _Unusual from exc

    return run


def _converter(field: fields.Field) -> Convert:
    """The fast conversion of one field's non-null value; TypeError for a field it cannot do."""
    if isinstance(field, fields.Nested):
        if not isinstance(field.nested, type | Schema) or field.many:
            raise TypeError(f"unsupported nested field {field!r}")
        nested = field.nested if isinstance(field.nested, Schema) else field.nested()
        inner = _compile(nested)

        def obj(value: Any) -> Any:
            if type(value) is not dict:
                raise _Unusual
            return inner(value)

        return obj
    if isinstance(field, fields.List):
        item = _field_loader(field.inner)

        def items(value: Any) -> Any:
            if type(value) is not list:
                raise _Unusual
            return [item(v) for v in value]

        return items
    if isinstance(field, fields.Integer):
        if not field.strict:
            raise TypeError("only strict integers are compiled")
        return _strict_int
    if isinstance(field, fields.Boolean):
        return _plain_bool
    if type(field) is fields.String:
        return _plain_str
    if isinstance(field, Timestamp):
        return _checked(to_timestamp)
    if isinstance(field, Money):
        return _checked(to_money)
    if isinstance(field, MoneySet):
        return _checked(to_amounts)
    if isinstance(field, LooseId):
        return _checked(to_id)
    raise TypeError(f"no fast conversion for {type(field).__name__}")


def _field_loader(field: fields.Field) -> Convert:
    """Convert and validate one present value (None included) exactly as the field would."""
    convert = _converter(field)
    validators = tuple(field.validators)
    allow_none = bool(field.allow_none)

    def load(value: Any) -> Any:
        if value is None:
            if allow_none:
                return None
            raise _Unusual
        out = convert(value)
        for validator in validators:
            try:
                validator(out)
            except ValidationError as exc:
                raise _Unusual from exc
        return out

    return load


def _compile(schema: Schema) -> Callable[[dict[str, Any]], dict[str, Any]]:
    if schema.unknown != EXCLUDE:
        raise TypeError(f"{type(schema).__name__}: only unknown=EXCLUDE schemas are compiled")
    plan: list[tuple[str, str, bool, Any, Convert]] = []
    for name, field in schema.load_fields.items():
        plan.append(
            (
                field.data_key or name,
                field.attribute or name,
                bool(field.required),
                field.load_default,
                _field_loader(field),
            )
        )

    def load(data: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, attribute, required, default, convert in plan:
            value = data.get(key, missing)
            if value is missing:
                if required:
                    raise _Unusual
                if default is not missing:
                    out[attribute] = default() if callable(default) else default
                continue
            out[attribute] = convert(value)
        return out

    return load


class Loader:
    """`schema.load` then `derive`, without marshmallow's per-field cost in the common case."""

    def __init__(self, schema: Schema, derive: Derive | None = None) -> None:
        self.schema = schema
        self.derive = derive
        self._fast = _compile(schema)

    def load(self, data: Any) -> dict[str, Any]:
        """The validated, typed values; raises marshmallow's ValidationError for bad input."""
        values = self.fast_load(data)
        if values is None:
            values = self.schema.load(data)
        return self.derive(values) if self.derive else values

    def fast_load(self, data: Any) -> dict[str, Any] | None:
        """The fast path alone, before `derive`: the values, or None when it will not decide."""
        if type(data) is not dict:
            return None
        try:
            return self._fast(data)
        except _Unusual:
            return None
