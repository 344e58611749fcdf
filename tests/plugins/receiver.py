"""The receiver app under Flask's test client, and a sender that signs as Shopify does."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from receiver import create_app
from tests.support.webhooks import Sender


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    app = create_app(settings)
    app.testing = True
    return app.test_client()


@pytest.fixture
def sender(client: FlaskClient, tenant: dict[str, Any]) -> Sender:
    return Sender(client, shop=tenant["shop"], secret=tenant["secret"])
