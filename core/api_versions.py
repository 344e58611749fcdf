"""Shopify's API versions and which of them Shopify still supports on a given day.

A stable version is named after the quarter it is released in (2026-04, released April 1st) and
is supported for at least twelve months from then; a delivery in a version older than that came
through a subscription Shopify is about to move ("fall forward") to a newer version, with other
payload shapes (https://shopify.dev/docs/api/usage/versioning).
"""

from __future__ import annotations

import re
from datetime import date

SUPPORT_MONTHS = 12
_STABLE = re.compile(r"(20\d\d)-(01|04|07|10)")


def release_date(version: str) -> date | None:
    """The day a stable version was released; None for `unstable`, candidates and junk."""
    found = _STABLE.fullmatch(version)
    return date(int(found[1]), int(found[2]), 1) if found else None


def supported_until(version: str) -> date | None:
    """The first day Shopify no longer promises support for a stable version."""
    released = release_date(version)
    if released is None:
        return None
    months = released.month - 1 + SUPPORT_MONTHS
    return date(released.year + months // 12, months % 12 + 1, 1)


def is_supported(version: str, today: date) -> bool | None:
    """Whether Shopify still supports `version` on `today`; None when it is not a stable
    version name (`unstable`, a release candidate, a missing header)."""
    until = supported_until(version)
    released = release_date(version)
    if until is None or released is None:
        return None
    return released <= today < until


def label(version: str) -> str:
    """The version as a metric label: a stable name or `unstable`, else `other`."""
    return version if release_date(version) or version == "unstable" else "other"
