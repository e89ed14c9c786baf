"""The Fulfillments screen (seed 004): tabs, search and filters, details, and the row actions.

Every action is a POST that calls the core use case the API calls, then
redirects (post/redirect/get) with a flash saying what happened. A refusal the
user can fix (illegal transition, conflict, invalid input) comes back as an
error flash with the core's message; "not found" and "not allowed" are error
pages, raised to the app's handlers like the API's errors.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from connector.admin import display, reads
from connector.admin.blueprint import bp
from connector.admin.filters import ALL, PAGE_SIZE, TABS, parse_filters
from connector.admin.session_auth import current_actor, safe_next
from connector.core import redemptions as core_redemptions
from connector.core import reversal
from connector.core.access import Actor
from connector.core.errors import ConflictError, ValidationError
from connector.core.queries import Page, list_redemptions
from connector.core.redemptions import points_balance
from connector.core.tables import Redemption
from connector.request_context import current_runtime

#: Reasons and notes are stored in 500-character columns.
MAX_NOTE = 500


@bp.get("/fulfilments")
def fulfilments() -> tuple[str, int]:
    actor = current_actor()
    actor.check_sees_redemptions()
    form = parse_filters(request.args)
    rt = current_runtime()
    with rt.sessions() as s:
        page = Page(items=[], next_cursor=None)
        if not form.errors:
            page = list_redemptions(s, actor, form.filter, limit=PAGE_SIZE, cursor=form.cursor or None)
        html = render_template(
            "admin/fulfilments.html",
            form=form,
            tabs=TABS,
            page=page,
            actor=actor,
            counts=_tab_count_labels(s, actor),
            rewards=reads.visible_rewards(s, actor),
            brands=reads.brand_names(s, actor),
            here=_here(),
            bulk_nonce=secrets.token_urlsafe(12),
            row_url=_row_urls(),
        )
    return html, 400 if form.errors else 200


class _IdUrl:
    """``url_for(endpoint, <key>=id)`` for every row of a page at the cost of one ``url_for``.

    The URL is built once around a placeholder id and each row's id is put in its place, which is
    what the int converter writes (``str(id)``). A URL without exactly one placeholder (never seen)
    falls back to ``url_for`` per row.
    """

    _PLACEHOLDER = 918_273_645_546_372_819

    def __init__(self, endpoint: str, key: str) -> None:
        self.endpoint, self.key = endpoint, key
        # Typed as url_for's **values (Any): mypy checks a **dict[str, int] against url_for's own _external too.
        values: dict[str, Any] = {key: self._PLACEHOLDER}
        parts = url_for(endpoint, **values).split(str(self._PLACEHOLDER))
        self.head, self.tail = (parts[0], parts[1]) if len(parts) == 2 else ("", "")
        self.exact = len(parts) == 2

    def __call__(self, ident: int) -> str:
        if not self.exact:
            values: dict[str, Any] = {self.key: ident}
            return url_for(self.endpoint, **values)
        return f"{self.head}{int(ident)}{self.tail}"


def _row_urls() -> dict[str, _IdUrl]:
    """The links and form actions of each Fulfillments row (rendering 50 rows called url_for 250 times)."""
    return {
        "member": _IdUrl("admin.member", "member_id"),
        "details": _IdUrl("admin.redemption", "redemption_id"),
        "retry": _IdUrl("admin.retry", "redemption_id"),
        "resend": _IdUrl("admin.resend", "redemption_id"),
        "reverse": _IdUrl("admin.reverse_confirm", "redemption_id"),
    }


@bp.get("/redemptions/<id:redemption_id>")
def redemption(redemption_id: int) -> str:
    actor = current_actor()
    actor.check_sees_redemptions()
    rt = current_runtime()
    with rt.sessions() as s:
        r = reads.redemption_for_details(s, actor, redemption_id)
        return render_template(
            "admin/redemption.html",
            r=r,
            actor=actor,
            balance=points_balance(s, r.member_id),
            messages=reads.confirmations(s, r.id),
            here=_here(),
        )


@bp.post("/redemptions/<id:redemption_id>/resend")
def resend(redemption_id: int) -> Response:
    actor = current_actor()
    actor.check_sees_redemptions()
    rt = current_runtime()
    try:
        msg = core_redemptions.resend_confirmation(rt, redemption_id, actor)
    except (ConflictError, ValidationError) as exc:
        flash(_refusal(exc), "error")
    else:
        if msg.status == "failed":
            flash(
                f"The confirmation email to {msg.to_address} could not be sent: {msg.error}. The attempt is on the "
                "timeline; check the mail settings and resend.",
                "error",
            )
        else:
            flash(f"Confirmation email sent to {msg.to_address}.", "success")
    return _back(redemption_id)


@bp.post("/redemptions/<id:redemption_id>/retry")
def retry(redemption_id: int) -> Response:
    actor = current_actor()
    actor.check_sees_redemptions()
    rt = current_runtime()
    note = request.form.get("note", "").strip()[:MAX_NOTE]
    try:
        core_redemptions.retry_redemption(rt, redemption_id, actor, note=note)
    except (ConflictError, ValidationError) as exc:
        flash(_refusal(exc), "error")
    else:
        with rt.sessions() as s:
            r = s.get(Redemption, redemption_id)
            code, status = (r.code, r.status) if r else (str(redemption_id), "pending")
        flash(f"{code} was retried; it is now {status.upper()}.", "success" if status != "error" else "error")
    return _back(redemption_id)


@bp.get("/redemptions/<id:redemption_id>/reverse")
def reverse_confirm(redemption_id: int) -> Response | str:
    """Says exactly what reversing does and does not do, before anything is done."""
    actor = current_actor()
    actor.check_sees_redemptions()
    actor.check_can_act()
    rt = current_runtime()
    with rt.sessions() as s:
        r = reads.redemption_for_details(s, actor, redemption_id)
        if r.status not in display.REVERSIBLE:
            flash(f"{r.code} is {r.status.upper()}; it cannot be reversed (a redemption is reversed once).", "error")
            return redirect(url_for("admin.redemption", redemption_id=r.id))
        return render_template(
            "admin/reverse.html",
            r=r,
            balance=points_balance(s, r.member_id),
            cancellable=display.order_cancellable(r),
            max_note=MAX_NOTE,
        )


@bp.post("/redemptions/<id:redemption_id>/reverse")
def reverse(redemption_id: int) -> Response:
    actor = current_actor()
    actor.check_sees_redemptions()
    rt = current_runtime()
    cancel_order, restock = _order_choice()
    reason = request.form.get("reason", "").strip()[:MAX_NOTE]
    try:
        r = reversal.reverse_redemption(
            rt, redemption_id, actor, reason=reason, cancel_order=cancel_order, restock=restock
        )
    except ValidationError as exc:
        # e.g. the order shipped since the page was shown: back to the confirmation, nothing was changed.
        flash(_refusal(exc), "error")
        return redirect(url_for("admin.reverse_confirm", redemption_id=redemption_id))
    except ConflictError as exc:  # already reversed (a second POST of the same form): points went back once
        flash(_refusal(exc), "error")
        return redirect(url_for("admin.redemption", redemption_id=redemption_id))
    with rt.sessions() as s:
        member = s.get(Redemption, r.id).member  # type: ignore[union-attr]
        name = member.full_name or "the member"
    if r.external_order_id and cancel_order:
        stock = "its items go back in stock" if restock else "its items are not restocked"
        order = f" The shop order {r.external_order_name or ''} is being cancelled; {stock}.".replace("  ", " ")
    elif r.external_order_id:
        order = " The shop order was left as it is: cancel it in the shop if it has not shipped, restock by hand."
    else:
        order = ""
    flash(f"{r.code} reversed: {r.points_cost:,} points returned to {name}.{order}", "success")
    return redirect(url_for("admin.redemption", redemption_id=r.id))


#: The reverse page's choices for a shop order that can still be cancelled: (cancel it, restock it).
_ORDER_CHOICES = {"keep": (False, False), "cancel_restock": (True, True), "cancel_only": (True, False)}


def _order_choice() -> tuple[bool, bool]:
    """(cancel the order, restock its items) as chosen on the reverse page.

    A form from before the choice existed posts a ``cancel_order`` box whose page said reversing does not
    restock, so that alone cancels without restocking.
    """
    choice = request.form.get("order")
    if choice in _ORDER_CHOICES:
        return _ORDER_CHOICES[choice]
    cancel = request.form.get("cancel_order") in {"on", "true", "1", "yes"}
    return cancel, cancel and request.form.get("restock") in {"on", "true", "1", "yes"}


def _tab_count_labels(s: Session, actor: Actor) -> dict[str, str]:
    """Each tab's count as shown ("1,000+" past the cap), the All tab's included.

    The three status tabs split the statuses between them, so All is their sum: exact while
    it is at most the cap, and past the cap whenever any tab is (each reads up to cap + 1 rows).
    """
    counts = reads.tab_counts(s, actor)
    counts[ALL] = sum(counts.values())
    return {tab: display.count_label(n, reads.COUNT_CAP) for tab, n in counts.items()}


def _refusal(exc: ConflictError | ValidationError) -> str:
    """The core's message, with what to do when it names fields."""
    fields = getattr(exc, "fields", None) or {}
    hints = "; ".join(str(v) for v in fields.values())
    message = exc.message[:1].upper() + exc.message[1:]
    fix = exc.details.get("fix")
    said = f"{message}." if not hints else f"{message}: {hints}."
    return f"{said} {fix}" if fix else said


def _back(redemption_id: int) -> Response:
    return redirect(safe_next(request.form.get("next")) or url_for("admin.redemption", redemption_id=redemption_id))


def _here() -> str:
    """This page's path and query, for forms that should come back here."""
    return request.full_path.rstrip("?")
