"""The webhook subscriptions a Shopify app makes to send a shop's data to cartwheel.

One subscription per topic group, to that group's receiver path (`/webhooks/orders` takes the
orders/ topics, orders/edited included), the app, shop and notification topics to the bare
path, and Shopify's mandatory compliance topics too; as `shopify.app.toml` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import resources
from core.topics import COMPLIANCE_TOPICS, RECORDED_TOPICS
from shops.ownership import API_VERSION


@dataclass(frozen=True)
class Subscription:
    topics: tuple[str, ...]
    uri: str
    compliance: bool = False


def subscriptions(receiver_url: str) -> list[Subscription]:
    """Every subscription, in the registry's order, to the receiver at `receiver_url`."""
    base = receiver_url.rstrip("/") + "/webhooks"
    groups: dict[str, list[str]] = {}
    for resource in resources.RESOURCES.values():
        for topic in (*resource.topics, resource.delete_topic):
            if topic:
                groups.setdefault(topic.split("/", 1)[0], []).append(topic)
    out = [Subscription(tuple(topics), f"{base}/{group}") for group, topics in groups.items()]
    others = sorted(RECORDED_TOPICS - COMPLIANCE_TOPICS)
    out.append(Subscription(tuple(others), base))
    out.append(Subscription(tuple(sorted(COMPLIANCE_TOPICS)), base, compliance=True))
    return out


def app_toml(receiver_url: str, api_version: str = API_VERSION) -> str:
    """The `[webhooks]` section of `shopify.app.toml` for these subscriptions."""
    lines = ["[webhooks]", f'api_version = "{api_version}"']
    for sub in subscriptions(receiver_url):
        key = "compliance_topics" if sub.compliance else "topics"
        topics = ", ".join(f'"{t}"' for t in sub.topics)
        lines += [
            "",
            "  [[webhooks.subscriptions]]",
            f"  {key} = [{topics}]",
            f'  uri = "{sub.uri}"',
        ]
    return "\n".join(lines) + "\n"
