"""A fake Shopify Admin API that behaves as Shopify documents, for tests and local trials.

What it serves:

- `POST /admin/api/<version>/graphql.json` with `X-Shopify-Access-Token` (401 with Shopify's
  message otherwise; 404 for a malformed version). Every answer carries `extensions.cost`
  (`requestedQueryCost`, `actualQueryCost`, `throttleStatus {maximumAvailable,
  currentlyAvailable, restoreRate}`). Each shop has its own leaky bucket, sized by its plan
  (`store.PLANS`, or any size and restore rate given to `add_shop`): the requested cost is
  reserved before execution and the unused part refunded; a request the bucket cannot pay gets
  `errors: [{message: "Throttled", extensions: {code: "THROTTLED"}}]` and costs nothing. A
  query over 1,000 points gets `MAX_COST_EXCEEDED`. Every request is logged with the bucket
  level it found (`LeakyBucket.log`, or `GET /_fake/shops/<domain>/bucket-log`).
- Query shapes (a small GraphQL reader, `graphql.py`: inline fragments `... on Type { }`, no
  named fragments or directives): `orders` / `customers` / `products` / `abandonedCheckouts` /
  `inventoryItems` connections with `first` (<= 250) and `after`, `edges { cursor node }`,
  `nodes`, `pageInfo { hasNextPage endCursor }`, `query: "updated_at:>='<ISO time>'"` (and
  `created_at`, `<`, `<=`, `>`), `sortKey: UPDATED_AT | CREATED_AT | ID` (not on
  `inventoryItems`, which takes none); nested connections (`lineItems`, `shippingLines`,
  `variants`, `inventoryLevels`, a refund's `refundLineItems` / `refundShippingLines` /
  `orderAdjustments` / `transactions`, a fulfillment's `fulfillmentLineItems`); `order(id:)`,
  `customer(id:)`, `product(id:)`, `inventoryItem(id:)`, `node(id:)` and `nodes(ids:)` (any
  stored node by gid, <= 250 ids), `shop`, `currentBulkOperation`, `bulkOperation(id:)`;
  mutations `bulkOperationRunQuery(query:, groupObjects:)` and `bulkOperationCancel(id:)`.
  Fields are those of the Admin API objects (`store.py` and `orders.py` build them: orders
  with MoneyBags in shop and presentment money, tax lines, shipping lines, transactions,
  refunds and fulfillments); asking for one the fake does not hold is an error, as on
  Shopify. The actual cost never exceeds the requested one.
- Bulk operations go CREATED -> RUNNING -> COMPLETED (or FAILED with `errorCode` and a
  `partialDataUrl` when a failure is injected through `fake.bulk.settings.fail_next`, or
  CANCELING -> CANCELED). Too many at once (1 before API 2026-01, 5 from it) gives the
  userError "A bulk query operation is already running."; a connection inside a list field
  (`refunds { refundLineItems { edges ... } }`) is refused as Shopify refuses it. Results
  are JSONL, each node of a nested connection a line of its own with `__parentId` (and the
  `__typename` it selected), not always adjacent to its parent. `url` is signed and expires
  (`bulk.settings.url_ttl`): an expired one answers 403 with a GCS-style XML body; reading the
  operation again signs a fresh one. A shop with `webhook_url` and `webhook_secret` receives
  a signed `bulk_operations/finish` webhook.
- Shopify's OAuth install for an app (`fake.oauth.add_app(client_id, secret)`), each shop
  under `/shops/<domain>` standing in for its own host: `oauth.py`. The GraphQL endpoint is
  there too, refusing tokens of other shops.
"""

from devtools.fake_shopify.app import FakeShopify, ServerThread, create_app, serve
from devtools.fake_shopify.store import PLANS, ShopData

__all__ = ["PLANS", "FakeShopify", "ServerThread", "ShopData", "create_app", "serve"]
