"""Error pages for the console: the same errors the API answers as JSON, as HTML with what to do.

``connector.app`` calls ``render_error`` for any error under ``/admin`` (a core
error, an HTTP error, a database outage), so a person never gets a JSON body
or a bare 500 in the browser.
"""

from __future__ import annotations

import logging

from flask import g, render_template
from werkzeug.wrappers import Response

from connector.admin import session_auth

log = logging.getLogger("connector.admin")

#: What each status means to someone using the console, and what they can do about it.
TITLES: dict[int, tuple[str, str]] = {
    400: ("Request not accepted", "Go back, reload the page and try again."),
    403: ("Not allowed", "Ask a support user or an admin if this needs doing."),
    404: ("Not found", "It may not exist, or it belongs to a brand you do not manage. Check the link or search."),
    405: ("Not allowed here", "Use the page's buttons rather than typing the address."),
    409: ("Already changed", "Reload the page to see the current state."),
    413: ("Too large", "Send less at once."),
    422: ("Not valid", "Correct the input and try again."),
    500: ("Something went wrong", "It was logged. Try again; report it if it keeps happening."),
    503: ("Temporarily unavailable", "Nothing was changed. Try again in a few seconds."),
}


def render_error(
    status: int, message: str, *, fix: str | None = None, fields: dict[str, str] | None = None
) -> Response:
    """An HTML error page with ``status``; it shows the header (and sign-out) when a user is signed in."""
    title, default_fix = TITLES.get(status, ("Error", "Go back and try again."))
    if "admin_user" not in g and status != 503:
        try:  # an unknown /admin path never ran the blueprint's guard; the header still wants the user
            session_auth.load_user()
        except Exception:  # noqa: BLE001 - an error page must render even when the user cannot be loaded
            g.admin_user = None
    html = render_template(
        "admin/error.html",
        status=status,
        title=title,
        message=message,
        fix=fix or default_fix,
        fields=fields or {},
    )
    return Response(html, status=status, mimetype="text/html")
