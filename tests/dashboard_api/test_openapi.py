"""Schemathesis against /openapi.json: no 500s, and every answer matches the documented schema.

Operations are driven one by one from inside the test: schemathesis' pytest fixture loader
relies on a pytest internal that pytest 9 removed.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.settings import Settings
from tests.plugins.dashboard import login
from tests.support.shop_builders import BIG, cart, checkout, customer, deliver, order, product
from tests.support.webhooks import Sender

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 20
# An event stream stays open until its token expires, so no answer of it ever completes here;
# tests/dashboard_api/test_live.py checks its documented answers (events, 400, 401) instead.
STREAMS = {("GET", "/api/live")}


def _seed(owner: dict[str, Any], client: FlaskClient, settings: Settings) -> None:
    """A shop whose every list has rows, so item schemas are validated too."""
    shop = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    deliver(
        shop,
        settings,
        ("customers/create", customer(BIG)),
        ("products/create", product(BIG + 1)),
        ("orders/create", order(BIG + 2, customer_id=BIG, checkout_token="t1", cart_token="c1")),
        ("orders/create", order(BIG + 3, processed_at=None, cancelled_at="2026-01-10T13:00:00Z")),
        ("checkouts/create", checkout("t1", cart_token="c1")),
        ("checkouts/create", checkout("t2")),
        ("carts/create", cart("c1")),
        ("carts/create", cart("c2", lines=())),
    )


def _check_operation(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_api_conforms_to_its_spec(
    api_client: FlaskClient, owner: dict[str, Any], client: FlaskClient, settings: Settings
) -> None:
    _seed(owner, client, settings)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", api_client.application)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in STREAMS:
            operations.append(operation)
    # Reads first and logout last; a fresh login per operation, as one may revoke its token.
    operations.sort(key=lambda op: (op.method.upper() != "GET", op.path == "/logout"))
    assert any(op.path == "/api/insights" for op in operations)
    failures = []
    for operation in operations:
        try:
            token = login(api_client, owner["email"])["access_token"]
            _check_operation(operation, {"Authorization": f"Bearer {token}"})
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
