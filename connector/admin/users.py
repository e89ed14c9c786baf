"""The Users page: invite, change role and scope, disable or enable, and send a password-reset link.

Platform admins and brand admins only (``core.user_admin`` says who manages whom; any other role
gets 403 and no nav link). Every action is a POST with the CSRF token that calls the core and comes
back with a flash (post/redirect/get); the core writes the audit row. The set-password page that the
emailed one-time links open is here too, reachable without signing in.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from connector.admin.blueprint import add_nav, bp
from connector.admin.session_auth import current_actor, public
from connector.core import audit, user_admin, user_links
from connector.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.model import Role
from connector.request_context import current_runtime

PAGE_SIZE = 50
_MAX_PASSWORD = 1024


def link_base() -> str:
    return user_links.link_base(current_runtime().settings.public_url, request.host_url)


def _form_id(form: MultiDict[str, str], name: str) -> int | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise ValidationError(
            f"invalid {name.replace('_', ' ')}", fields={name: "pick one from the list, or give its number"}
        )
    return int(raw)


def scope_from_form(form: MultiDict[str, str]) -> user_admin.Scope:
    raw_role = form.get("role", "")
    try:
        role = Role(raw_role)
    except ValueError:
        raise ValidationError("no role chosen", fields={"role": "pick a role from the list"}) from None
    return user_admin.Scope(
        role,
        brand_id=_form_id(form, "brand_id"),
        distributor_id=_form_id(form, "distributor_id"),
        retailer_id=_form_id(form, "retailer_id"),
    )


def refusal(exc: ValidationError | ConflictError | PermissionDeniedError) -> str:
    message = exc.message[:1].upper() + exc.message[1:]
    hints = "; ".join(str(v) for v in (getattr(exc, "fields", None) or {}).values())
    return f"{message}: {hints}." if hints else f"{message.rstrip('.')}."


def _mail_flash(sent: user_links.SentLink) -> None:
    what = "invitation" if sent.purpose == user_links.INVITE else "password-reset link"
    if sent.mail_error:
        flash(
            f"The {what} for {sent.email} was made but the email could not be sent ({sent.mail_error}). "
            "Check the mail settings (CONNECTOR_SMTP_URL), then send it again.",
            "error",
        )
    else:
        flash(
            f"{what.capitalize()} sent to {sent.email}; "
            f"the link works once, until {sent.expires_at:%Y-%m-%d %H:%M} UTC.",
            "success",
        )


@bp.get("/users")
def users() -> str:
    rt, actor = current_runtime(), current_actor()
    page = user_admin.list_users(rt, actor, limit=PAGE_SIZE, cursor=request.args.get("cursor") or None)
    return render_template(
        "admin/users.html",
        page=page,
        roles=user_admin.grantable_roles(actor),
        brands=user_admin.brand_choices(rt, actor),
        is_platform_admin=actor.role == Role.PLATFORM_ADMIN,
        actor=actor,
    )


@bp.post("/users/invite")
def user_invite() -> Response:
    rt, actor = current_runtime(), current_actor()
    try:
        sent = user_links.invite(
            rt,
            actor,
            email=request.form.get("email", "")[:400],
            name=request.form.get("name", "")[:400],
            scope=scope_from_form(request.form),
            link_base=link_base(),
        )
    except (ValidationError, ConflictError, PermissionDeniedError, NotFoundError) as exc:
        flash(refusal(exc) if not isinstance(exc, NotFoundError) else "That brand is not yours to manage.", "error")
        return redirect(url_for("admin.users") + "#invite")
    _mail_flash(sent)
    return redirect(url_for("admin.user_detail", user_id=sent.user_id))


@bp.get("/users/<id:user_id>")
def user_detail(user_id: int) -> str:
    rt, actor = current_runtime(), current_actor()
    user = user_admin.get_user(rt, actor, user_id)
    history = audit.list_entries(rt, actor, limit=20, target_kind="user", target_id=user.id)
    return render_template(
        "admin/user.html",
        user=user,
        roles=user_admin.grantable_roles(actor),
        brands=user_admin.brand_choices(rt, actor),
        is_platform_admin=actor.role == Role.PLATFORM_ADMIN,
        is_self=actor.name == f"user:{user.email}",
        manageable=user.role in user_admin.grantable_roles(actor),
        history=history.items,
    )


@bp.post("/users/<id:user_id>/role")
def user_change_role(user_id: int) -> Response:
    rt, actor = current_runtime(), current_actor()
    try:
        user = user_admin.change_scope(rt, actor, user_id, scope_from_form(request.form))
    except (ValidationError, ConflictError, PermissionDeniedError) as exc:
        flash(refusal(exc), "error")
    else:
        flash(f"{user.email} is now {user.role.value.replace('_', ' ')}; it applies from their next page.", "success")
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.post("/users/<id:user_id>/disable")
def user_disable(user_id: int) -> Response:
    return _set_disabled(user_id, disabled=True)


@bp.post("/users/<id:user_id>/enable")
def user_enable(user_id: int) -> Response:
    return _set_disabled(user_id, disabled=False)


def _set_disabled(user_id: int, *, disabled: bool) -> Response:
    rt, actor = current_runtime(), current_actor()
    try:
        user = user_admin.set_disabled(rt, actor, user_id, disabled=disabled)
    except (ConflictError, PermissionDeniedError) as exc:
        flash(refusal(exc), "error")
    else:
        flash(
            f"{user.email} is disabled: they are signed out everywhere and their pending links no longer work."
            if disabled
            else f"{user.email} is enabled again; send a password-reset link if they need a new password.",
            "success",
        )
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.post("/users/<id:user_id>/send-link")
def user_send_link(user_id: int) -> Response:
    rt, actor = current_runtime(), current_actor()
    try:
        sent = user_links.send_link(rt, actor, user_id, link_base())
    except (ConflictError, PermissionDeniedError) as exc:
        flash(refusal(exc), "error")
    else:
        _mail_flash(sent)
    return redirect(url_for("admin.user_detail", user_id=user_id))


@bp.route("/welcome/<path:token>", methods=["GET", "POST"])
@public
def welcome(token: str) -> tuple[str, int, dict[str, str]] | Response:
    """The page an invitation or reset link opens: choose a password (the same rules as everywhere)."""
    rt = current_runtime()
    headers = {"Referrer-Policy": "no-referrer"}  # the link's secret is in this page's address
    try:
        link = user_links.link_view(rt, token)
    except user_links.LinkUnusable as exc:
        return render_template("admin/welcome.html", unusable=exc.message, link=None), 410, headers
    if request.method == "GET":
        return render_template("admin/welcome.html", link=link, unusable=None, error=None), 200, headers
    password = request.form.get("password", "")
    error: str | None = None
    if password != request.form.get("password_again", ""):
        error = "The two passwords differ: type the same password twice."
    elif len(password) > _MAX_PASSWORD:
        error = f"Use at most {_MAX_PASSWORD} characters."
    else:
        try:
            user_links.redeem(rt, token, password, scrypt_n=rt.settings.password_scrypt_n)
        except user_links.LinkUnusable as exc:
            return render_template("admin/welcome.html", unusable=exc.message, link=None), 410, headers
        except ValidationError as exc:
            error = "; ".join(str(v) for v in (exc.fields or {}).values()) or exc.message
            error = error[:1].upper() + error[1:] + "."
        else:
            flash("Your password is set. Sign in with it.", "success")
            return redirect(url_for("admin.login"))
    return render_template("admin/welcome.html", link=link, unusable=None, error=error), 422, headers


add_nav("Users", "admin.users", user_admin.MANAGER_ROLES)
