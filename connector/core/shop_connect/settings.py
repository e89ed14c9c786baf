"""Where a shop connection starts from: the provider, the app's credentials and public URL, the redirect
URI and the checked shop domain; how long an install state lives.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from connector.core.errors import NotConfiguredError, ValidationError
from connector.core.hooktypes import SHOP_DOMAIN
from connector.core.runtime import Runtime
from connector.core.shop_tokens import AppCredentials

PROVIDER = "shopify"

#: How long an install may take between the connector's redirect and Shopify's callback.
STATE_LIFETIME = timedelta(minutes=10)

#: Install states are deleted this long after they expire (used or not): nothing reads them after expiry.
STATE_RETENTION = timedelta(days=1)

PUBLIC_URL = "CONNECTOR_PUBLIC_URL"


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def app_credentials(rt: Runtime, provider: str = PROVIDER) -> AppCredentials:
    """The app-wide client id and secret, or an error naming the variable that is missing."""
    config = rt.settings.plugin_config(provider)
    for suffix in ("CLIENT_ID", "CLIENT_SECRET"):
        name = f"{provider.upper()}_{suffix}"
        if not (config.get(name) or "").strip():
            raise NotConfiguredError(
                f"{name} is not set, so shops cannot install the app: set it to the value in the app's "
                "settings (Shopify Dev Dashboard) and restart the connector.",
                setting=name,
            )
    app = AppCredentials.from_config(config, provider)
    assert app is not None
    return app


def redirect_uri(rt: Runtime, provider: str = PROVIDER) -> str:
    """``{CONNECTOR_PUBLIC_URL}/<provider>/callback``: must be listed in the app's allowed redirection URLs."""
    return f"{_public_url(rt)}/{provider}/callback"


def _public_url(rt: Runtime) -> str:
    if not rt.settings.public_url:
        raise NotConfiguredError(
            f"{PUBLIC_URL} is not set: it is the address Shopify sends the browser back to after an install "
            f"({PUBLIC_URL}/shopify/callback). Set it, e.g. https://connector.example.com, and restart.",
            setting=PUBLIC_URL,
        )
    return rt.settings.public_url


def checked_domain(shop_domain: str) -> str:
    domain = (shop_domain or "").strip().lower()
    if not SHOP_DOMAIN.fullmatch(domain):
        raise ValidationError(
            "invalid shop domain",
            fields={"shop": f"{(shop_domain or '')[:80]!r} is not a shop address like your-shop.myshopify.com"},
        )
    return domain


def _minutes() -> int:
    return int(STATE_LIFETIME.total_seconds() // 60)
