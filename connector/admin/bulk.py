"""Bulk retry and bulk resend on the rows ticked in the Fulfillments table, with a per-item result page.

The loop is the core's (``core.bulk.run_bulk``: one transaction per item); this
view reads the selection, refuses what cannot run as a whole (a read-only role,
nothing or too much selected) with nothing done, and shows each item's outcome.

The results are the response to the POST itself (they are too large for a
flash cookie), so a browser refresh would post the form again. Each rendering
of the list carries a one-time ``bulk_nonce``; the same nonce with the same
action and ids is refused the second time, so a refresh cannot send every
member a second email.
"""

from __future__ import annotations

import hashlib

from flask import flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.session_auth import current_actor, safe_next
from connector.core.bulk import MAX_BULK_ITEMS, BulkAction, BulkOutcome, check_selection, run_bulk
from connector.core.errors import ValidationError
from connector.request_context import current_runtime

_DONE_KEY = "bulk_done"
#: Remembered submissions per session (a few dozen bytes each in the cookie).
_DONE_KEEP = 20


def _fingerprint(nonce: str, action: str, ids: list[int]) -> str:
    return hashlib.sha256(f"{nonce}|{action}|{','.join(map(str, sorted(ids)))}".encode()).hexdigest()[:16]


@bp.post("/fulfilments/bulk")
def bulk() -> Response | tuple[str, int]:
    actor = current_actor()
    actor.check_sees_redemptions()
    actor.check_can_act()  # a viewer's POST is refused as a whole (403), before anything is read
    back = safe_next(request.form.get("next")) or url_for("admin.fulfilments")
    action = request.form.get("action", "")
    if action not in {a.value for a in BulkAction}:
        flash("Choose Retry selected or Resend confirmation for selected.", "error")
        return redirect(back)
    raw = request.form.getlist("ids")
    if not all(v.isdigit() and 0 < int(v) < 2**63 for v in raw):
        flash("The selection was not valid; tick the rows again.", "error")
        return redirect(back)
    try:
        ids = check_selection(int(v) for v in raw)
    except ValidationError as exc:
        hint = "; ".join(str(v) for v in exc.fields.values())
        flash(f"Nothing was done: {exc.message} ({hint}).", "error")
        return redirect(back)
    nonce = request.form.get("bulk_nonce", "")
    if nonce:
        mark = _fingerprint(nonce, action, ids)
        done: list[str] = list(session.get(_DONE_KEY) or [])
        if mark in done:
            html = render_template("admin/bulk_results.html", outcomes=None, action=action, back=back, repeated=True)
            return html, 409
        session[_DONE_KEY] = [*done, mark][-_DONE_KEEP:]
    outcomes = run_bulk(current_runtime(), actor, action, ids)
    html = render_template(
        "admin/bulk_results.html",
        outcomes=outcomes,
        action=action,
        back=back,
        repeated=False,
        summary=summary(action, outcomes),
        result_label=result_label,
        max_items=MAX_BULK_ITEMS,
    )
    return html, 200


def result_label(action: str, o: BulkOutcome) -> str:
    """One row's result in a word or two: what happened to it, not merely whether the call went through."""
    if action == BulkAction.RESEND:
        return "Sent" if o.ok else "Not sent"
    if o.failed_again:
        return "Failed again"
    if not o.ok:
        return "Not retried"
    return "Fulfilled" if o.status == "fulfilled" else "Queued"


def summary(action: str, outcomes: list[BulkOutcome]) -> tuple[bool, str]:
    """(all went well, the sentence above the table), counting each kind of result.

    "All succeeded" would be false while rows are still ERROR, so the sentence names each count.
    """
    counts: dict[str, int] = {}
    for o in outcomes:
        label = result_label(action, o)
        counts[label] = counts.get(label, 0) + 1
    total = len(outcomes)
    if action == BulkAction.RESEND:
        sent, not_sent = counts.get("Sent", 0), counts.get("Not sent", 0)
        text = f"{sent} of {total} confirmation {'email' if total == 1 else 'emails'} sent."
        if not_sent:
            text += f" {not_sent} not sent: the reasons are below; nobody was emailed for those rows."
        return not not_sent, text
    parts = [
        f"{counts['Fulfilled']} fulfilled" if counts.get("Fulfilled") else "",
        f"{counts['Queued']} queued for a new attempt (PENDING until it runs)" if counts.get("Queued") else "",
        f"{counts['Failed again']} failed again and {'is' if counts['Failed again'] == 1 else 'are'} still ERROR"
        if counts.get("Failed again")
        else "",
        f"{counts['Not retried']} not retried" if counts.get("Not retried") else "",
    ]
    text = f"Of {total} selected: " + ", ".join(p for p in parts if p) + "."
    if counts.get("Failed again") or counts.get("Not retried"):
        text += " The reasons and what to do are below."
    return not (counts.get("Failed again") or counts.get("Not retried")), text
