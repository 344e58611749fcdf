"""HMAC verification against Shopify's own test vectors, and its edge cases."""

from __future__ import annotations

import pytest

from receiver.signature import sign, verify_signature
from tests.support.samples import fixture_json

VECTORS = fixture_json("hmac_vectors")


@pytest.mark.parametrize("vector", VECTORS, ids=[v["secret"] for v in VECTORS])
def test_shopify_vectors_verify(vector: dict[str, str]) -> None:
    body = vector["body"].encode()
    assert sign(vector["secret"], body) == vector["expected_x_shopify_hmac_sha256"]
    assert verify_signature(body, vector["expected_x_shopify_hmac_sha256"], [vector["secret"]])


def test_previous_secret_verifies_during_rotation() -> None:
    old = next(v for v in VECTORS if v["secret"] == "old_secret")
    body = old["body"].encode()
    assert verify_signature(body, old["expected_x_shopify_hmac_sha256"], ["secret", "old_secret"])
    assert not verify_signature(body, old["expected_x_shopify_hmac_sha256"], ["secret"])


def test_one_space_changes_the_digest() -> None:
    spaced, compact = VECTORS[0], VECTORS[1]
    assert spaced["body"] != compact["body"]
    assert not verify_signature(
        compact["body"].encode(), spaced["expected_x_shopify_hmac_sha256"], [spaced["secret"]]
    )


@pytest.mark.parametrize(
    "header",
    [
        "",
        None,
        "not base64!!",
        "AAAA",
        "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g",
        "C23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=",
    ],
)
def test_malformed_or_wrong_headers_fail(header: str | None) -> None:
    assert not verify_signature(b'{"foo": "bar"}', header, ["test_secret_key"])


def test_no_secrets_never_verifies() -> None:
    assert not verify_signature(b"{}", sign("x", b"{}"), [])
