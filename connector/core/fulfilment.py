"""Running one fulfilment attempt so that a shop order is created at most once.

The attempt is split into committed phases (reliability.md §2.4):

1. *claim* the redemption with a lease (a conditional UPDATE; one winner);
2. the plugin looks for an earlier attempt's order when one may exist, then
   calls ``checkpoint()`` just before its irreversible call, which commits
   ``submitted_at``: a crash after that leaves evidence for the next attempt;
3. *record* the outcome: fulfilled, a scheduled retry, or error.

A job that runs twice, or a worker killed at any line, therefore leads to a
lookup instead of a second order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update

from connector.core.backoff import retry_delay
from connector.core.confirmations import send_initial_confirmation
from connector.core.database import rowcount, transaction
from connector.core.errors import (
    ConnectorError,
    NoPluginClaimedError,
    ProviderError,
    RateLimitDeferral,
    catalog_entry,
)
from connector.core.hooktypes import FulfilmentRequest, FulfilmentResult
from connector.core.lifecycle import transition
from connector.core.model import DeliveryStatus, RedemptionEvent, RedemptionStatus
from connector.core.pacing import shop_bucket_of
from connector.core.rate_buckets import granted, metering
from connector.core.runtime import Runtime
from connector.core.scheduling import (  # noqa: F401  (FULFIL_JOB, fulfil_job_key re-exported)
    FULFIL_JOB,
    fulfil_job_key,
    schedule_cancel,
    schedule_fulfilment,
)
from connector.core.shop_tokens import blocked_call, shop_for_plugin
from connector.core.snapshots import member_info, reward_info
from connector.core.tables import Member, Redemption
from connector.core.timeline import record_event

WORKER = "worker"


class ClaimLostError(ConnectorError):
    """Another attempt took the redemption over (our lease expired): stop without side effects."""


@dataclass(frozen=True)
class _Claim:
    token: str
    request: FulfilmentRequest
    #: Why the shop may not be called now (disconnected, needs reconnecting): the attempt fails with it at once.
    blocked: ProviderError | None = None
    #: The shop the plugin calls for this redemption (its provider is the channel), if any.
    shop_id: int | None = None


def fulfil_redemption(rt: Runtime, redemption_id: int) -> str:
    """One attempt. Returns what happened (``fulfilled``, ``retry``, ``error``, ``skipped``, ``deferred``).

    A job whose shop's bucket cannot afford it now is deferred (architecture.md, "Rate limits and fairness
    across shops"): it runs again when the bucket will, without counting an attempt, and the worker is free
    for other shops' jobs meanwhile.
    """
    bucket = shop_bucket_of(rt, redemption_id)
    buckets = rt.rate_buckets
    if bucket is None or buckets is None:
        return _attempt(rt, redemption_id, None)
    # The whole job's points up front: two jobs of a shop never each spend part of what affords one.
    grant, wait = buckets.try_grant(bucket, buckets.job_cost(bucket))
    if grant is None:
        return _defer_unclaimed(rt, redemption_id, bucket, wait)
    with granted(buckets, grant):
        return _attempt(rt, redemption_id, bucket)


def _attempt(rt: Runtime, redemption_id: int, bucket: str | None) -> str:
    claim = _claim(rt, redemption_id)
    if claim is None:
        return "skipped"
    if claim.blocked is not None:
        return _record_failure(rt, redemption_id, claim.token, claim.blocked)
    try:
        with metering() as meter:
            result = rt.plugins.hook.connector_fulfil_redemption(
                request=claim.request,
                ctx=rt.hook_context(claim.request.channel, defer_when_throttled=bucket is not None),
            )
        if result is None:
            raise NoPluginClaimedError(f"no plugin fulfils channel {claim.request.channel!r}")
    except RateLimitDeferral as exc:
        return _defer_claimed(rt, redemption_id, claim.token, bucket, exc.retry_after)
    except ClaimLostError:
        rt.log.warning("redemption %s: claim lost before the irreversible call; stopping", redemption_id)
        _release(rt, redemption_id, claim.token)
        return "skipped"
    except NoPluginClaimedError as exc:
        return _record_failure(rt, redemption_id, claim.token, ProviderError("no_fulfilment_plugin", exc.message))
    except ProviderError as exc:
        return _record_failure(rt, redemption_id, claim.token, exc)
    except Exception as exc:  # noqa: BLE001 - an unknown failure is retried, and its type kept for support
        rt.log.exception("redemption %s: unexpected error in fulfilment", redemption_id)
        error = ProviderError(
            "internal_error", f"unexpected {type(exc).__name__} during fulfilment", retryable=True, in_doubt=True
        )
        return _record_failure(rt, redemption_id, claim.token, error)
    if bucket is not None and rt.rate_buckets is not None and not result.found_existing and meter.requests:
        rt.rate_buckets.learn_job_cost(bucket, meter.points)  # what pacing and deferral expect of the next job
    return _record_success(rt, redemption_id, result, shop_id=claim.shop_id)


def due_for_attempt(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """A redemption may be attempted now: still pending, nobody's lease on it (or a lapsed one), and due.

    One rule for claiming an attempt, for deferring an unclaimed one and for the sweeper's re-enqueue, so
    none of them moves a job that a claim would have refused to run.
    """
    return (
        Redemption.status == RedemptionStatus.PENDING,
        or_(Redemption.claim_expires_at.is_(None), Redemption.claim_expires_at < now),
        or_(Redemption.next_attempt_at.is_(None), Redemption.next_attempt_at <= now),
    )


def _takeable(redemption_id: int, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (Redemption.id == redemption_id, *due_for_attempt(now))


def _defer_unclaimed(rt: Runtime, redemption_id: int, bucket: str, wait: float) -> str:
    """Run the job again when its shop's bucket will afford it: nothing recorded but the time it is due.

    ``next_attempt_at`` keeps the sweeper (and any duplicate job) from running it sooner; the attempt
    count, the error fields and the timeline stay as they were.
    """
    now = rt.now()
    at = now + timedelta(seconds=wait)
    with transaction(rt.sessions) as s:
        attempts = s.execute(
            update(Redemption)
            .where(*_takeable(redemption_id, now))
            .values(next_attempt_at=at)
            .returning(Redemption.attempts)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
    if attempts is None:
        return "skipped"  # not due, taken, or no longer pending: whoever holds it schedules what follows
    return _deferred(rt, redemption_id, attempts, bucket, at)


def _defer_claimed(rt: Runtime, redemption_id: int, token: str, bucket: str | None, wait: float) -> str:
    """The plugin found the bucket short before a read: give the claim back and run again when it is not.

    The attempt does not count against the retry budget (``attempt_budget_from`` moves with it) and no error
    is recorded; the timeline gets a quiet note next to the attempt it had already logged.
    """
    now = rt.now()
    at = now + timedelta(seconds=wait)
    with transaction(rt.sessions) as s:
        r = s.scalars(select(Redemption).where(Redemption.id == redemption_id).with_for_update()).one()
        if r.claim_token != token:
            return "skipped"
        r.claim_token = r.claim_expires_at = None
        if r.status != RedemptionStatus.PENDING:
            return "skipped"
        r.attempt_budget_from += 1
        r.next_attempt_at = at
        attempts = r.attempts
        record_event(
            s,
            r,
            actor=WORKER,
            kind="attempt_deferred",
            at=now,
            message=f"waiting {wait:.1f}s for the shop's API rate limit (not counted as an attempt)",
            detail={"attempt": attempts, "wait_seconds": round(wait, 3)},
        )
    return _deferred(rt, redemption_id, attempts, bucket, at)


def _deferred(rt: Runtime, redemption_id: int, attempts: int, bucket: str | None, at: datetime) -> str:
    if bucket is not None and rt.rate_buckets is not None:
        rt.rate_buckets.count(bucket, "deferred")
    rt.log.info("redemption %s: deferred to %s for the rate limit of %s", redemption_id, at.isoformat(), bucket)
    schedule_fulfilment(rt, redemption_id, attempts, at=at, deferred=True)
    return "deferred"


def _claim(rt: Runtime, redemption_id: int) -> _Claim | None:
    now = rt.now()
    token = uuid.uuid4().hex
    lease = timedelta(seconds=rt.settings.claim_lease_seconds)
    with transaction(rt.sessions) as s:
        claimed = rowcount(
            s.execute(
                update(Redemption)
                .where(*_takeable(redemption_id, now))
                .values(
                    claim_token=token,
                    claim_expires_at=now + lease,
                    attempts=Redemption.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if claimed != 1:
            return None
        r = s.scalars(select(Redemption).where(Redemption.id == redemption_id)).one()  # fresh: not loaded before
        record_event(
            s,
            r,
            actor=WORKER,
            kind="attempt_started",
            at=now,
            message=f"attempt {r.attempts}" + (" (checking for an earlier order first)" if r.submitted_at else ""),
            detail={"attempt": r.attempts},
        )
        request = FulfilmentRequest(
            redemption_id=r.id,
            code=r.code,
            channel=r.channel,
            attempt=r.attempts,
            member=member_info(r.member),
            reward=reward_info(r.reward),
            shop=shop_for_plugin(rt, r.shop),
            submitted_at=r.submitted_at,
            checkpoint=lambda: _checkpoint(rt, redemption_id, token),
        )
        blocked = blocked_call(r.shop, r.channel)
        shop_id = r.shop.id if r.shop is not None and r.shop.provider == r.channel else None
    return _Claim(token=token, request=request, blocked=blocked, shop_id=shop_id)


def _release(rt: Runtime, redemption_id: int, token: str) -> None:
    """Give up a lease this attempt still holds on a redemption that stopped being pending under it.

    A shop disconnected mid-attempt parks the row (error) while the worker holds it; the worker stops,
    and releasing the lease lets the attempt queued when the shop comes back run at once instead of
    waiting for the lease to run out. A lease another attempt took is not ours and stays.
    """
    with transaction(rt.sessions) as s:
        s.execute(
            update(Redemption)
            .where(Redemption.id == redemption_id, Redemption.claim_token == token)
            .values(claim_token=None, claim_expires_at=None)
            .execution_options(synchronize_session=False)
        )


def _checkpoint(rt: Runtime, redemption_id: int, token: str) -> None:
    """Commit "about to create the order" before the plugin's irreversible call."""
    now = rt.now()
    with transaction(rt.sessions) as s:
        updated = rowcount(
            s.execute(
                update(Redemption)
                .where(
                    Redemption.id == redemption_id,
                    Redemption.claim_token == token,
                    Redemption.status == RedemptionStatus.PENDING,
                )
                .values(submitted_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        )
    if updated != 1:
        raise ClaimLostError(f"redemption {redemption_id}: claim lost")


def _record_success(rt: Runtime, redemption_id: int, result: FulfilmentResult, *, shop_id: int | None = None) -> str:
    now = rt.now()
    cancel_needed = False
    with transaction(rt.sessions) as s:
        if shop_id is not None:
            # The shop answered: its last successful call (throttled per process, in this same commit). Before
            # the redemption's lock, so every writer takes the shop row first and the redemption second, as a
            # disconnect does (shop, then its pending redemptions): two such transactions never deadlock.
            rt.shop_health.record_success(s, shop_id, now)
        r = s.scalars(select(Redemption).where(Redemption.id == redemption_id).with_for_update()).one()
        if result.shop_customer_id:
            member = s.get(Member, r.member_id)
            if member is not None and member.shop_customer_id != result.shop_customer_id:
                member.shop_customer_id = result.shop_customer_id
        if r.external_order_id is None and result.external_order_id:
            r.external_order_id = result.external_order_id
            r.external_order_name = result.external_order_name
        found = " (found the order an earlier attempt created)" if result.found_existing else ""
        if r.status == RedemptionStatus.PENDING:
            r.status = transition(r.status, RedemptionEvent.FULFIL)
            r.fulfilled_at = now
            r.delivery_status = DeliveryStatus.UNFULFILLED if result.external_order_id else None
            r.error_code = r.error_message = r.error_fix = r.error_field = None
            r.next_attempt_at = None
            r.claim_token = r.claim_expires_at = None
            r.updated_at = now
            record_event(
                s,
                r,
                actor=WORKER,
                kind="fulfilled",
                at=now,
                from_status=RedemptionStatus.PENDING,
                to_status=RedemptionStatus.FULFILLED,
                message=f"shop order {result.external_order_name or result.external_order_id or ''} created{found}",
                detail={"order_id": result.external_order_id, "found_existing": result.found_existing},
            )
            outcome = "fulfilled"
        else:
            # Reversed while the order was being created: keep the order id so support can see it.
            record_event(
                s,
                r,
                actor=WORKER,
                kind="order_created_after_reversal",
                at=now,
                message=f"shop order {result.external_order_name or ''} was created while the redemption was "
                f"{r.status}",
                detail={"order_id": result.external_order_id},
            )
            cancel_needed = r.cancel_requested_at is not None and r.order_cancelled_at is None
            r.claim_token = r.claim_expires_at = None
            outcome = "skipped"
    if cancel_needed:
        schedule_cancel(rt, redemption_id)
    if outcome == "fulfilled" and result.external_order_id:
        # The member hears once the order exists; the email channel's own message is its confirmation.
        send_initial_confirmation(rt, redemption_id)
    return outcome


def _record_failure(rt: Runtime, redemption_id: int, token: str, error: ProviderError) -> str:
    now = rt.now()
    retry_at: datetime | None = None
    attempts = 0
    with transaction(rt.sessions) as s:
        r = s.scalars(select(Redemption).where(Redemption.id == redemption_id).with_for_update()).one()
        if r.claim_token != token or r.status != RedemptionStatus.PENDING:
            if r.claim_token == token:  # parked or reversed under us: the lease is ours to give back
                r.claim_token = r.claim_expires_at = None
                if error.nothing_created:  # and our irreversible call was refused: no order to look up later
                    r.submitted_at = None
            return "skipped"
        attempts = r.attempts
        budget_left = rt.settings.max_attempts - (r.attempts - r.attempt_budget_from)
        r.claim_token = r.claim_expires_at = None
        r.updated_at = now
        if error.nothing_created:  # the shop refused the irreversible call: no order to look up first
            r.submitted_at = None
        detail = {"attempt": r.attempts, "code": error.code, "in_doubt": error.in_doubt}
        if error.retryable and budget_left > 0:
            delay = retry_delay(
                r.attempts,
                base=rt.settings.retry_base_seconds,
                cap=rt.settings.retry_cap_seconds,
                retry_after=error.retry_after,
            )
            retry_at = now + timedelta(seconds=delay)
            r.next_attempt_at = retry_at
            # While pending, the error fields hold the last temporary failure, shown with the next attempt time.
            r.error_code, r.error_message, r.error_fix, r.error_field = error.code, error.message, error.fix, None
            record_event(
                s,
                r,
                actor=WORKER,
                kind="attempt_failed",
                at=now,
                message=f"{error.code}: {error.message}; next attempt in {delay:.0f}s",
                detail={**detail, "retry_in_seconds": round(delay, 3)},
            )
            outcome = "retry"
        else:
            final = error
            if error.retryable:
                final = ProviderError(
                    "retries_exhausted",
                    f"{catalog_entry('retries_exhausted').message} Last error: {error.code}: {error.message}",
                    retryable=False,
                )
            r.status = transition(r.status, RedemptionEvent.FAIL)
            r.error_code, r.error_message, r.error_fix = final.code, final.message, final.fix
            r.error_field = final.field
            r.next_attempt_at = None
            record_event(
                s,
                r,
                actor=WORKER,
                kind="failed",
                at=now,
                from_status=RedemptionStatus.PENDING,
                to_status=RedemptionStatus.ERROR,
                message=f"{final.code}: {final.message}",
                detail={**detail, "fix": final.fix, "field": final.field},
            )
            outcome = "error"
    if retry_at is not None:
        schedule_fulfilment(rt, redemption_id, attempts, at=retry_at)
    return outcome
