"""A shop leaving and coming back: disconnect (app uninstalled, or from the console) and resume.

Why park rather than let each redemption fail on its own: after an uninstall the shop's token is dead,
so every attempt would fail anyway, one by one, whenever its job came up. Parking does it at once, in
the transaction that marks the shop disconnected, with the error and fix support needs ("Shop
disconnected: reinstall the app"), and gives ``resume_shop`` one exact set to put back.

What parking keeps, and why (exactly one order per redemption):

* ``submitted_at``: a redemption parked after its attempt reached the point of no return may already
  have an order in the shop. The resumed attempt sees ``submitted_at`` and looks the order up before it
  creates one, as after any in-doubt failure.
* the claim lease (``claim_token``, ``claim_expires_at``): a worker may be mid-call right now. Its
  checkpoint fails (the redemption is no longer pending), or its call fails with a 401 that
  ``TokenKeeper.rejected`` turns into ``shop_disconnected``. If the order got created all the same, its
  success is recorded on the parked row. A worker that stops gives its lease back; while one still holds
  it, a resumed attempt is queued for when the lease ends, so it never runs beside that worker, and then
  it finds the order by its lookup.

Lock order: the shop row, then its redemptions (``webhook_effects`` locks the shop before calling
``disconnect_shop``). Code that updates a shop row while holding a redemption lock would invert it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from connector.core.database import transaction
from connector.core.lifecycle import transition
from connector.core.model import RedemptionEvent, RedemptionStatus
from connector.core.redemptions import reopen_for_retry
from connector.core.runtime import Runtime
from connector.core.scheduling import schedule_fulfilment
from connector.core.shop_tokens import status_error
from connector.core.tables import Redemption, Shop, ShopStatus
from connector.core.timeline import record_event

log = logging.getLogger("connector.shop_lifecycle")

#: Errors that say "the shop could not be called", not "this redemption is wrong": a reconnect resumes them.
PARKED_CODES = ("shop_disconnected", "shop_reconnect_needed", "shop_awaiting_brand")
#: A resumed attempt queued behind a worker's lease starts this long after the lease ends (a claim needs it ended).
_LEASE_SLACK = timedelta(seconds=1)
_IN_DOUBT = " An earlier attempt may have created the order: it is looked up before any new one is made."
#: Who resumes redemptions in their timelines.
RESUME_ACTOR = "system: shop reconnected"


def disconnect_shop(
    s: Session, shop: Shop, *, reason: str, actor: str, now: datetime, uninstalled: bool = False
) -> list[int]:
    """Mark ``shop`` disconnected, drop its tokens and park its pending redemptions; returns their ids.

    Parked too: the shop's redemptions that already failed because the shop could not be called for
    another reason (``shop_reconnect_needed``, as one does on the 401 of a token the uninstall revoked
    before its webhook arrived): they now say what happened and what to do, like the others.

    Runs in the caller's transaction (lock the shop row first). Idempotent: a second call for a shop
    already disconnected changes no timestamp and parks only what became pending since (nothing, as a
    pending redemption of a disconnected shop fails at its first attempt). ``uninstalled`` says the
    merchant removed the app (``uninstalled_at``). ``active`` is left alone: the shop's webhooks are
    still accepted, so the ``shop/redact`` that follows an uninstall 48 hours later verifies.
    """
    if shop.status != ShopStatus.DISCONNECTED:
        shop.status = ShopStatus.DISCONNECTED
        shop.status_reason = reason
        shop.status_changed_at = now
        if uninstalled:
            shop.uninstalled_at = now
    elif uninstalled and shop.uninstalled_at is None:
        # Disconnected from the console first, then the merchant removed the app: the more precise reason wins.
        shop.status_reason = reason
        shop.uninstalled_at = now
    # A dead token must not be kept: nothing may send it, and no refresh may revive it.
    shop.access_token = ""
    shop.access_token_expires_at = None
    shop.refresh_token = None
    shop.refresh_token_expires_at = None

    error = status_error(shop)
    assert error is not None  # a disconnected shop always has one
    pending = s.scalars(
        select(Redemption)
        .where(
            Redemption.shop_id == shop.id,
            or_(
                Redemption.status == RedemptionStatus.PENDING,
                # Failed just before, on the 401 of the token the uninstall revoked ("reconnect"): the true
                # cause, and the fix that works, is now the uninstall's.
                and_(
                    Redemption.status == RedemptionStatus.ERROR,
                    Redemption.error_code.in_([c for c in PARKED_CODES if c != error.code]),
                ),
            ),
        )
        .order_by(Redemption.id)
        .with_for_update()
    ).all()
    for r in pending:
        was = r.status
        if r.status == RedemptionStatus.PENDING:
            r.status = transition(r.status, RedemptionEvent.FAIL)
        r.error_code, r.error_message, r.error_fix, r.error_field = error.code, error.message, error.fix, None
        r.next_attempt_at = None
        r.updated_at = now
        # submitted_at and the claim lease stay: see the module docstring.
        in_doubt = r.submitted_at is not None
        record_event(
            s,
            r,
            actor=actor,
            kind="parked",
            at=now,
            from_status=was,
            to_status=RedemptionStatus.ERROR,
            message=f"{error.code}: {error.message}" + (_IN_DOUBT if in_doubt else ""),
            detail={"code": error.code, "fix": error.fix, "in_doubt": in_doubt},
        )
    if pending:
        log.info("shop %s disconnected: %d redemption(s) parked", shop.domain, len(pending))
    return [r.id for r in pending]


def resume_shop(rt: Runtime, shop_id: int) -> int:
    """After a reinstall or reconnect: put the redemptions the shop's state parked back to pending.

    Only those in error with ``PARKED_CODES`` (not a redemption that failed for its own reason), only
    the shop's own in its own brand, and only when the shop may be called now; returns how many. Each
    goes through the console's Retry path (``reopen_for_retry``: fresh attempt budget, a timeline
    event) and is queued; one whose lease a worker still holds is queued for when the lease ends.
    """
    now = rt.now()
    jobs: list[tuple[int, int, datetime | None]] = []
    with transaction(rt.sessions) as s:
        shop = s.scalars(select(Shop).where(Shop.id == shop_id)).one_or_none()
        if shop is None or not shop.callable:
            return 0
        parked = s.scalars(
            select(Redemption)
            .where(
                Redemption.shop_id == shop.id,
                Redemption.brand_id == shop.brand_id,
                Redemption.status == RedemptionStatus.ERROR,
                Redemption.error_code.in_(PARKED_CODES),
            )
            .order_by(Redemption.id)
            .with_for_update()
        ).all()
        for r in parked:
            attempts = reopen_for_retry(s, r, actor=RESUME_ACTOR, now=now, why=f"{shop.domain} was reconnected")
            at = None
            if r.claim_expires_at is not None and r.claim_expires_at > now:
                at = r.claim_expires_at + _LEASE_SLACK
            jobs.append((r.id, attempts, at))
    for redemption_id, attempts, at in jobs:
        schedule_fulfilment(rt, redemption_id, attempts, at=at)
    if jobs:
        log.info("shop %s: %d parked redemption(s) resumed", shop_id, len(jobs))
    return len(jobs)
