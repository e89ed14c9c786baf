"""``GET /shopify/install`` and ``GET /shopify/callback``: the browser's half of the install (authorization code grant).

Thin, like the API: who may connect which brand is decided here from the console session; everything else is
``core.shop_connect``. The one-time ``state`` travels in a short-lived cookie (HttpOnly, SameSite=Lax so the
top-level redirect back from Shopify carries it, Secure over HTTPS, path ``/shopify/``), signed with
``CONNECTOR_SECRET_KEY`` and readable only for ten minutes. The database keeps only its SHA-256.

Who starts an install:

* a signed-in brand admin: for their own brand (a ``brand`` of another brand is refused);
* a signed-in platform admin: for ``brand=<id>``, or for no brand (the shop keeps its brand, or waits for one);
* Shopify, for a merchant installing from its side: the request carries Shopify's signature (``hmac``) and
  names no brand. An unsigned request from a browser that is not signed in is refused.

Every failure is an HTML page with the precise reason and what to do; nothing is stored.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from connector.admin.error_pages import render_error
from connector.admin.session_auth import SessionUser, load_user
from connector.core import shop_connect
from connector.core.errors import (
    ConnectorError,
    InstallRefusedError,
    NotConfiguredError,
    PermissionDeniedError,
    ProviderError,
    ValidationError,
)
from connector.core.model import Role
from connector.request_context import current_runtime

log = logging.getLogger("connector.web.install")

bp = Blueprint("shop_install", __name__)

PROVIDER = "shopify"
STATE_COOKIE = "connector_install_state"
COOKIE_PATH = f"/{PROVIDER}/"
_SALT = "connector.shop-install-state"
#: Where a signed-in user lands after a successful install (the console's Shops page).
SHOPS_PAGE = "/admin/shops"
_CONNECT_ROLES = (Role.PLATFORM_ADMIN, Role.BRAND_ADMIN)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=_SALT)


def _browser_state() -> str | None:
    raw = request.cookies.get(STATE_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer().loads(raw, max_age=int(shop_connect.STATE_LIFETIME.total_seconds()))
    except BadSignature:  # altered, signed with another key, or older than the state's lifetime
        return None
    return value if isinstance(value, str) else None


def _single_values() -> dict[str, str]:
    """The query as one value per name; a name given twice is refused (a signature covers one value)."""
    repeated = [name for name, values in request.args.lists() if len(values) > 1]
    if repeated:
        raise InstallRefusedError(
            f"The address gives {', '.join(sorted(repeated))[:80]} more than once, so it is not the one Shopify "
            "signed. Nothing was stored."
        )
    return {name: value for name, value in request.args.items()}


def _error_page(exc: ConnectorError, status: int | None = None, *, logged: bool = False) -> Response:
    fix: str | None = None
    fields: dict[str, str] = {}
    if isinstance(exc, InstallRefusedError | ProviderError):
        fix = exc.fix
    elif isinstance(exc, NotConfiguredError):
        fix = f"Set {exc.setting} in the connector's environment (see the README's configuration table) and restart."
    elif isinstance(exc, ValidationError):
        fields = {k: str(v) for k, v in exc.fields.items()}
    message = exc.message[:1].upper() + exc.message[1:]
    if not message.endswith((".", "!", "?")):
        message += "."
    if not logged:
        log.info("shop install refused (%s): %s", exc.code, exc.message)
    return render_error(status or exc.status_code, message, fix=fix, fields=fields)


def _brand_for(user: SessionUser | None, brand_param: str | None) -> int | None:
    """The brand an install started by ``user`` connects the shop to (None: keep its brand, or wait for one)."""
    if user is None:
        if brand_param:
            raise PermissionDeniedError(
                "choosing a brand needs a console session: sign in to the console, then open this address again"
            )
        return None
    if user.role not in _CONNECT_ROLES:
        raise PermissionDeniedError(
            f"your role ({user.role.value.replace('_', ' ')}) cannot connect shops; ask a brand admin or a "
            "platform admin"
        )
    own = user.actor.brand_id
    if brand_param is not None and brand_param != "":
        if not brand_param.isdigit():
            raise ValidationError("invalid brand", fields={"brand": "the brand's numeric id, e.g. brand=3"})
        wanted = int(brand_param)
        if own is not None and wanted != own:
            raise PermissionDeniedError("you manage another brand: you can connect shops only to your own brand")
        return wanted
    return own


@bp.get(f"/{PROVIDER}/install")
def install() -> Response:
    rt = current_runtime()
    user = load_user()
    try:
        query = _single_values()
        brand_id = _brand_for(user, query.get("brand"))
        if user is None:
            if not query.get("hmac"):
                raise PermissionDeniedError(
                    "this install address is not signed by Shopify and no one is signed in to the console: "
                    "sign in to the console first (Shops page, Connect), or install the app from Shopify"
                )
            shop_connect.verify_signed_query(rt, query, PROVIDER)
        url, state = shop_connect.begin_install(rt, query.get("shop", ""), brand_id, user.id if user else None)
    except ConnectorError as exc:
        return _error_page(exc)
    response = redirect(url, code=302)
    response.set_cookie(
        STATE_COOKIE,
        _serializer().dumps(state),
        max_age=int(shop_connect.STATE_LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=rt.settings.secure_cookies or request.is_secure,
    )
    return response


@bp.get(f"/{PROVIDER}/callback")
def callback() -> Response:
    rt = current_runtime()
    try:
        shop = shop_connect.complete_install(rt, _single_values(), _browser_state(), provider=PROVIDER)
    except ConnectorError as exc:
        return _error_page(exc, status=400, logged=isinstance(exc, InstallRefusedError))
    if shop.brand_id is None:
        note = f"{shop.domain} installed the app. A platform admin now assigns it to its brand on the Shops page."
    else:
        note = f"{shop.domain} is connected: the connector can now create its reward orders."
    if load_user() is not None:
        flash(note, "success")
        response = redirect(SHOPS_PAGE, code=302)
    else:
        response = Response(render_template("admin/shop_installed.html", note=note, domain=shop.domain), status=200)
    response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH)
    return response
