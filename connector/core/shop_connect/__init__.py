"""Connecting a shop: the install (authorization code grant), client credentials, and a brand for an orphan shop.

The provider's part (its authorize page, its host rule, the callback's signature, the token endpoint, which
scopes it needs) is reached through hooks; this module holds what must be true whatever the provider:

* An install's ``state`` is one-time, bound to the browser that started it (the web layer keeps it in a
  signed cookie; the database keeps only its SHA-256), and lives ten minutes.
* ``complete_install`` checks, before anything else, that the callback's state is the browser's and that it
  is known, unused and unexpired; then the shop's host and the callback's signature (plugin); only then does
  it mark the state used (one conditional UPDATE: a replay, even a concurrent one, finds it used) and
  exchange the code. Any failure stores no shop and no token.
* Granted scopes are checked before anything is stored: a missing scope is named now, not discovered at the
  first order.
* Tenants never meet: an install or a client-credentials connection for a brand never takes a shop that
  belongs to another brand; an install from the provider's side (no brand) keeps a known shop's brand, and an
  unknown shop waits, with no brand, for a platform admin (``assign_brand``).
* A reinstall or reconnect of a disconnected shop resumes its parked redemptions (``shop_lifecycle``).
"""

from __future__ import annotations

from connector.core.shop_connect.brand_assignment import assign_brand
from connector.core.shop_connect.client_credentials import (
    MIN_SECRET_LENGTH,
    connect_client_credentials,
    reconnect_client_credentials,
)
from connector.core.shop_connect.install import begin_install, complete_install, install_link, verify_signed_query
from connector.core.shop_connect.settings import (
    PROVIDER,
    PUBLIC_URL,
    STATE_LIFETIME,
    STATE_RETENTION,
    app_credentials,
    checked_domain,
    redirect_uri,
    state_digest,
)
from connector.core.shop_connect.shared_steps import after_connect

__all__ = [
    "MIN_SECRET_LENGTH",
    "PROVIDER",
    "PUBLIC_URL",
    "STATE_LIFETIME",
    "STATE_RETENTION",
    "after_connect",
    "app_credentials",
    "assign_brand",
    "begin_install",
    "checked_domain",
    "complete_install",
    "connect_client_credentials",
    "install_link",
    "reconnect_client_credentials",
    "redirect_uri",
    "state_digest",
    "verify_signed_query",
]
