"""cartwheel: Shopify webhooks into your own PostgreSQL, for many shops at once."""

__version__ = "0.1.0"
