"""The API tokens page (create with the secret shown once, revoke) and the Audit log page.

Same people as the Users page: platform admins see everything, brand admins their own brand's
tokens and audit rows. A created token's secret is in the body of the POST's answer only: it is
never put in the session, a flash or a redirect, and the page is ``no-store`` like every console page.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import add_nav, bp
from connector.admin.session_auth import current_actor
from connector.admin.users import refusal, scope_from_form
from connector.core import audit, token_admin, user_admin
from connector.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.model import Role
from connector.request_context import current_runtime

PAGE_SIZE = 50


def _tokens_page(**extra: object) -> str:
    rt, actor = current_runtime(), current_actor()
    page = token_admin.list_tokens(rt, actor, limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    return render_template(
        "admin/tokens.html",
        page=page,
        roles=user_admin.grantable_roles(actor),
        brands=user_admin.brand_choices(rt, actor),
        is_platform_admin=actor.role == Role.PLATFORM_ADMIN,
        **extra,
    )


@bp.get("/tokens")
def tokens() -> str:
    return _tokens_page(created=None, secret=None)


@bp.post("/tokens")
def token_create() -> Response | tuple[str, int]:
    rt, actor = current_runtime(), current_actor()
    try:
        created, secret = token_admin.create_token(
            rt, actor, request.form.get("name", "")[:400], scope_from_form(request.form)
        )
    except (ValidationError, ConflictError, PermissionDeniedError, NotFoundError) as exc:
        flash(refusal(exc) if not isinstance(exc, NotFoundError) else "That brand is not yours to manage.", "error")
        return redirect(url_for("admin.tokens") + "#create-token")
    # Rendered here, not redirected: the secret must not travel through the session or a URL.
    return _tokens_page(created=created, secret=secret), 201


@bp.post("/tokens/<id:token_id>/revoke")
def token_revoke(token_id: int) -> Response:
    rt, actor = current_runtime(), current_actor()
    token = token_admin.revoke_token(rt, actor, token_id)
    flash(f"Token {token.name} is revoked: calls with it are refused from now on.", "success")
    return redirect(url_for("admin.tokens") + f"#token-{token.id}")


@bp.get("/audit")
def audit_log() -> str:
    rt, actor = current_runtime(), current_actor()
    page = audit.list_entries(rt, actor, limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    return render_template("admin/audit.html", page=page)


add_nav("API tokens", "admin.tokens", user_admin.MANAGER_ROLES)
add_nav("Audit log", "admin.audit_log", audit.AUDIT_ROLES)
