"""Hostile input on every endpoint of the spec answers a clear JSON 4xx and changes nothing.

Each case below answered 500 (or reached the database) before the strict input checks of
dashboard_api.bodies: nesting that exhausts the recursion limit, numbers Python or PostgreSQL
cannot hold, NUL and lone surrogates, invalid UTF-8, duplicate keys, enormous arrays, bodies that
are not JSON. Unauthenticated endpoints (/login, /tenants/register, /token/refresh) are sent each
case without a token as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from core.settings import Settings
from dashboard_api import create_app
from models import Tenant
from models.base import Base
from models.db import get_engine, session_scope

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000

# id -> (body, content type, the words the message must contain)
BODIES: dict[str, tuple[bytes, str, str]] = {
    "deep-array": (DEEP_ARRAY, JSON, "nests deeper"),
    "deep-object": (DEEP_OBJECT, JSON, "nests deeper"),
    "deep-in-field": (
        b'{"email": ' + b"[" * 60_000 + b"]" * 60_000 + b"}",
        JSON,
        "nests deeper",
    ),
    "infinite-float": (b'{"email": "a@x.com", "limit": 1e999999}', JSON, "finite"),
    "huge-int": (b'{"email": ' + b"9" * 100_000 + b"}", JSON, "64 bits"),
    "int-beyond-bigint": (b'{"limit": 99999999999999999999}', JSON, "64 bits"),
    "nan": (b'{"password": NaN}', JSON, "NaN"),
    "nul": (
        b'{"email": "a\\u0000@example.com", "password": "x\\u0000y", "name": "n\\u0000"}',
        JSON,
        "NUL",
    ),
    "nul-in-key": (b'{"em\\u0000ail": "a@example.com"}', JSON, "NUL"),
    "lone-surrogate": (b'{"name": "\\ud800", "email": "\\udfff"}', JSON, "Unicode"),
    "invalid-utf8": (b'{"email": "\xff\xfe@example.com"}', JSON, "UTF-8"),
    "duplicate-keys": (
        b'{"email": "a@example.com", "email": "b@example.com", "password": "p"}',
        JSON,
        "repeats the key",
    ),
    "enormous-array": (
        b'{"ids": [' + b"1," * 200_000 + b"1]}",
        JSON,
        "more than",
    ),
    "truncated": (b'{"email": "a@example.com", ', JSON, "not valid JSON"),
    "over-a-mebibyte": (b'"' + b"x" * (1024 * 1024 + 16) + b'"', JSON, ""),
    "plain-text": (b"email=a@example.com", "text/plain", JSON),
    "form": (b"email=a%40example.com&password=x", FORM, JSON),
}

# id -> query string, sent to the reads (GET) of the spec.
QUERIES: dict[str, str] = {
    "nul": "search=a%00b&q=%00",
    "huge-int": "limit=" + "9" * 100_000,
    "int-beyond-bigint": "limit=99999999999999999999&min_total=99999999999999999999",
    "infinite": "limit=1e999999&min_total=1e999999",
    "invalid-utf8": "search=%ff%fe",
    "repeated": "limit=1&limit=2",
}

ROWS_HASH = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
PARAM_VALUES = {"uuid": "00000000-0000-4000-8000-000000000000", "integer": "1"}


def _operations(client: FlaskClient) -> list[tuple[str, str, bool]]:
    """(method, concrete path, needs a token) for every operation of the spec."""
    spec = client.get("/openapi.json").get_json()
    found = []
    for template, item in spec["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            params = {
                p["name"]: p for p in [*item.get("parameters", []), *op.get("parameters", [])]
            }

            def value(match: re.Match[str], params: dict[str, Any] = params) -> str:
                schema = params.get(match.group(1), {}).get("schema", {})
                return PARAM_VALUES.get(schema.get("format") or schema.get("type"), "1")

            found.append(
                (method.upper(), re.sub(r"{(\w+)}", value, template), bool(op.get("security")))
            )
    return found


def _fingerprint(settings: Settings) -> dict[str, str]:
    """Every table's rows, hashed: equal before and after means nothing changed."""
    with session_scope(settings.database_url) as s:
        return {
            name: s.scalar(text(f"SELECT {ROWS_HASH} FROM {name} t"))
            for name in Base.metadata.tables
        }


def _assert_clear_4xx(response: Any, what: str, words: str) -> None:
    assert 400 <= response.status_code < 500, (
        what,
        response.status_code,
        response.get_data()[:300],
    )
    body = response.get_json()
    assert isinstance(body, dict), what
    assert isinstance(body.get("error"), str) and body["error"], (what, body)
    assert isinstance(body.get("message"), str), (what, body)
    assert words in body["message"], (what, body)


def _callers(
    operations: list[tuple[str, str, bool]], owner: dict[str, Any]
) -> Iterator[tuple[str, str, dict[str, str]]]:
    for method, path, secured in operations:
        yield method, path, owner["headers"]
        if not secured:
            yield method, path, {}


# Reads whose answer is an event stream, not JSON (GET /api/live).
STREAMS = {"/api/live"}


@pytest.mark.parametrize("case", sorted(BODIES))
def test_every_endpoint_refuses_a_hostile_body_with_a_clear_4xx(
    case: str, api_client: FlaskClient, owner: dict[str, Any], settings: Settings
) -> None:
    body, content_type, words = BODIES[case]
    operations = _operations(api_client)
    assert {("POST", "/login"), ("POST", "/tenants/register"), ("POST", "/token/refresh")} <= {
        (m, p) for m, p, _ in operations
    }
    before = _fingerprint(settings)
    for method, path, headers in _callers(operations, owner):
        response = api_client.open(
            path, method=method, data=body, content_type=content_type, headers=headers
        )
        if method == "GET" and content_type != JSON:
            # A read ignores a body it was not sent as JSON; it answers as without one (the
            # live stream with its event stream, every other read with JSON).
            kind = "text/event-stream" if path in STREAMS else "application/json"
            assert response.status_code < 500, (path, response.status_code)
            assert response.mimetype == kind, (path, response.mimetype)
            response.close()
            continue
        _assert_clear_4xx(response, f"{method} {path} {bool(headers)}", words)
    assert _fingerprint(settings) == before


@pytest.mark.parametrize("case", sorted(QUERIES))
def test_every_read_answers_a_hostile_query_with_json_and_no_500(
    case: str, api_client: FlaskClient, owner: dict[str, Any], settings: Settings
) -> None:
    before = _fingerprint(settings)
    for method, path, headers in _callers(_operations(api_client), owner):
        if method != "GET" or path in {"/openapi.json", "/docs"}:
            continue
        response = api_client.get(f"{path}?{QUERIES[case]}", headers=headers)
        assert response.status_code < 500, (path, response.status_code, response.get_data()[:300])
        if response.status_code >= 400:
            _assert_clear_4xx(response, path, "")
    assert _fingerprint(settings) == before


def test_nul_in_a_path_segment_is_400(api_client: FlaskClient, owner: dict[str, Any]) -> None:
    response = api_client.get("/api/checkouts/a%00b", headers=owner["headers"])
    _assert_clear_4xx(response, "path", "NUL")


def test_nul_in_a_json_body_is_400_and_registers_nothing(
    api_client: FlaskClient, settings: Settings
) -> None:
    response = api_client.post(
        "/tenants/register",
        json={
            "name": "Bad\u0000Shop",
            "email": "nul@example.com",
            "password": "correct horse battery staple",
            "store_url": "nul-shop",
            "webhook_secret": "s3cret",
        },
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert "NUL" in response.json["message"]
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(func.count()).select_from(Tenant)) == 0


def test_nul_in_a_query_argument_is_400(api_client: FlaskClient, owner: dict[str, Any]) -> None:
    response = api_client.get("/api/customers?search=a%00b", headers=owner["headers"])
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_a_strict_body_within_the_limits_still_works(api_client: FlaskClient) -> None:
    """The limits refuse only the hostile: a plain login body is parsed and answered."""
    response = api_client.post(
        "/login",
        json={"email": "nobody@example.com", "password": "wrong password \u00e9\U0001f600"},
    )
    assert response.status_code == 401
    assert response.get_json()["error"]


def test_a_value_the_database_refuses_is_a_400_not_a_500(settings: Settings) -> None:
    """The last line of defence: a value that passed every check but not its column's type."""
    app = create_app(settings)

    @app.get("/out-of-range")
    def out_of_range() -> str:
        with get_engine(settings.api_db_url).connect() as conn:
            conn.execute(text("SELECT CAST(:n AS integer)"), {"n": str(2**40)})
        return "unreachable"

    response = app.test_client().get("/out-of-range")
    _assert_clear_4xx(response, "out of range", "out of range")
