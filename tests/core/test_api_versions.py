"""Which Shopify API versions are stable names, and until when Shopify supports them."""

from __future__ import annotations

from datetime import date

import pytest

from core import api_versions


@pytest.mark.parametrize(
    ("version", "today", "supported"),
    [
        ("2026-07", date(2026, 12, 2), True),
        ("2026-01", date(2026, 12, 31), True),  # twelve months from January 1st, 2026
        ("2026-01", date(2027, 1, 1), False),
        ("2025-10", date(2026, 12, 2), False),
        ("2024-01", date(2026, 12, 2), False),
        ("2027-01", date(2026, 12, 2), False),  # not released yet
        ("unstable", date(2026, 12, 2), None),
        ("2026-02", date(2026, 12, 2), None),  # not a quarter
        ("", date(2026, 12, 2), None),
    ],
)
def test_support_window(version: str, today: date, supported: bool | None) -> None:
    assert api_versions.is_supported(version, today) is supported


def test_release_and_end_of_support() -> None:
    assert api_versions.release_date("2026-10") == date(2026, 10, 1)
    assert api_versions.supported_until("2026-10") == date(2027, 10, 1)
    assert api_versions.supported_until("nonsense") is None


@pytest.mark.parametrize(
    ("version", "label"),
    [("2026-07", "2026-07"), ("unstable", "unstable"), ("2026-07; drop", "other"), ("", "other")],
)
def test_metric_labels_are_bounded(version: str, label: str) -> None:
    assert api_versions.label(version) == label
