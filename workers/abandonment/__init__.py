"""Abandonment: open checkouts and carts that saw no progress within the window."""
