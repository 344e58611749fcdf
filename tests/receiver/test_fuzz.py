"""Hostile bodies on a signed webhook and on /ingest: a JSON 4xx or a 2xx, never a 500, and
everything accepted ends in the event log or the dead letters (nothing lost)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from core.settings import Settings
from models import DeadLetter, WebhookEvent
from models.db import session_scope
from tests.support.pipeline import drain_all
from tests.support.webhooks import shopify_headers

DEEP = 100_000
BIG_INT = b"9" * 100_000

# name -> (body, what the receiver answers)
WEBHOOK_BODIES: dict[str, tuple[bytes, int]] = {
    "deep_arrays": (b'{"a":' + b"[" * DEEP + b"]" * DEEP + b"}", 400),
    "deep_unclosed": (b'{"a":' + b"[" * DEEP, 400),
    "deep_objects": (b'{"a":' * DEEP + b"1" + b"}" * DEEP, 400),
    # Deeper than the drain's JSON parser goes, shallower than orjson's limit: accepted, then
    # a dead letter with its reason.
    "nested_1000": (b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}", 200),
    "huge_float": (b'{"id":1e999999}', 400),
    "huge_int": (b'{"id":' + BIG_INT + b"}", 400),
    "long_int": (b'{"id":1,"n":' + b"9" * 400 + b"}", 200),
    "nan": (b'{"id":NaN}', 400),
    "infinity": (b'{"id":-Infinity}', 400),
    "nul_escape": (b'{"id":1,"note":"a\\u0000b"}', 200),
    "nul_byte": (b'{"id":1,"note":"a\x00b"}', 400),
    "nul_outside": (b'{"id":1}\x00', 400),
    "invalid_utf8": (b'{"id":1,"note":"\xc3\x28"}', 400),
    "overlong_utf8": (b'{"id":1,"note":"\xc0\xaf"}', 400),
    "lone_surrogate": (b'{"id":1,"note":"\\ud800"}', 200),
    "duplicate_keys": (b'{"id":1,"id":2,"note":"x","note":"y"}', 200),
    "enormous_array": (b'{"id":1,"a":[' + b"0," * 1_500_000 + b"0]}", 200),
    "empty": (b"", 400),
    "bom": (b'\xef\xbb\xbf{"id":1}', 400),
}


def _signed(tenant: dict[str, Any], body: bytes, webhook_id: str) -> dict[str, str]:
    return shopify_headers(
        "orders/create", body, shop=tenant["shop"], secret=tenant["secret"], webhook_id=webhook_id
    )


def _kept(settings: Settings) -> set[str]:
    with session_scope(settings.database_url) as session:
        logged = set(session.scalars(select(WebhookEvent.webhook_id)))
        dead = set(session.scalars(select(DeadLetter.webhook_id)))
    return logged | dead


def test_hostile_webhook_bodies_get_4xx_or_are_kept(
    client: FlaskClient, tenant: dict[str, Any], settings: Settings
) -> None:
    accepted = []
    for name, (body, status) in WEBHOOK_BODIES.items():
        response = client.post("/webhooks", data=body, headers=_signed(tenant, body, name))
        assert response.status_code == status, (name, response.get_json())
        if status == 200:
            accepted.append(name)
        else:
            assert response.json["error"] == "bad_json" and response.json["message"], name
    drain_all(settings)
    assert _kept(settings) >= set(accepted)


INGEST_BODIES: dict[str, tuple[bytes, int]] = {
    "deep_arrays": (b"[" * DEEP + b"]" * DEEP, 400),
    "deep_item": (b'[{"a":' + b"[" * DEEP + b"]" * DEEP + b"}]", 400),
    "nested_900_item": (
        b'[{"id":5,"email":"x@example.com","a":' + b"[" * 900 + b"]" * 900 + b"}]",
        202,
    ),
    "huge_float": (b'[{"id":1e999999}]', 400),
    "huge_int": (b'[{"id":' + BIG_INT + b"}]", 400),
    "nan": (b'[{"id":NaN}]', 400),
    "nul_escape": (b'[{"id":6,"email":"n@example.com","note":"a\\u0000b"}]', 202),
    "nul_byte": (b'[{"id":1,"note":"a\x00b"}]', 400),
    "invalid_utf8": (b'[{"id":1,"note":"\xc3\x28"}]', 400),
    "lone_surrogate": (b'[{"id":7,"email":"s@example.com","first_name":"\\ud800"}]', 202),
    "duplicate_keys": (b'[{"id":8,"id":9,"email":"d@example.com"}]', 202),
    "enormous_array": (b"[" + b"0," * 1_500_000 + b"0]", 413),
    "many_bad_items": (b"[" + b"0," * 999 + b"0]", 202),
}


@pytest.fixture
def ingest_key(api_client: FlaskClient, owner: dict[str, Any]) -> str:
    response = api_client.post("/api/ingest-keys", json={"name": "fuzz"}, headers=owner["headers"])
    assert response.status_code == 201
    return str(response.get_json()["key"])


def test_hostile_ingest_bodies_get_4xx_or_are_kept(
    client: FlaskClient, ingest_key: str, settings: Settings
) -> None:
    headers = {"Authorization": f"Bearer {ingest_key}", "Content-Type": "application/json"}
    accepted = 0
    for name, (body, status) in INGEST_BODIES.items():
        response = client.post("/ingest/customers", data=body, headers=headers)
        assert response.status_code == status, (name, response.get_json())
        payload = response.get_json()
        if status == 202:
            accepted += payload["accepted"]
        else:
            assert payload["error"] and payload["message"], name
    assert drain_all(settings) == accepted
    with session_scope(settings.database_url) as session:
        kept = len(list(session.scalars(select(WebhookEvent.webhook_id))))
        kept += len(list(session.scalars(select(DeadLetter.webhook_id))))
    assert kept == accepted


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@hsettings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.one_of(
        st.binary(max_size=300),
        _JSON.map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda v, cut: json.dumps({"id": 1, "x": v}).encode()[:cut], _JSON, st.integers(0, 80)
        ),
    )
)
def test_no_signed_body_makes_the_receiver_answer_500(
    client: FlaskClient, tenant: dict[str, Any], body: bytes
) -> None:
    response = client.post("/webhooks", data=body, headers=_signed(tenant, body, "fuzz"))
    assert response.status_code in (200, 400), response.get_data()[:300]
    assert response.is_json


@hsettings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.one_of(st.binary(max_size=300), _JSON.map(lambda v: json.dumps([v]).encode())))
def test_no_ingest_body_makes_the_receiver_answer_500(
    client: FlaskClient, ingest_key: str, body: bytes
) -> None:
    headers = {"Authorization": f"Bearer {ingest_key}"}
    response = client.post("/ingest/customers", data=body, headers=headers)
    assert response.status_code in (202, 400), response.get_data()[:300]
    assert response.is_json
