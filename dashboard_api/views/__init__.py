"""HTTP resources of the dashboard API, one blueprint per module."""
