"""HTTP side of the simulated app installation: Shopify's OAuth endpoints and their controls.

Shopify's endpoints (what a client calls instead of ``https://{shop}.myshopify.com``):

* ``GET /admin/oauth/authorize``: approves at once (``auto_approve``) and redirects (302)
  to ``redirect_uri`` with ``code``, ``hmac``, ``host``, ``shop``, ``state``, ``timestamp``;
  a refusal is an error page and no redirect, as on Shopify;
* ``POST /admin/oauth/access_token``: form-encoded or JSON, the three grants, answered in
  Shopify's JSON shape; takes ``oauth:``-scoped faults (see :mod:`.faults`).

Controls under ``/_sim/``: ``oauth/grants``, ``oauth/tokens``, ``oauth/revoke``,
``oauth/expire``, ``app``, ``app/uninstall`` (sends ``app/uninstalled``), ``app/install``.
"""

from __future__ import annotations

import html
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, redirect, request

from shopify_sim.faults import Fault
from shopify_sim.oauth import OAuthError, grant_kind
from shopify_sim.shop import shop_payload
from shopify_sim.webhooks import Delivery, make_event

if TYPE_CHECKING:
    from shopify_sim.state import SimState

oauth_bp = Blueprint("shopify_sim_oauth", __name__)
oauth_control_bp = Blueprint("shopify_sim_oauth_control", __name__, url_prefix="/_sim")


def _state() -> SimState:
    # Looked up by key rather than imported: app.py registers these blueprints.
    return current_app.extensions["shopify_sim"]


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(data), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _error_page(exc: OAuthError) -> Response:
    """What Shopify shows the merchant instead of redirecting (it never redirects a refusal)."""
    text = html.escape(f"Oauth error {exc.error}: {exc.description}")
    body = f"<!DOCTYPE html><html><head><title>Oauth error</title></head><body><h1>{text}</h1></body></html>"
    return Response(body, status=exc.status, mimetype="text/html")


@oauth_bp.get("/admin/oauth/authorize")
def authorize() -> Response:
    """The merchant's approval screen, approved (or declined) at once."""
    state = _state()
    try:
        location = state.oauth.authorize(state.config, request.args)
    except OAuthError as exc:
        return _error_page(exc)
    return redirect(location, code=302)


def _token_params() -> dict[str, str]:
    """Parameters from the query string, then a form or JSON body (Shopify takes both)."""
    params = {key: value for key, value in request.args.items()}
    params.update(request.form.items())
    body = request.get_json(silent=True, force=True) if not request.form else None
    if isinstance(body, dict):
        params.update({key: "" if value is None else str(value) for key, value in body.items()})
    return params


def _fault_answer(fault: Fault) -> Response | None:
    """Answer for a fault that stops the request before any token is issued."""
    config = _state().config
    if fault.kind == "429":
        return _json(
            {"errors": "Exceeded the rate limit for token requests; retry later."},
            429,
            {"Retry-After": fault.retry_after or config.retry_after},
        )
    if fault.kind == "500":
        return _json({"errors": "Internal Server Error"}, 500)
    if fault.kind == "502":
        return Response(
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
            status=502,
            mimetype="text/html",
        )
    if fault.kind == "503":
        return _json({"errors": "Service Unavailable"}, 503)
    if fault.kind == "timeout":
        time.sleep(fault.seconds if fault.seconds is not None else config.timeout_seconds)
        return _json({"errors": "Gateway Timeout"}, 504)
    return None


@oauth_bp.post("/admin/oauth/access_token")
def access_token() -> Response:
    """Authorization code, refresh token and client credentials grants."""
    state = _state()
    params = _token_params()
    grant = grant_kind(params)
    names = frozenset({"oauth:access_token", f"oauth:{grant}"})
    fault = state.faults.take(names, has_mutation=False, scoped_only=True)
    if fault is not None:
        state.stats.count("faults_fired")
        stopped = _fault_answer(fault)
        if stopped is not None:
            state.oauth.record(
                {"endpoint": "access_token", "grant": grant, "status": stopped.status_code, "fault": fault.kind}
            )
            return stopped
    outcome = state.oauth.exchange(state.config, params)
    state.oauth.record({**outcome.entry, "fault": fault.kind if fault is not None else None})
    if fault is not None and fault.kind == "after_effect_500":
        return _json({"errors": "Internal Server Error"}, 500)
    if fault is not None and fault.kind == "after_effect_timeout":
        time.sleep(fault.seconds if fault.seconds is not None else state.config.timeout_seconds)
    return _json(outcome.body, outcome.status, {"Cache-Control": "no-store"})


# -- controls ---------------------------------------------------------------------------
def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data


@oauth_control_bp.errorhandler(ValueError)
def _bad_request(exc: ValueError) -> Response:
    return _json({"error": str(exc)}, 400)


@oauth_control_bp.errorhandler(KeyError)
def _not_found(exc: KeyError) -> Response:
    return _json({"error": exc.args[0] if exc.args else "not found"}, 404)


@oauth_control_bp.get("/oauth/grants")
def grants() -> Response:
    """Authorize decisions and token requests, oldest first (token ids, never token values)."""
    entries = _state().oauth.log()
    return _json({"grants": entries, "count": len(entries)})


@oauth_control_bp.get("/oauth/tokens")
def tokens() -> Response:
    """Every issued token by id: kind, grant, scope, status, times, the refresh token it came from."""
    listed = _state().oauth.tokens()
    return _json({"tokens": listed, "count": len(listed)})


@oauth_control_bp.post("/oauth/revoke")
def revoke() -> Response:
    """``{}`` revokes every issued token; ``{"token": value}`` one token (the static one included)."""
    state = _state()
    token = _body().get("token")
    return _json({"revoked": state.oauth.revoke(state.config, None if token is None else str(token))})


@oauth_control_bp.post("/oauth/expire")
def expire() -> Response:
    """Expire now every expiring access token (``refresh_tokens: true``: refresh tokens too), or one ``token``."""
    data = _body()
    token = data.get("token")
    count = _state().oauth.expire(None if token is None else str(token), bool(data.get("refresh_tokens")))
    return _json({"expired": count})


@oauth_control_bp.get("/app")
def installation() -> Response:
    """Whether the app is installed, since when, and whether the static token still works."""
    state = _state()
    return _json(state.oauth.installation(state.config))


@oauth_control_bp.post("/app/install")
def install() -> Response:
    """Install without OAuth (client-credentials apps, legacy static token): the static token works again."""
    state = _state()
    state.oauth.install()
    return _json(state.oauth.installation(state.config))


@oauth_control_bp.post("/app/uninstall")
def uninstall() -> Response:
    """The merchant removes the app: every token revoked, then ``app/uninstalled`` sent (synchronously).

    Body (optional): ``url`` to send the webhook there instead of ``webhook_target_url``.
    """
    state = _state()
    url = _body().get("url")
    revoked = state.oauth.uninstall()
    payload = shop_payload(state.config, datetime.now(UTC).isoformat(timespec="seconds"))
    delivery: Delivery | None
    if url:
        event = make_event("app/uninstalled", payload, url=str(url))
        state.webhooks.remember(event)
        delivery = state.webhooks.deliver(event)
    else:
        delivery = state.webhooks.emit("app/uninstalled", payload, sync=True)
    return _json(
        {
            "revoked": revoked,
            "installation": state.oauth.installation(state.config),
            "webhooks": [delivery.as_dict()] if delivery is not None else [],
        }
    )
