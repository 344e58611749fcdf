"""Plain read queries of the dashboard API: take a Session and a tenant id, never commit."""
