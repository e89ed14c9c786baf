"""The signed-in user's own account page: who they are, and which frequent-buyer notices they get by email.

The notice switches call the same core use case as ``PUT /api/v1/users/{id}/notices``
(``frequent_buyer.notices.set_notice_preferences``); a user changes only their own here.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.session_auth import current_user
from connector.core.frequent_buyer import notices
from connector.request_context import current_runtime


@bp.get("/account")
def account() -> str:
    user = current_user()
    prefs = notices.notice_preferences(current_runtime(), user.actor, user.id)
    return render_template("admin/account.html", user=user, prefs=prefs)


@bp.post("/account/notices")
def account_notices() -> Response:
    """Each checkbox on the form is a notice kind; an unchecked box (absent from the form) switches it off."""
    user = current_user()
    rt = current_runtime()
    current = notices.notice_preferences(rt, user.actor, user.id)
    wanted = {p.kind.value: request.form.get(p.kind.value) == "on" for p in current.preferences}
    notices.set_notice_preferences(rt, user.actor, user.id, wanted)
    off = [notices.NOTICE_LABELS[notices.NoticeKind(k)] for k, on in wanted.items() if not on]
    flash("Notice preferences saved" + (f"; off: {', '.join(off)}." if off else "; every notice is on."))
    return redirect(url_for("admin.account"), 303)
