"""Retention: raw payloads are purged after each tenant's period."""
