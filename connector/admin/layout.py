"""What every console page shares: the request guards, template context, response headers, home page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin import csrf, display, session_auth
from connector.admin.blueprint import bp, check_cashier_reach, nav_entry, nav_for


@bp.before_request
def guard() -> Response | None:
    """In this order: the CSRF token (a forged POST changes nothing, signed in or not), then the session."""
    csrf.check_request()
    refused = session_auth.require_login()
    if refused is not None:
        return refused
    if not session_auth.is_public(request.endpoint):
        check_cashier_reach(session_auth.current_actor(), request.endpoint)
    entry = nav_entry(request.endpoint)
    if entry is not None:  # the page behind a header link opens for exactly the users the link is shown to
        entry.check(session_auth.current_actor())
    return None


@bp.app_context_processor
def page_context() -> dict[str, Any]:
    """The signed-in user and their nav entries for base.html; nothing is loaded here that may fail."""
    if not request.path.startswith(bp.url_prefix or "/admin"):
        return {}
    user = g.get("admin_user")
    return {
        "current_user": user,
        "nav_entries": nav_for(user.actor) if user is not None else [],
        "csrf_token": csrf.csrf_token,
        "csrf_field": csrf.FIELD,
        "can_act": display.can_act(user.actor) if user is not None else False,
    }


#: No inline script or style anywhere, so the policy can forbid both (and any third-party origin).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def content_security_policy(form_targets: Sequence[str] = ()) -> str:
    """The console's policy, letting forms also go to ``form_targets`` (origins, e.g. ``https://*.example.com``).

    Browsers apply ``form-action`` to the redirects a submitted form follows too, so a form whose target
    redirects to another site (Connect: the install start redirects to the shop's authorize page) needs it.
    """
    return _CSP.replace("form-action 'self'", " ".join(("form-action 'self'", *form_targets)))


@bp.after_app_request
def security_headers(response: Response) -> Response:
    """Console responses are not framed, not sniffed and not cached (they show member details)."""
    if not request.path.startswith("/admin"):
        return response
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/admin/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("")
@bp.get("/")
def home() -> Response | str:
    """The first page the user's role has; for roles without pages yet, a page that says so."""
    user = session_auth.current_user()
    entries = nav_for(user.actor)
    if entries:
        return redirect(url_for(entries[0].endpoint))
    return render_template("admin/home.html", user=user)
