"""Retention: raw payloads, dead letters, personal data in entity payloads and customer exports
leave after their windows."""
