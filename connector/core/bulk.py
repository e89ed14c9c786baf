"""Bulk actions on a selection of redemptions: one use case per item, one outcome per item.

Each item runs the ordinary use case (``retry_redemption``, ``resend_confirmation``)
in its own transaction, so one refusal or failure never undoes the items before
it, and every item lands on its own timeline with who did it. The caller gets a
list of outcomes to show: which succeeded, which failed, why, and what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from sqlalchemy import select

from connector.core.access import Actor
from connector.core.errors import ConnectorError, NotFoundError, ProviderError, ValidationError
from connector.core.model import RedemptionStatus
from connector.core.redemptions import resend_confirmation, retry_redemption
from connector.core.runtime import Runtime
from connector.core.tables import Redemption

log = logging.getLogger("connector.bulk")

#: Larger selections are refused: each item is a transaction (and a retry may run a fulfilment inline
#: without workers), so a web request must stay short. Two list pages' worth.
MAX_BULK_ITEMS = 100


class BulkAction(StrEnum):
    RETRY = "retry"
    RESEND = "resend"


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one selected redemption."""

    redemption_id: int
    ok: bool
    message: str
    #: The redemption's code, when the actor may see it (never for an unknown or foreign id).
    code: str | None = None
    #: The status after the action, when the actor may see the redemption.
    status: str | None = None
    #: The stable code of the refusal or failure (``illegal_transition``, ``not_found``, ...).
    error_code: str | None = None
    fix: str | None = None
    #: A retry that ran its attempt, which failed again (the row is ERROR again; not a refusal).
    failed_again: bool = False


def check_selection(ids: Iterable[int]) -> list[int]:
    """The ids once each, in the order given; refuses an empty or over-large selection before anything runs."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise ValidationError("nothing selected", fields={"ids": "select at least one redemption"})
    if len(unique) > MAX_BULK_ITEMS:
        raise ValidationError(
            f"too many redemptions selected: {len(unique)}; at most {MAX_BULK_ITEMS} at a time",
            fields={"ids": f"select at most {MAX_BULK_ITEMS}; narrow the filter and repeat"},
        )
    return unique


def run_bulk(rt: Runtime, actor: Actor, action: BulkAction | str, ids: Iterable[int]) -> list[BulkOutcome]:
    """Apply ``action`` to each id in its own transaction; returns one outcome per distinct id, in order.

    A role that may not act is refused as a whole (``PermissionDeniedError``) before any item runs.
    """
    action = BulkAction(action)
    actor.check_sees_redemptions()
    actor.check_can_act()
    selection = check_selection(ids)
    outcomes = [_one(rt, actor, action, rid) for rid in selection]
    return _with_current_state(rt, actor, action, outcomes)


def _one(rt: Runtime, actor: Actor, action: BulkAction, redemption_id: int) -> BulkOutcome:
    try:
        if action == BulkAction.RETRY:
            retry_redemption(rt, redemption_id, actor, note="bulk retry")
            return BulkOutcome(redemption_id, True, "back to pending; a new attempt was queued")
        msg = resend_confirmation(rt, redemption_id, actor)
        if msg.status == "failed":
            return BulkOutcome(
                redemption_id,
                False,
                f"the confirmation email could not be sent: {msg.error}",
                error_code="mail_failed",
                fix="Check the mail settings (CONNECTOR_SMTP_URL), then resend; the attempt is on the timeline.",
            )
        return BulkOutcome(redemption_id, True, f"confirmation email sent to {msg.to_address}")
    except NotFoundError:
        # Same words for a missing id and another brand's id, as everywhere else.
        return BulkOutcome(redemption_id, False, f"redemption {redemption_id} not found", error_code="not_found")
    except ValidationError as exc:
        fix = "; ".join(str(v) for v in exc.fields.values()) or None
        return BulkOutcome(redemption_id, False, exc.message, error_code=exc.code, fix=fix)
    except ProviderError as exc:
        return BulkOutcome(redemption_id, False, exc.message, error_code=exc.code, fix=exc.fix)
    except ConnectorError as exc:
        fix = exc.details.get("fix")
        return BulkOutcome(redemption_id, False, exc.message, error_code=exc.code, fix=fix if fix else None)
    except Exception:  # noqa: BLE001 - the items already done must still be reported; this one is logged
        log.exception("bulk %s: unexpected error on redemption %s", action.value, redemption_id)
        return BulkOutcome(
            redemption_id,
            False,
            "unexpected error; it was logged",
            error_code="internal_error",
            fix="Retry this one on its own; report it with the redemption id if it fails again.",
        )


def _with_current_state(
    rt: Runtime, actor: Actor, action: BulkAction, outcomes: list[BulkOutcome]
) -> list[BulkOutcome]:
    """Add each visible redemption's code and current status, and say what a retry led to.

    Without workers a retry runs its attempt at once, so by now it may be fulfilled, or in error
    again: a retry whose attempt failed again is not reported as a success.
    """
    ids = [o.redemption_id for o in outcomes]
    with rt.sessions() as s:
        rows = s.execute(
            select(
                Redemption.id,
                Redemption.brand_id,
                Redemption.code,
                Redemption.status,
                Redemption.error_code,
                Redemption.error_message,
                Redemption.error_fix,
            ).where(Redemption.id.in_(ids))
        ).all()
    seen = {row.id: row for row in rows if actor.sees_brand(row.brand_id)}
    out: list[BulkOutcome] = []
    for o in outcomes:
        row = seen.get(o.redemption_id)
        if row is None:
            out.append(replace(o, code=None, status=None))
            continue
        o = replace(o, code=row.code, status=row.status)
        if action == BulkAction.RETRY and o.ok:
            o = _retried(o, row.status, row.error_code, row.error_message, row.error_fix)
        out.append(o)
    return out


def _retried(
    o: BulkOutcome, status: str, error_code: str | None, error_message: str | None, error_fix: str | None
) -> BulkOutcome:
    if status == RedemptionStatus.FULFILLED:
        return replace(o, message="retried: the attempt succeeded and the order was placed")
    if status == RedemptionStatus.ERROR:
        return replace(
            o,
            ok=False,
            message="retried, but the attempt failed again: " + (error_message or error_code or "see the timeline"),
            error_code=error_code,
            fix=error_fix,
            failed_again=True,
        )
    return o
