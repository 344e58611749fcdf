"""Webhook topics that are not about a resource's data: the app, compliance, notifications.

The topics of each resource (customers/create, orders/delete, ...) belong to its registry entry
(resources/); `resources.topic_kind` combines both into what the receiver accepts.
"""

from __future__ import annotations

# The app and the shop itself (its time zone): recorded in the event log, acted on by the
# compliance job.
APP_TOPICS = frozenset({"app/uninstalled", "shop/update"})
# Shopify's mandatory compliance webhooks: recorded, then acted on by the compliance job.
COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
# Recorded only; a running backfill watches for its bulk operation's finish notice.
NOTIFICATION_TOPICS = frozenset({"bulk_operations/finish"})

# Recorded in the event log and acted on later, one event at a time.
ACTED_ON_TOPICS = APP_TOPICS | COMPLIANCE_TOPICS
RECORDED_TOPICS = ACTED_ON_TOPICS | NOTIFICATION_TOPICS
