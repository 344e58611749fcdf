"""The webhook receiver: verify, enqueue, answer."""

from receiver.app import create_app

__all__ = ["create_app"]
