"""The compiled payload loaders agree with marshmallow, which stays the contract.

Payloads are Shopify's samples with fields replaced by values of every JSON type (and ones a
validator refuses), removed, or nested wrongly. Whenever the fast path decides, it must return
exactly what `schema.load` returns; whatever it declines, marshmallow decides, errors included.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

import resources
from tests.support.samples import sample_json

SAMPLES = {
    "customers": ["customers_create", "customers_update"],
    "products": ["products_create"],
    "orders": ["orders_create", "orders_paid"],
    "carts": ["carts_create"],
    "checkouts": ["checkouts_create", "checkouts_update"],
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=400),
    st.sampled_from(
        [
            "2026-01-02T03:04:05-05:00", "2026-01-02T03:04:05Z", "2026-01-02 03:04:05",
            "2026-13-40", "12.50", "1e20", "NaN", "-0.0001", "true", "yes", "", "?key=1",
        ]
    ),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a payload (list items by index), shallow ones first."""
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for key, child in node.items():
            out.append((*prefix, key))
            out += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node[:2]):
            out.append((*prefix, i))
            out += _paths(child, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, name: str) -> dict[str, Any]:
    payload = copy.deepcopy(sample_json(draw(st.sampled_from(SAMPLES[name]))))
    schema_fields = set(resources.get(name).schema.load_fields)
    paths = [p for p in _paths(payload) if len(p) <= 3 and (p[0] in schema_fields or len(p) == 1)]
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        path = draw(st.sampled_from(paths))
        parent = payload
        try:
            for step in path[:-1]:
                parent = parent[step]
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):
            continue
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            try:
                parent[path[-1]] = draw(values)
            except (IndexError, TypeError):
                continue
    return payload


def _exact(name: str, data: Any) -> dict[str, Any] | ValidationError:
    try:
        return dict(resources.get(name).schema.load(data))
    except ValidationError as exc:
        return exc


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_fast_path_takes_shopify_s_samples_and_agrees(name: str) -> None:
    loader = resources.get(name).loader
    for sample in SAMPLES[name]:
        payload = sample_json(sample)
        fast = loader.fast_load(payload)
        assert fast is not None, f"{sample} fell back to marshmallow"
        assert fast == _exact(name, payload)


@pytest.mark.parametrize("name", sorted(SAMPLES))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_whatever_the_fast_path_decides_marshmallow_decides_the_same(
    name: str, data: st.DataObject
) -> None:
    payload = data.draw(mutated(name))
    loader = resources.get(name).loader
    exact = _exact(name, payload)
    fast = loader.fast_load(payload)
    if fast is not None:
        assert not isinstance(exact, ValidationError), f"fast path accepted: {exact.messages}"
        assert fast == exact
    if isinstance(exact, ValidationError):
        with pytest.raises(ValidationError) as raised:
            loader.load(payload)
        assert raised.value.messages == exact.messages
    else:
        derive = resources.get(name).derive
        expected = derive(copy.deepcopy(exact)) if derive else exact
        assert loader.load(payload) == expected


def test_a_field_type_the_loader_was_not_taught_fails_at_import() -> None:
    from marshmallow import fields

    from resources.fields import Payload
    from resources.loader import Loader

    class Odd(Payload):
        email = fields.Email()

    with pytest.raises(TypeError, match="no fast conversion"):
        Loader(Odd())
