"""The Shops page: every shop the user manages, how it is connected and whether it is healthy, and its actions.

Platform admins see every shop, those awaiting a brand included (with the Assign brand form); brand
admins see their own brand's. Other roles get 403 and no nav link. The page reads through
``core.shop_admin``/``core.shop_overview``, the same code as ``GET /api/v1/shops``, which never hands a
credential over (only "set" / "not set").

Connect and Reconnect of install (and static token) shops are links to the install flow
(``GET /shopify/install?shop=...``, its own module); the other actions are POSTs with the CSRF token
that call the core and come back here with a flash (post/redirect/get).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import flash, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import add_nav, bp
from connector.admin.layout import content_security_policy
from connector.admin.session_auth import current_actor
from connector.core import shop_admin
from connector.core.errors import ConflictError, ProviderError, ValidationError
from connector.core.model import Role
from connector.core.shop_overview import relative
from connector.core.tables import ShopConnection
from connector.request_context import current_runtime

PAGE_SIZE = 50
#: The install flow's start (``connector/webhooks`` or the install blueprint registers it).
INSTALL_PATH = "/shopify/install"
#: Where the install start sends the browser: the shop's own authorize page.
SHOP_HOSTS = "https://*.myshopify.com"
#: Development only: the simulator every installed shop is reached at instead (demo, tests).
INSTALL_API_BASE = "SHOPIFY_INSTALL_API_BASE_URL"


def install_url(domain: str) -> str:
    """Where Connect and Reconnect send the browser: the install flow for ``domain``."""
    return f"{INSTALL_PATH}?{urlencode({'shop': domain})}"


def authorize_origins(plugin_env: dict[str, str]) -> tuple[str, ...]:
    """The sites Connect's redirect may reach: shops' own hosts, and the simulator when one is configured."""
    override = urlsplit((plugin_env.get(INSTALL_API_BASE) or "").strip())
    extra = (
        (f"{override.scheme}://{override.netloc}",) if override.scheme in ("http", "https") and override.netloc else ()
    )
    return (SHOP_HOSTS, *extra)


@bp.get("/shops")
def shops() -> Response:
    actor = current_actor()
    shop_admin.check_manages_shops(actor)
    rt = current_runtime()
    page = shop_admin.list_shops(rt, actor, limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    html = render_template(
        "admin/shops.html",
        page=page,
        actor=actor,
        now=rt.now(),
        relative=relative,
        install_url=install_url,
        install_path=INSTALL_PATH,
        brands=shop_admin.brand_choices(rt, actor),
        is_platform_admin=actor.role == Role.PLATFORM_ADMIN,
        client_credentials=ShopConnection.CLIENT_CREDENTIALS,
        max_reason=shop_admin.MAX_REASON,
    )
    response = make_response(html)
    # Connect submits to the install start, which redirects to the shop's authorize page: without these
    # origins in form-action the browser stops at that redirect and nothing happens.
    response.headers["Content-Security-Policy"] = content_security_policy(
        authorize_origins(rt.settings.plugin_config("shopify"))
    )
    return response


@bp.post("/shops/<id:shop_id>/sync-webhooks")
def shop_sync_webhooks(shop_id: int) -> Response:
    rt, actor = current_runtime(), current_actor()
    try:
        shop = shop_admin.sync_webhooks(rt, actor, shop_id)
    except (ConflictError, ValidationError, ProviderError) as exc:
        flash(_refusal(exc), "error")
    else:
        word = {"ok": "in order", "problems": "not all in order: see the summary"}.get(shop.webhooks.state, "synced")
        flash(f"Webhook subscriptions of {shop.domain} synced; they are {word}.", "success")
    return _back(shop_id)


@bp.get("/shops/<id:shop_id>/disconnect")
def shop_disconnect_confirm(shop_id: int) -> str:
    """Says what disconnecting does before anything is done."""
    rt, actor = current_runtime(), current_actor()
    actor.check_can_configure()
    shop = shop_admin.get_shop(rt, actor, shop_id)
    return render_template(
        "admin/shop_disconnect.html", shop=shop, install_url=install_url, max_reason=shop_admin.MAX_REASON
    )


@bp.post("/shops/<id:shop_id>/disconnect")
def shop_disconnect(shop_id: int) -> Response:
    rt, actor = current_runtime(), current_actor()
    reason = request.form.get("reason", "")
    try:
        shop = shop_admin.disconnect(rt, actor, shop_id, reason=reason)
    except (ConflictError, ValidationError, ProviderError) as exc:
        flash(_refusal(exc), "error")
    else:
        flash(
            f"{shop.domain} is disconnected: the connector makes no more calls to it and its pending redemptions "
            "wait. Connect it again to resume them.",
            "success",
        )
    return _back(shop_id)


@bp.post("/shops/<id:shop_id>/reconnect")
def shop_reconnect(shop_id: int) -> Response:
    """Client-credentials shops: a new token from the stored credentials (install shops use the install link)."""
    rt, actor = current_runtime(), current_actor()
    try:
        shop = shop_admin.reconnect_client_credentials(rt, actor, shop_id)
    except (ConflictError, ValidationError, ProviderError) as exc:
        flash(_refusal(exc), "error")
    else:
        flash(f"{shop.domain} reconnected: {shop.status_label.lower()}.", "success")
    return _back(shop_id)


@bp.post("/shops/<id:shop_id>/assign-brand")
def shop_assign_brand(shop_id: int) -> Response:
    rt, actor = current_runtime(), current_actor()
    raw = request.form.get("brand_id", "").strip()
    try:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
            raise ValidationError("no brand chosen", fields={"brand_id": "pick the brand this shop belongs to"})
        shop = shop_admin.assign_brand(rt, actor, shop_id, int(raw))
    except (ConflictError, ValidationError) as exc:
        flash(_refusal(exc), "error")
    else:
        flash(f"{shop.domain} now belongs to {shop.brand_name}; it is {shop.status_label.lower()}.", "success")
    return _back(shop_id)


def _refusal(exc: ConflictError | ValidationError | ProviderError) -> str:
    message = exc.message[:1].upper() + exc.message[1:]
    fields = getattr(exc, "fields", None) or {}
    hints = "; ".join(str(v) for v in fields.values())
    fix = getattr(exc, "fix", None)
    text = f"{message}: {hints}." if hints else f"{message.rstrip('.')}."
    return f"{text} {fix}" if fix else text


def _back(shop_id: int) -> Response:
    return redirect(url_for("admin.shops") + f"#shop-{int(shop_id)}")


add_nav("Shops", "admin.shops", shop_admin.check_manages_shops)
