"""Shopify webhook signatures: HMAC-SHA256 over the raw body, base64, constant-time compare."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable


def sign(secret: str | bytes, body: bytes) -> str:
    """The X-Shopify-Hmac-Sha256 value Shopify would send for this body."""
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def verify_signature(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """True when the header is a valid signature of the exact body under any of the secrets."""
    if not header:
        return False
    try:
        claimed = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(claimed) != hashlib.sha256().digest_size:
        return False
    valid = False
    # Check every secret (no early exit) so timing does not reveal which one matched.
    for secret in secrets:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        valid |= hmac.compare_digest(digest, claimed)
    return valid
