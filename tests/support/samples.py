"""Shopify's sample payloads (devtools/samples) and the tests' own fixtures (tests/fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import devtools

SAMPLES = Path(devtools.__file__).resolve().parent / "samples"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"


def sample_body(name: str) -> bytes:
    """The exact bytes of one of Shopify's sample payloads."""
    return (SAMPLES / f"{name}.json").read_bytes()


def sample_json(name: str) -> dict[str, Any]:
    return dict(json.loads(sample_body(name)))


def fixture_json(name: str) -> Any:
    """One of the tests' own fixture files."""
    return json.loads((FIXTURES / f"{name}.json").read_text())
