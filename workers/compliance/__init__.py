"""Compliance and app webhooks: redact, export, erase a shop, mark it uninstalled."""
