"""Cross-site request forgery protection: one secret token per session, sent back by every form.

The token lives in the signed session cookie and in a hidden field of every
form; a POST whose field does not match is refused before its view runs, so
nothing changes. SameSite=Lax cookies already stop most cross-site POSTs; the
token covers the rest (older browsers, same-site subdomains) and login CSRF.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

from connector.core.errors import ConnectorError

SESSION_KEY = "csrf"
FIELD = "csrf_token"
#: Also accepted from this header, for a script that posts a form.
HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(ConnectorError):
    """A form without a valid token: answered 400 with a page that says what to do, and nothing changes."""

    status_code = 400
    code = "csrf_failed"


def csrf_token() -> str:
    """This session's token (created on first use); templates put it in every form."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def rotate() -> str:
    """A new token, for a new session (sign-in), so a token seen before sign-in is worthless after."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return session[SESSION_KEY]


def check_request() -> None:
    """Refuse an unsafe request whose token is missing or wrong; GET and HEAD pass."""
    if request.method in _SAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD) or request.headers.get(HEADER) or ""
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfError(
            "This form has expired or did not come from this console, so nothing was changed. "
            "Go back, reload the page and submit it again."
        )
