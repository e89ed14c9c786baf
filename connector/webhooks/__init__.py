"""Incoming webhooks at ``/webhooks/<provider>``: verify the raw body, store once, answer fast."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from connector.webhooks import views  # noqa: E402, F401  (routes register on import)
