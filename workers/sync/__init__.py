"""Admin API sync: backfills (bulk operations) and reconciles (paginated pulls)."""
