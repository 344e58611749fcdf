"""Developer tools -- the fake Shopify Admin API, the traffic simulator, Shopify's sample payloads.

Only the command line and the tests import them; no web or worker process does."""
