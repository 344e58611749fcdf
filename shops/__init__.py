"""Shops (tenants) as owners and operators manage them: registration, webhook secrets, Admin API
credentials, sync runs."""
