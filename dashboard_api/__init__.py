"""The dashboard API: per-tenant JSON for a merchant's dashboard."""

from dashboard_api.app import create_app

__all__ = ["create_app"]
