"""Accounts: tenants and their users, sessions, invites, ingest API keys (plain functions)."""
