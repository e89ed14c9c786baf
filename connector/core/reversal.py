"""Reversing a redemption: points back exactly once, the shop order optionally cancelled (and restocked).

The refund is purely local, so it is one transaction (reliability.md §2.5): a
conditional status update that only one caller can win, plus a ledger row
whose ``(redemption_id, kind)`` is unique. The shop order is cancelled by a
separate job, because a remote call must never sit inside that transaction.

Whether the cancel puts the items back in stock is the user's choice, made when
reversing. It is kept on the ``reversed`` timeline event (its ``detail``), which
the cancel job reads back, so a retried or swept cancel honours the same choice
without a column of its own.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import rowcount, transaction
from connector.core.errors import (
    ConflictError,
    IllegalTransitionError,
    NoPluginClaimedError,
    ProviderError,
    ValidationError,
)
from connector.core.hooktypes import CancelRequest
from connector.core.lifecycle import sources_of, transition
from connector.core.model import DeliveryStatus, LedgerKind, RedemptionEvent, RedemptionStatus
from connector.core.redemptions import load_for_actor
from connector.core.runtime import Runtime
from connector.core.scheduling import CANCEL_JOB, schedule_cancel  # noqa: F401  (CANCEL_JOB re-exported)
from connector.core.shop_tokens import blocked_call, shop_for_plugin
from connector.core.tables import LedgerEntry, Redemption, RedemptionEventRow
from connector.core.timeline import record_event

_NOT_CANCELLABLE = {DeliveryStatus.SHIPPED, DeliveryStatus.DELIVERED}


def reverse_redemption(
    rt: Runtime,
    redemption_id: int,
    actor: Actor,
    *,
    reason: str = "",
    cancel_order: bool = False,
    restock: bool = False,
) -> Redemption:
    """Return the points and mark the redemption reversed; optionally cancel its shop order, restocking or not.

    Restocking happens only by cancelling the order (the connector never adjusts inventory on its own), so
    ``restock`` without ``cancel_order`` is refused rather than silently ignored.
    """
    actor.check_can_act()
    if restock and not cancel_order:
        raise ValidationError(
            "restock applies only when the shop order is cancelled: the items go back in stock by cancelling it",
            fields={"restock": "also set cancel_order, or leave restock off and restock by hand in the shop"},
        )
    now = rt.now()
    with transaction(rt.sessions) as s:
        # Locked: a retry, a fulfilment or a resend committing between this read and the update below
        # would leave the timeline's from-status and the order checks (cancel, shipped) on stale values.
        r = load_for_actor(s, redemption_id, actor, lock=True)
        new_status = transition(r.status, RedemptionEvent.REVERSE)
        if cancel_order and r.delivery_status in _NOT_CANCELLABLE:
            raise ValidationError(
                f"the shop order {r.external_order_name} has already {r.delivery_status}; it cannot be cancelled. "
                "Reverse without cancelling, and restock by hand if the item comes back.",
                fields={"cancel_order": "order already shipped"},
            )
        previous = r.status
        won = rowcount(
            s.execute(
                update(Redemption)
                .where(Redemption.id == redemption_id, Redemption.status.in_(sources_of(RedemptionEvent.REVERSE)))
                .values(
                    status=new_status,
                    reversed_at=now,
                    updated_at=now,
                    next_attempt_at=None,
                    cancel_requested_at=now if cancel_order else None,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if won != 1:
            raise IllegalTransitionError(
                "cannot reverse a redemption that is reversed: a redemption can be reversed once; "
                "it is already reversed",
                current=RedemptionStatus.REVERSED.value,
                event=RedemptionEvent.REVERSE.value,
            )
        s.add(
            LedgerEntry(
                member_id=r.member_id,
                delta=r.points_cost,
                kind=LedgerKind.RETURNED,
                redemption_id=r.id,
                note=f"reversal of {r.code}" + (f": {reason}" if reason else ""),
                actor=actor.name,
                created_at=now,
            )
        )
        try:
            s.flush()
        except IntegrityError as exc:  # the unique ledger row: a belt to the conditional update's braces
            raise ConflictError(f"points for {r.code} were already returned") from exc
        stock = " and its items put back in stock" if restock else " without restocking its items"
        order_note = ""
        if r.external_order_id:
            order_note = (
                f"; the shop order will be cancelled{stock}"
                if cancel_order
                else "; the shop order was left as it is (cancel it in the shop if it has not shipped)"
            )
        elif cancel_order:
            order_note = f"; if a shop order is created after all, it will be cancelled{stock}"
        record_event(
            s,
            r,
            actor=actor.name,
            kind="reversed",
            at=now,
            from_status=previous,
            to_status=new_status,
            message=f"{r.points_cost} points returned{order_note}" + (f". Reason: {reason}" if reason else ""),
            detail={
                "points_returned": r.points_cost,
                "cancel_order": cancel_order,
                "restock": restock if cancel_order else None,
                "reason": reason or None,
            },
        )
    if cancel_order and r.external_order_id:
        schedule_cancel(rt, redemption_id)
    with rt.sessions() as s:
        return s.scalars(select(Redemption).where(Redemption.id == redemption_id)).one()


def cancel_order(rt: Runtime, redemption_id: int) -> str:
    """Job: cancel the shop order of a reversed redemption whose reversal asked for it."""
    with rt.sessions() as s:
        r = s.get(Redemption, redemption_id)
        if r is None or r.cancel_requested_at is None or r.order_cancelled_at is not None or not r.external_order_id:
            return "skipped"
        request = CancelRequest(
            redemption_id=r.id,
            code=r.code,
            channel=r.channel,
            shop=shop_for_plugin(rt, r.shop),
            external_order_id=r.external_order_id,
            reason="reversed",
            restock=_restock_chosen(s, r.id),
        )
        blocked = blocked_call(r.shop, r.channel)
        shop_id = r.shop.id if r.shop is not None and r.shop.provider == r.channel else None
    now = rt.now()
    try:
        if blocked is not None:
            raise blocked
        result = rt.plugins.hook.connector_cancel_order(request=request, ctx=rt.hook_context(request.channel))
        if result is None:
            raise NoPluginClaimedError(f"no plugin cancels orders of channel {request.channel!r}")
    except ProviderError as exc:
        with transaction(rt.sessions) as s:
            r = s.get(Redemption, redemption_id)
            assert r is not None
            if not exc.retryable:
                r.cancel_requested_at = None  # stop trying: the shop refused for good
            record_event(
                s,
                r,
                actor="worker",
                kind="order_cancel_failed",
                at=now,
                message=f"{exc.code}: {exc.message}" + ("; will retry" if exc.retryable else ""),
                detail={"code": exc.code, "retryable": exc.retryable},
            )
        return "retry" if exc.retryable else "error"
    except NoPluginClaimedError as exc:
        with transaction(rt.sessions) as s:
            r = s.get(Redemption, redemption_id)
            assert r is not None
            r.cancel_requested_at = None
            record_event(s, r, actor="worker", kind="order_cancel_failed", at=now, message=exc.message)
        return "error"
    with transaction(rt.sessions) as s:
        if shop_id is not None:  # the shop row before the redemption's, as in fulfilment._record_success
            rt.shop_health.record_success(s, shop_id, now)
        r = s.get(Redemption, redemption_id)
        assert r is not None
        r.order_cancelled_at = now
        r.delivery_status = DeliveryStatus.CANCELLED
        record_event(
            s,
            r,
            actor="worker",
            kind="order_cancelled",
            at=now,
            message=f"shop order {r.external_order_name or r.external_order_id} cancelled, "
            + ("its items put back in stock" if request.restock else "its items not restocked")
            + (f" ({result.message})" if result.message else ""),
            detail={"restock": request.restock},
        )
    return "cancelled"


def _restock_chosen(s: Session, redemption_id: int) -> bool:
    """What the reversal chose; a reversal recorded before the choice existed restocked (as cancels then did)."""
    detail = s.scalars(
        select(RedemptionEventRow.detail)
        .where(RedemptionEventRow.redemption_id == redemption_id, RedemptionEventRow.kind == "reversed")
        .order_by(RedemptionEventRow.id.desc())
        .limit(1)
    ).first()
    chosen = (detail or {}).get("restock")
    return chosen if isinstance(chosen, bool) else True
