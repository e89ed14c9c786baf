"""Incoming webhooks at ``/webhooks/<provider>``: verify the raw body, store once, answer fast."""

from connector.webhooks.blueprint import bp

__all__ = ["bp"]

from connector.webhooks import views  # noqa: F401  (routes register on import)
