"""`Rows` (dashboard_api/views/data/fields.py) dumps every flat row schema it is used with
exactly as marshmallow's `List(Nested(schema))` does: values, None and absent keys."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from marshmallow import Schema, fields, post_dump

from dashboard_api.views.data.clv import PredictionOut
from dashboard_api.views.data.customer_schemas import CustomerFiguresOut
from dashboard_api.views.data.fields import Money, Rows
from dashboard_api.views.data.insights import DayOut
from dashboard_api.views.data.products import ProductRowOut
from dashboard_api.views.data.reports import SalesDayOut

SAMPLES: list[Any] = [
    3, 0, -7, Decimal("12.3450"), Decimal("0.10"), Decimal("-5"), Decimal("1E+2"), "x", "",
    0.25, True, date(2026, 3, 1), datetime(2026, 3, 1, 12, 30, tzinfo=UTC), 9_100_000_000_000_001,
]  # fmt: skip


def _value(field: fields.Field, n: int) -> Any:
    """A value the field takes, varied by n (None now and then)."""
    if n % 5 == 4:
        return None
    if isinstance(field, Money):
        return SAMPLES[3 + n % 4]
    if isinstance(field, fields.Date | fields.DateTime):
        return SAMPLES[11 if isinstance(field, fields.Date) else 12]
    if isinstance(field, fields.Float):
        return SAMPLES[9] * n
    if isinstance(field, fields.Integer):
        return SAMPLES[n % 3]
    if isinstance(field, fields.Number):
        return SAMPLES[3 + n % 4]
    if isinstance(field, fields.Boolean):
        return n % 2 == 0
    return SAMPLES[13] if "id" in (field.attribute or field.name or "") else f"text {n}"


def _rows(schema: type[Schema]) -> list[dict[str, Any]]:
    dump_fields = schema().dump_fields
    rows = []
    for n in range(12):
        row = {
            (f.attribute or name): _value(f, n + i)
            for i, (name, f) in enumerate(dump_fields.items())
        }
        if n == 7:  # a row without some keys
            for name in list(row)[::3]:
                del row[name]
        rows.append(row)
    return rows


@pytest.mark.parametrize(
    "schema", [SalesDayOut, DayOut, ProductRowOut, CustomerFiguresOut, PredictionOut]
)
def test_rows_dump_as_nested_lists_do(schema: type[Schema]) -> None:
    rows = _rows(schema)
    fast = Rows(schema).serialize("items", {"items": rows})
    assert fast == fields.List(fields.Nested(schema)).serialize("items", {"items": rows})
    assert len(fast) == 12


def test_a_schema_with_a_hook_is_dumped_by_marshmallow() -> None:
    class Hooked(Schema):
        amount = Money()

        @post_dump
        def tag(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            return data | {"tagged": True}

    rows = [{"amount": Decimal("1.5")}]
    assert Rows(Hooked).serialize("r", {"r": rows}) == [{"amount": "1.50", "tagged": True}]
