"""Signing in to the console: email and password, a signed session cookie backed by a server row, sign-out.

The session cookie (Flask's, signed with ``CONNECTOR_SECRET_KEY``, HttpOnly, SameSite=Lax) holds the
user's id, their ``session_version`` and a random session id whose hash is a ``ConsoleSession`` row
(``core.console_sessions``). Every request reloads the user and that row: sign-out deletes the row (a
saved copy of the cookie stops working), a password change or a disabled account deletes all the
user's rows and bumps the version, and a session older than ``CONNECTOR_SESSION_LIFETIME_HOURS`` ends
however active it was. Wrong passwords are throttled per client address (``core.sign_in_throttle``),
never by locking the account.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from connector.admin import csrf
from connector.admin.blueprint import REDEMPTION_ROLES, bp
from connector.core import console_sessions
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.sign_in_throttle import UNKNOWN_ADDRESS, SignInThrottled
from connector.core.tables import User
from connector.core.users import SignInError, actor_for, sign_in
from connector.request_context import current_runtime

F = TypeVar("F", bound=Callable[..., Any])

SESSION_USER = "uid"
SESSION_VERSION = "sv"
SESSION_ID = "sid"
#: Longer input is not an email or a password anyone types; refused before hashing.
_MAX_EMAIL, _MAX_PASSWORD = 320, 1024
#: Endpoints reachable without a session (sign-out too: a stale session must still be able to end).
_PUBLIC: set[str] = {"admin.login", "admin.logout", "admin.static"}


def is_public(endpoint: str | None) -> bool:
    """Whether ``endpoint`` opens without a session (sign-in, sign-out, a welcome link, static files)."""
    return endpoint in _PUBLIC


SIGN_IN_FAILED = "Wrong email or password."
SESSION_ENDED = (
    "Your session has ended (you signed out, it reached its time limit, your password was changed "
    "or your account was disabled). Sign in again."
)
THROTTLED = "Too many sign-in attempts from this address. Try again in {seconds} s."


@dataclass(frozen=True)
class SessionUser:
    """The signed-in user as the views need them: a name to show and the actor to pass to use cases."""

    id: int
    email: str
    name: str
    role: Role
    actor: Actor


def public(view: F) -> F:
    """Let a view of the blueprint be reached without signing in."""
    _PUBLIC.add(f"{bp.name}.{view.__name__}")
    return view


def load_user() -> SessionUser | None:
    """The user of this request's session, if it is still valid; an outdated session is cleared."""
    if "admin_user" in g:
        return g.admin_user
    user: SessionUser | None = None
    uid, version, sid = session.get(SESSION_USER), session.get(SESSION_VERSION), session.get(SESSION_ID)
    if isinstance(uid, int) or isinstance(version, int) or sid is not None:
        rt = current_runtime()
        if isinstance(uid, int) and isinstance(version, int) and isinstance(sid, str):
            with rt.sessions() as s:
                row = s.get(User, uid)
                if (
                    row is not None
                    and row.disabled_at is None
                    and row.session_version == version
                    and console_sessions.is_open(s, uid, sid, rt.now(), session_lifetime(rt))
                ):
                    user = SessionUser(row.id, row.email, row.name, Role(row.role), actor_for(row))
        if user is None:
            session.clear()
            g.admin_session_ended = True
    g.admin_user = user
    return user


def session_lifetime(rt: Runtime) -> timedelta:
    """How long a console session lasts after sign-in, however active (``CONNECTOR_SESSION_LIFETIME_HOURS``)."""
    return timedelta(hours=rt.settings.session_lifetime_hours)


def client_address() -> str:
    """The address sign-in failures are counted under: the socket's peer, or, behind
    ``CONNECTOR_TRUSTED_PROXIES`` proxies, the address they forwarded (ProxyFix, set up in create_app)."""
    return request.remote_addr or UNKNOWN_ADDRESS


def current_user() -> SessionUser:
    user = load_user()
    if user is None:  # a view reached without require_login: fail closed
        raise RuntimeError("no signed-in user; the view must be behind require_login")
    return user


def current_actor() -> Actor:
    return current_user().actor


def _login_url() -> str:
    if request.method == "GET":
        here = request.full_path.rstrip("?")
        return url_for("admin.login", next=here)
    return url_for("admin.login")


def require_login() -> Response | None:
    """Before every console view: a redirect to sign-in unless the session holds a valid user."""
    if request.endpoint in _PUBLIC:
        return None
    if load_user() is not None:
        return None
    flash(SESSION_ENDED if g.get("admin_session_ended") else "Sign in to continue.", "error")
    return redirect(_login_url())


def login_required(view: F) -> F:
    """For views outside this blueprint that need the same session (the blueprint's own views have it)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        refused = require_login()
        return refused if refused is not None else view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def safe_next(value: str | None) -> str | None:
    """``value`` if it is a path inside the console, else None: never an open redirect.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    ``/\\t/evil.example`` or ``/\\evil.example`` would leave the site; anything with
    whitespace, control characters or a backslash is refused outright.
    """
    if not value or len(value) > 2000:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in value):
        return None
    if not value.startswith("/") or value.startswith("//"):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    if parts.path != "/admin" and not parts.path.startswith("/admin/"):
        return None
    return value


def landing_for(role: Role) -> str:
    """Where a user goes after signing in: the Fulfillments list, or the home page for the other roles."""
    return url_for("admin.fulfilments") if role in REDEMPTION_ROLES else url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        user = load_user()
        if user is not None:
            return redirect(next_url or landing_for(user.role))
        return render_template("admin/login.html", next_url=next_url, email="")
    email = request.form.get("email", "")[:_MAX_EMAIL]
    password = request.form.get("password", "")
    rt = current_runtime()
    failed = not email.strip() or not password or len(password) > _MAX_PASSWORD
    if not failed:
        try:
            row = sign_in(
                rt.sessions, email, password, rt.now(), address=client_address(), scrypt_n=rt.settings.password_scrypt_n
            )
            uid, version, role = row.id, row.session_version, Role(row.role)
            with transaction(rt.sessions) as s:
                sid = console_sessions.open_session(s, uid, rt.now(), session_lifetime(rt))
        except SignInError:
            failed = True
        except SignInThrottled as exc:
            page = render_template(
                "admin/login.html",
                next_url=next_url,
                email=email,
                error=THROTTLED.format(seconds=exc.retry_after),
            )
            return page, 429, exc.headers
    if failed:
        # One message whatever was wrong, so the form does not tell which emails have accounts.
        return render_template("admin/login.html", next_url=next_url, email=email, error=SIGN_IN_FAILED), 200
    session.clear()
    session.permanent = True
    session[SESSION_USER] = uid
    session[SESSION_VERSION] = version
    session[SESSION_ID] = sid
    csrf.rotate()
    return redirect(next_url or landing_for(role))


@bp.post("/logout")
def logout() -> Response:
    sid = session.get(SESSION_ID)
    if isinstance(sid, str):
        # Ended on the server too: a copy of the cookie saved before this no longer signs anyone in.
        with transaction(current_runtime().sessions) as s:
            console_sessions.end_session(s, sid)
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("admin.login"))
