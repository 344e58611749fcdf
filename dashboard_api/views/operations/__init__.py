"""Operating the shop's pipeline: dead letters and replay, exports, Admin API sync."""
