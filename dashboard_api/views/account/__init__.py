"""Accounts: registration and sessions, users and roles, API keys, the tenant's settings."""
