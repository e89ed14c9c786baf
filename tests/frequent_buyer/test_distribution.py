"""The distributor's moves on PostgreSQL: each with its event row, each illegal one refused with nothing changed.

Sections, scoping (a distributor never sees or moves another's free goods or batches),
taking a credit back from a fulfilled batch (until it is reconciled or grouped) and concurrency
(two threads batching the same free good: exactly one batch gets it; a decline racing the
retailer's reconcile: exactly one of them applies).
"""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from connector.core.errors import (
    ConnectorError,
    IllegalTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from connector.core.frequent_buyer import distribution as d
from connector.core.frequent_buyer.credit_status import credit_status, reconcilable_batches, reconcile_batch
from connector.core.frequent_buyer.distribution import DistributionFilter, Section
from connector.core.frequent_buyer.distribution_reports import ReportParams, run_report
from connector.core.frequent_buyer.model import CreditEvent, CreditStatus
from connector.core.frequent_buyer.model import RetailerCreditView as RV
from connector.core.frequent_buyer.tables import Batch, CreditGroup, FbEvent, FreeGood
from tests.frequent_buyer.distribution_fixtures import (
    batch_row,
    count,
    events,
    make_free_good,
    make_free_goods,
    snapshot,
    statuses,
)


def _event_tuples(rt, subject_type, subject_id):
    return [(e.event, e.from_status, e.to_status, e.actor, e.detail) for e in events(rt, subject_type, subject_id)]


# -- batch ------------------------------------------------------------------------------------------------------


def test_create_batch_moves_unbatched_free_goods_into_a_new_unfulfilled_batch_with_events(rt, m):
    ids = make_free_goods(rt, m, 2, unit_cost="12.50", quantity=2)
    view = d.create_batch(rt, m.north_user, ids, "  Week 23 Paws  ")

    assert view.status == "unfulfilled" and view.description == "Week 23 Paws"
    assert (view.retailer_id, view.distributor_id, view.created_by) == (m.paws, m.north, "north-clerk")
    assert (view.free_goods, view.quantity, view.approximate_cost, view.uncosted) == (2, 4, Decimal("50.00"), 0)
    assert statuses(rt, ids) == {i: ("batched", view.id) for i in ids}
    assert _event_tuples(rt, "batch", view.id) == [
        ("create", None, "unfulfilled", "north-clerk", f"Week 23 Paws; free goods {ids[0]}, {ids[1]}")
    ]
    for i in ids:
        assert _event_tuples(rt, "free_good", i) == [
            ("batch", "unbatched", "batched", "north-clerk", f"batch {view.id}: Week 23 Paws")
        ]


def test_create_batch_refuses_the_whole_call_naming_each_offending_id_and_status(rt, m):
    good, declined, batched = make_free_goods(rt, m, 3)
    d.decline(rt, m.north_user, [declined], "damaged bag")
    first = d.create_batch(rt, m.north_user, [batched], "first")
    before = snapshot(rt)

    with pytest.raises(IllegalTransitionError) as err:
        d.create_batch(rt, m.north_user, [good, declined, batched], "second")

    msg = err.value.message
    assert f"{declined} is declined" in msg and f"{batched} is batched (in batch {first.id})" in msg
    assert f"{good} is" not in msg  # the unbatched one is not named as offending
    assert err.value.details["current"] == {str(declined): "declined", str(batched): "batched"}
    assert err.value.status_code == 409
    assert snapshot(rt) == before  # no batch, no moves, no events


def test_create_batch_refuses_free_goods_of_two_retailers(rt, m):
    paws = make_free_good(rt, m, retailer="paws")
    kibble = make_free_good(rt, m, retailer="kibble")
    before = snapshot(rt)
    with pytest.raises(ValidationError) as err:
        d.create_batch(rt, m.north_user, [paws, kibble], "mixed")
    assert "one retailer" in err.value.message
    assert f"retailer {m.paws}: {paws}" in err.value.fields["free_good_ids"]
    assert f"retailer {m.kibble}: {kibble}" in err.value.fields["free_good_ids"]
    assert snapshot(rt) == before


@pytest.mark.parametrize(
    ("ids", "description", "field"),
    [
        ([], "x", "free_good_ids"),
        ([0], "x", "free_good_ids"),
        (["7"], "x", "free_good_ids"),
        ([True], "x", "free_good_ids"),
        (None, "   ", "description"),
        (None, "x" * 301, "description"),
        (None, "week\x00", "description"),
    ],
)
def test_create_batch_validates_its_input(rt, m, ids, description, field):
    good = make_free_good(rt, m)
    with pytest.raises(ValidationError) as err:
        d.create_batch(rt, m.north_user, [good] if ids is None else ids, description)
    assert field in err.value.fields
    assert statuses(rt, [good]) == {good: ("unbatched", None)}


def test_create_batch_refuses_a_direct_fulfilled_free_good_and_a_wrong_retailer(rt, m):
    direct = make_free_good(rt, m, direct=True)
    with pytest.raises(ValidationError) as err:
        d.create_batch(rt, m.admin, [direct], "direct")
    assert "no distributor" in err.value.fields["free_good_ids"]
    good = make_free_good(rt, m)
    with pytest.raises(ValidationError) as err:
        d.create_batch(rt, m.north_user, [good], "w", retailer_id=m.kibble)
    assert err.value.fields["retailer_id"] == f"the free goods belong to retailer {m.paws}, not {m.kibble}"
    assert count(rt, Batch) == 0 and count(rt, FbEvent) == 0


def test_add_to_batch_only_while_unfulfilled_and_only_the_batch_retailers_free_goods(rt, m):
    a, b, c = make_free_goods(rt, m, 3)
    other_retailer = make_free_good(rt, m, retailer="kibble")
    batch = d.create_batch(rt, m.north_user, [a], "week")
    view = d.add_to_batch(rt, m.north_user, batch.id, [b])
    assert view.free_goods == 2 and statuses(rt, [b]) == {b: ("batched", batch.id)}
    assert _event_tuples(rt, "batch", batch.id)[-1] == (
        "add",
        "unfulfilled",
        "unfulfilled",
        "north-clerk",
        f"free goods {b}",
    )
    assert _event_tuples(rt, "free_good", b) == [
        ("batch", "unbatched", "batched", "north-clerk", f"batch {batch.id}: week")
    ]

    before = snapshot(rt)
    with pytest.raises(ValidationError) as err:
        d.add_to_batch(rt, m.north_user, batch.id, [other_retailer])
    assert "retailer" in err.value.fields["retailer_id"]
    with pytest.raises(IllegalTransitionError) as err:
        d.add_to_batch(rt, m.north_user, batch.id, [a])  # already in it
    assert err.value.details["current"] == {str(a): "batched"}
    assert snapshot(rt) == before

    d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        d.add_to_batch(rt, m.north_user, batch.id, [c])
    assert err.value.details == {"current": "fulfilled", "event": "add"}
    assert snapshot(rt) == before


# -- unbatch, decline, hold, release ----------------------------------------------------------------------------


def test_unbatch_returns_free_goods_to_unbatched_and_records_it_on_both_timelines(rt, m):
    a, b = make_free_goods(rt, m, 2)
    batch = d.create_batch(rt, m.north_user, [a, b], "week")
    moved = d.unbatch(rt, m.north_user, [a], note="wrong week")
    assert (moved.event, moved.to_status, moved.free_good_ids, moved.batch_ids) == (
        "unbatch",
        "unbatched",
        [a],
        [batch.id],
    )
    assert statuses(rt, [a, b]) == {a: ("unbatched", None), b: ("batched", batch.id)}
    assert _event_tuples(rt, "free_good", a)[-1] == (
        "unbatch",
        "batched",
        "unbatched",
        "north-clerk",
        f"removed from batch {batch.id}: wrong week",
    )
    assert _event_tuples(rt, "batch", batch.id)[-1] == (
        "remove",
        "unfulfilled",
        "unfulfilled",
        "north-clerk",
        f"unbatch: free goods {a}; wrong week",
    )


def test_unbatch_is_refused_for_unbatched_and_grouped_free_goods(rt, m):
    # The old rule refused credited free goods too; now a credited one may be unbatched while its batch is only
    # fulfilled (see the take-back tests below), so the refusals left are unbatched and grouped free goods.
    loose, grouped = make_free_goods(rt, m, 2)
    batch = d.create_batch(rt, m.north_user, [grouped], "week")
    d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    group = d.group_for_mfg_credit(rt, m.north_user, [batch.id], "claim")
    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        d.unbatch(rt, m.north_user, [loose])
    assert err.value.details["current"] == {str(loose): "unbatched"}
    assert "only from" not in err.value.message and "not batched, credited" in err.value.message
    with pytest.raises(IllegalTransitionError) as err:
        d.unbatch(rt, m.north_user, [grouped])
    assert err.value.details["current"] == {str(grouped): "grouped"}
    assert f"batch {batch.id} is grouped for MFG credit (credit group {group.id})" in err.value.message
    assert snapshot(rt) == before


@pytest.mark.parametrize("move", ["decline", "hold"])
def test_decline_and_hold_from_unbatched_and_from_a_batch_with_a_reason(rt, m, move):
    loose, batched, stays = make_free_goods(rt, m, 3)
    batch = d.create_batch(rt, m.north_user, [batched, stays], "week")
    moved = getattr(d, move)(rt, m.north_user, [loose, batched], "  no receipt  ")
    target = {"decline": "declined", "hold": "held"}[move]
    assert moved.to_status == target and moved.batch_ids == [batch.id]
    assert statuses(rt, [loose, batched, stays]) == {
        loose: (target, None),
        batched: (target, None),
        stays: ("batched", batch.id),
    }
    assert _event_tuples(rt, "free_good", loose)[-1] == (move, "unbatched", target, "north-clerk", "no receipt")
    assert _event_tuples(rt, "free_good", batched)[-1] == (
        move,
        "batched",
        target,
        "north-clerk",
        f"removed from batch {batch.id}: no receipt",
    )
    assert _event_tuples(rt, "batch", batch.id)[-1][0] == "remove"
    assert d.get_free_good(rt, m.north_user, loose).free_good.reason == "no receipt"
    assert d.get_batch(rt, m.north_user, batch.id).batch.free_goods == 1


@pytest.mark.parametrize("move", ["decline", "hold"])
def test_decline_and_hold_need_a_reason(rt, m, move):
    good = make_free_good(rt, m)
    with pytest.raises(ValidationError) as err:
        getattr(d, move)(rt, m.north_user, [good], "   ")
    assert err.value.fields == {"reason": "must not be empty"}
    assert statuses(rt, [good]) == {good: ("unbatched", None)} and count(rt, FbEvent) == 0


def test_hold_a_credited_and_decline_or_hold_a_grouped_free_good_is_refused(rt, m):
    # Declining a credited free good is allowed now (while its batch is only fulfilled); holding it never is.
    good = make_free_good(rt, m)
    batch = d.create_batch(rt, m.north_user, [good], "week")
    d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        d.hold(rt, m.north_user, [good], "late")
    assert err.value.details["current"] == {str(good): "credited"}
    assert "not unbatched, batched:" in err.value.message
    assert snapshot(rt) == before
    d.group_for_mfg_credit(rt, m.north_user, [batch.id], "Q2 claim")
    before = snapshot(rt)
    for move in (d.decline, d.hold):
        with pytest.raises(IllegalTransitionError) as err:
            move(rt, m.north_user, [good], "late")
        assert err.value.details["current"] == {str(good): "grouped"}
    assert snapshot(rt) == before and before[0][0][1] == "grouped"


# -- taking a credit back from a fulfilled batch ----------------------------------------------------------------


@pytest.mark.parametrize(("move", "target"), [("unbatch", "unbatched"), ("decline", "declined")])
def test_a_credited_free_good_leaves_its_fulfilled_batch_with_events_and_totals_follow(rt, m, move, target):
    a, b = make_free_goods(rt, m, 2, unit_cost="10.00")
    batch = d.create_batch(rt, m.north_user, [a, b], "week")
    d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    why = "not on our credit memo"
    moved = d.unbatch(rt, m.north_user, [a], note=why) if move == "unbatch" else d.decline(rt, m.north_user, [a], why)

    assert (moved.event, moved.to_status, moved.free_good_ids, moved.batch_ids) == (move, target, [a], [batch.id])
    assert statuses(rt, [a, b]) == {a: (target, None), b: ("credited", batch.id)}
    assert _event_tuples(rt, "free_good", a)[-1] == (
        move,
        "credited",
        target,
        "north-clerk",
        f"removed from batch {batch.id}: {why}",
    )
    assert _event_tuples(rt, "batch", batch.id)[-1] == (
        "remove",
        "fulfilled",
        "fulfilled",
        "north-clerk",
        f"{move}: free goods {a}; {why}",
    )
    view = d.get_batch(rt, m.north_user, batch.id).batch
    assert (view.status, view.free_goods, view.approximate_cost) == ("fulfilled", 1, Decimal("10.00"))
    assert batch_row(rt, batch.id).fulfilled_at is not None  # the batch stays fulfilled, with its date
    # The retailer's credit status and the reports move the free good out of "credited" at once.
    report = credit_status(rt, m.paws_user)
    credited_ids = [line.free_good.id for line in report.views[RV.CREDITED]]
    moved_ids = [line.free_good.id for line in report.views[RV.UNCREDITED if move == "unbatch" else RV.DECLINED]]
    assert credited_ids == [b] and moved_ids == [a]
    credited_total = next(t for t in report.totals if t.view == RV.CREDITED)
    assert (credited_total.free_goods, credited_total.approximate_cost) == (1, Decimal("10.00"))
    history = run_report(rt, m.north_user, "free-goods-fulfillment-history", ReportParams()).rows
    assert [r["free_good_id"] for r in history] == [b]
    pending = run_report(rt, m.north_user, "free-goods-fulfillment", ReportParams()).rows
    assert [(r["free_good_id"], r["status"]) for r in pending] == [(a, target)]
    # Taken back, it goes round again like any other: (released and) batched into a new batch.
    if move == "decline":
        d.release(rt, m.north_user, [a])
    again = d.create_batch(rt, m.north_user, [a], "next week")
    assert statuses(rt, [a]) == {a: ("batched", again.id)}


def test_a_whole_call_is_refused_when_any_batch_was_reconciled_naming_the_batch_and_why(rt, m):
    open_good, reconciled_good = make_free_goods(rt, m, 2)
    still_open = d.create_batch(rt, m.north_user, [open_good], "open")
    confirmed = d.create_batch(rt, m.north_user, [reconciled_good], "confirmed")
    for batch in (still_open, confirmed):
        d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    reconcile_batch(rt, m.paws_user, confirmed.id)
    on = batch_row(rt, confirmed.id).reconciled_at
    before = snapshot(rt)
    for call in (
        lambda: d.decline(rt, m.north_user, [open_good, reconciled_good], "late"),
        lambda: d.unbatch(rt, m.north_user, [reconciled_good]),
    ):
        with pytest.raises(IllegalTransitionError) as err:
            call()
        assert err.value.message.endswith(
            f"batch {confirmed.id} was reconciled by the retailer on {on:%Y-%m-%d}; a credit the retailer has "
            "confirmed cannot be taken back here. Nothing was changed."
        )
        assert f"free good {reconciled_good}:" in err.value.message and str(open_good) not in err.value.message
        assert err.value.details["current"] == {str(reconciled_good): "credited"}
        assert err.value.details["batches"] == {str(confirmed.id): "reconciled"}
        assert err.value.status_code == 409
    assert snapshot(rt) == before  # not even the good in the open batch moved


def test_taking_back_from_a_grouped_batch_is_refused_naming_the_credit_group(rt, m):
    good = make_free_good(rt, m)
    batch = d.create_batch(rt, m.north_user, [good], "week")
    d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    group = d.group_for_mfg_credit(rt, m.north_user, [batch.id], "Acme claim")
    reconcile_batch(rt, m.paws_user, batch.id)  # grouped and reconciled: both reasons are named
    on = batch_row(rt, batch.id).reconciled_at
    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        d.decline(rt, m.north_user, [good], "late")
    assert err.value.message == (
        f"cannot decline free good {good}: batch {batch.id} was reconciled by the retailer on {on:%Y-%m-%d} and is "
        f"grouped for MFG credit (credit group {group.id}); a credit the retailer has confirmed or a credit claimed "
        "from the manufacturer cannot be taken back here. Nothing was changed."
    )
    assert snapshot(rt) == before


def test_the_conditional_update_refuses_a_credit_whose_batch_closed_under_it(rt, m):
    """The belt to the lock's braces: even if the checks were passed, the UPDATE itself will not move a credited
    free good whose batch was reconciled (or grouped) meanwhile."""
    good = make_free_good(rt, m)
    batch = d.create_batch(rt, m.north_user, [good], "week")
    d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    reconcile_batch(rt, m.paws_user, batch.id)
    before = snapshot(rt)
    with pytest.raises(ConnectorError) as err, rt.sessions() as s, s.begin():
        d._update_free_goods(
            s, [good], CreditEvent.DECLINE, CreditStatus.DECLINED, rt.now(), where=[d._leavable_batch()], batch_id=None
        )
    assert "changed while this decline was applied" in err.value.message
    assert snapshot(rt) == before


def test_an_emptied_fulfilled_batch_stays_but_cannot_be_grouped_or_reconciled(rt, m):
    a, b, other = make_free_goods(rt, m, 3)
    batch = d.create_batch(rt, m.north_user, [a, b], "emptied")
    full = d.create_batch(rt, m.north_user, [other], "full")
    for x in (batch, full):
        d.mark_batch_fulfilled(rt, m.north_user, x.id)
    d.unbatch(rt, m.north_user, [a])
    d.decline(rt, m.north_user, [b], "duplicate")

    view = d.get_batch(rt, m.north_user, batch.id).batch
    assert (view.status, view.free_goods, view.quantity, view.approximate_cost) == ("fulfilled", 0, 0, None)
    page = d.section(rt, m.north_user, Section.FULFILLED_BATCHES)
    assert {x.id: x.free_goods for x in page.batches} == {batch.id: 0, full.id: 1}
    assert [x.id for x in reconcilable_batches(rt, m.paws_user)] == [full.id]

    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        d.group_for_mfg_credit(rt, m.north_user, [batch.id, full.id], "claim")
    assert err.value.message == (
        f"cannot group batch {batch.id} for MFG credit: no free goods are left in it (each was unbatched or "
        "declined after the batch was fulfilled), so there is nothing to claim. Nothing was changed."
    )
    assert err.value.details == {"event": "group", "current": {str(batch.id): "fulfilled"}, "empty": [batch.id]}
    with pytest.raises(IllegalTransitionError) as err:
        reconcile_batch(rt, m.paws_user, batch.id)
    assert f"cannot reconcile batch {batch.id}: the distributor took every free good back out" in err.value.message
    assert err.value.details["current"] == "fulfilled" and err.value.details["empty"] is True
    assert snapshot(rt) == before and count(rt, CreditGroup) == 0
    # The full one still groups and reconciles on its own.
    d.group_for_mfg_credit(rt, m.north_user, [full.id], "claim")
    assert reconcile_batch(rt, m.paws_user, full.id).reconciled_at is not None


def test_release_puts_held_and_declined_back_to_unbatched_and_clears_the_reason(rt, m):
    held, declined, loose = make_free_goods(rt, m, 3)
    d.hold(rt, m.north_user, [held], "checking invoice")
    d.decline(rt, m.north_user, [declined], "duplicate")
    moved = d.release(rt, m.north_user, [held, declined], note="invoice found")
    assert moved.to_status == "unbatched"
    assert statuses(rt, [held, declined]) == {held: ("unbatched", None), declined: ("unbatched", None)}
    assert _event_tuples(rt, "free_good", held)[-1] == ("release", "held", "unbatched", "north-clerk", "invoice found")
    assert _event_tuples(rt, "free_good", declined)[-1][1:3] == ("declined", "unbatched")
    assert d.get_free_good(rt, m.north_user, held).free_good.reason is None

    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        d.release(rt, m.north_user, [loose])
    assert err.value.details["current"] == {str(loose): "unbatched"}
    assert snapshot(rt) == before


def test_batch_a_declined_free_good_is_refused_until_released(rt, m):
    good = make_free_good(rt, m)
    d.decline(rt, m.north_user, [good], "no proof")
    with pytest.raises(IllegalTransitionError):
        d.create_batch(rt, m.north_user, [good], "week")
    d.release(rt, m.north_user, [good])
    assert d.create_batch(rt, m.north_user, [good], "week").free_goods == 1


# -- fulfil and group -------------------------------------------------------------------------------------------


def test_fulfil_credits_every_free_good_of_the_batch_and_refuses_a_second_time(rt, m):
    a, b = make_free_goods(rt, m, 2)
    batch = d.create_batch(rt, m.north_user, [a, b], "week")
    view = d.mark_batch_fulfilled(rt, m.north_user, batch.id, note="credit memo CM-7")
    assert view.status == "fulfilled" and view.fulfilled_at is not None
    assert statuses(rt, [a, b]) == {a: ("credited", batch.id), b: ("credited", batch.id)}
    assert _event_tuples(rt, "batch", batch.id)[-1] == (
        "fulfil",
        "unfulfilled",
        "fulfilled",
        "north-clerk",
        "credit memo CM-7",
    )
    assert _event_tuples(rt, "free_good", a)[-1] == (
        "credit",
        "batched",
        "credited",
        "north-clerk",
        f"batch {batch.id} fulfilled: credit memo CM-7",
    )
    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    assert err.value.details == {"current": "fulfilled", "event": "fulfil"}
    assert snapshot(rt) == before


def test_an_empty_batch_cannot_be_fulfilled(rt, m):
    good = make_free_good(rt, m)
    batch = d.create_batch(rt, m.north_user, [good], "week")
    d.unbatch(rt, m.north_user, [good])
    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    assert "no free goods" in err.value.message and err.value.details["current"] == "unfulfilled"
    assert snapshot(rt) == before


def test_group_fulfilled_batches_for_mfg_credit(rt, m):
    a = make_free_good(rt, m, retailer="paws", unit_cost="10.00", quantity=2)
    b = make_free_good(rt, m, retailer="kibble", unit_cost="4.00")
    b1 = d.create_batch(rt, m.north_user, [a], "paws week")
    b2 = d.create_batch(rt, m.north_user, [b], "kibble week")
    for batch in (b1, b2):
        d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    group = d.group_for_mfg_credit(rt, m.north_user, [b2.id, b1.id], "Acme Q2 claim")
    assert group.batch_ids == [b1.id, b2.id] and group.description == "Acme Q2 claim"
    assert (group.free_goods, group.quantity, group.approximate_cost) == (2, 3, Decimal("24.00"))
    assert statuses(rt, [a, b]) == {a: ("grouped", b1.id), b: ("grouped", b2.id)}
    for batch in (b1, b2):
        row = batch_row(rt, batch.id)
        assert (row.status, row.credit_group_id) == ("grouped", group.id)
        assert _event_tuples(rt, "batch", batch.id)[-1] == (
            "group",
            "fulfilled",
            "grouped",
            "north-clerk",
            f"credit group {group.id}: Acme Q2 claim",
        )
    assert _event_tuples(rt, "free_good", a)[-1][:3] == ("group", "credited", "grouped")


def test_group_an_unfulfilled_or_already_grouped_batch_is_refused(rt, m):
    a, b = make_free_goods(rt, m, 2)
    open_batch = d.create_batch(rt, m.north_user, [a], "open")
    done = d.create_batch(rt, m.north_user, [b], "done")
    d.mark_batch_fulfilled(rt, m.north_user, done.id)
    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        d.group_for_mfg_credit(rt, m.north_user, [open_batch.id, done.id], "claim")
    assert err.value.details["current"] == {str(open_batch.id): "unfulfilled"}
    assert snapshot(rt) == before and count(rt, CreditGroup) == 0
    d.group_for_mfg_credit(rt, m.north_user, [done.id], "claim")
    with pytest.raises(IllegalTransitionError) as err:
        d.group_for_mfg_credit(rt, m.north_user, [done.id], "claim again")
    assert err.value.details["current"] == {str(done.id): "grouped"}
    assert count(rt, CreditGroup) == 1


def test_a_credit_group_belongs_to_one_distributor(rt, m):
    north_good = make_free_good(rt, m, retailer="paws")
    south_good = make_free_good(rt, m, retailer="southside")
    nb = d.create_batch(rt, m.admin, [north_good], "n")
    sb = d.create_batch(rt, m.admin, [south_good], "s")
    d.mark_batch_fulfilled(rt, m.admin, nb.id)
    d.mark_batch_fulfilled(rt, m.admin, sb.id)
    before = snapshot(rt)
    with pytest.raises(ValidationError) as err:
        d.group_for_mfg_credit(rt, m.admin, [nb.id, sb.id], "both")
    assert "one distributor" in err.value.message
    assert snapshot(rt) == before


# -- scoping ----------------------------------------------------------------------------------------------------


def test_a_distributor_cannot_see_or_move_another_distributors_free_goods_or_batches(rt, m):
    south_good = make_free_good(rt, m, retailer="southside")
    north_good = make_free_good(rt, m, retailer="paws")
    south_batch = d.create_batch(rt, m.south_user, [south_good], "south week")
    before = snapshot(rt)

    with pytest.raises(NotFoundError) as err:
        d.create_batch(rt, m.north_user, [north_good, south_good], "grab")
    assert err.value.message == f"free good {south_good} not found"
    for call in (
        lambda: d.get_batch(rt, m.north_user, south_batch.id),
        lambda: d.mark_batch_fulfilled(rt, m.north_user, south_batch.id),
        lambda: d.add_to_batch(rt, m.north_user, south_batch.id, [north_good]),
        lambda: d.unbatch(rt, m.north_user, [south_good]),
        lambda: d.decline(rt, m.north_user, [south_good], "mine now"),
        lambda: d.get_free_good(rt, m.north_user, south_good),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert snapshot(rt) == before
    assert d.section(rt, m.north_user, Section.UNFULFILLED_BATCHES).count == 0
    assert [g.id for g in d.section(rt, m.north_user, Section.UNBATCHED_FREE_GOODS).free_goods] == [north_good]
    # Asking for the other distributor by filter shows nothing either.
    other = DistributionFilter(distributor_id=m.south)
    assert d.section(rt, m.north_user, Section.UNFULFILLED_BATCHES, other).count == 0
    d.mark_batch_fulfilled(rt, m.south_user, south_batch.id)
    with pytest.raises(NotFoundError):
        d.group_for_mfg_credit(rt, m.north_user, [south_batch.id], "claim")


@pytest.mark.parametrize("who", ["support", "acme_admin", "paws_user"])
def test_only_distributors_and_platform_admins_move_free_goods(rt, m, who):
    good = make_free_good(rt, m)
    actor = getattr(m, who)
    for call in (
        lambda: d.create_batch(rt, actor, [good], "x"),
        lambda: d.decline(rt, actor, [good], "x"),
        lambda: d.hold(rt, actor, [good], "x"),
        lambda: d.release(rt, actor, [good]),
        lambda: d.unbatch(rt, actor, [good]),
        lambda: d.mark_batch_fulfilled(rt, actor, 1),
        lambda: d.group_for_mfg_credit(rt, actor, [1], "x"),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    assert statuses(rt, [good]) == {good: ("unbatched", None)}


def test_readers_see_within_their_scope(rt, m):
    acme_good = make_free_good(rt, m, sku="ACME-5LB")
    zeta_good = make_free_good(rt, m, sku="ZETA-3LB")
    south_good = make_free_good(rt, m, retailer="southside")
    mixed = d.create_batch(rt, m.north_user, [acme_good, zeta_good], "mixed brands")

    def unbatched(actor):
        return sorted(g.id for g in d.section(rt, actor, Section.UNBATCHED_FREE_GOODS).free_goods)

    assert unbatched(m.support) == [south_good]
    assert unbatched(m.admin) == [south_good]
    page = d.section(rt, m.acme_admin, Section.UNFULFILLED_BATCHES)
    # The brand admin sees the batch holding its goods, with totals over its own goods only.
    assert [(b.id, b.free_goods) for b in page.batches] == [(mixed.id, 1)]
    assert [g.id for g in d.get_batch(rt, m.acme_admin, mixed.id).free_goods] == [acme_good]
    assert d.get_batch(rt, m.north_user, mixed.id).batch.free_goods == 2
    with pytest.raises(NotFoundError):
        d.get_free_good(rt, m.acme_admin, zeta_good)
    with pytest.raises(PermissionDeniedError):
        d.section(rt, m.paws_user, Section.UNBATCHED_FREE_GOODS)
    # The retailer sees its own batch (for reconciliation), not another retailer's.
    assert d.get_batch(rt, m.paws_user, mixed.id).batch.id == mixed.id
    with pytest.raises(NotFoundError):
        d.get_batch(rt, m.kibble_user, mixed.id)


# -- sections ---------------------------------------------------------------------------------------------------


def test_sections_hold_what_distributors_expect_with_counts(rt, m):
    unbatched = make_free_good(rt, m)
    in_open, in_done, in_grouped, held, declined = make_free_goods(rt, m, 5)
    open_batch = d.create_batch(rt, m.north_user, [in_open], "open")
    done = d.create_batch(rt, m.north_user, [in_done], "done")
    grouped = d.create_batch(rt, m.north_user, [in_grouped], "grouped")
    d.mark_batch_fulfilled(rt, m.north_user, done.id)
    d.mark_batch_fulfilled(rt, m.north_user, grouped.id)
    group = d.group_for_mfg_credit(rt, m.north_user, [grouped.id], "claim")
    d.hold(rt, m.north_user, [held], "why")
    d.decline(rt, m.north_user, [declined], "why")

    counts = d.section_counts(rt, m.north_user)
    assert counts == {
        Section.UNBATCHED_FREE_GOODS: 1,
        Section.UNFULFILLED_BATCHES: 1,
        Section.FULFILLED_BATCHES: 1,
        Section.BATCHES_GROUPED_FOR_MFG_CREDIT: 1,
        Section.DECLINED_HELD_CREDITS: 2,
    }
    assert d.section(rt, m.north_user, "unbatched-free-goods").free_goods[0].id == unbatched
    assert d.section(rt, m.north_user, "unfulfilled-batches").batches[0].id == open_batch.id
    assert d.section(rt, m.north_user, "fulfilled-batches").batches[0].id == done.id
    page = d.section(rt, m.north_user, "batches-grouped-for-mfg-credit")
    assert page.title == "Batches Grouped for MFG Credit" and page.kind == "batches"
    assert (page.batches[0].id, page.batches[0].credit_group_id, page.batches[0].credit_group_description) == (
        grouped.id,
        group.id,
        "claim",
    )
    dh = d.section(rt, m.north_user, "declined-held-credits")
    assert {(g.id, g.status, g.reason) for g in dh.free_goods} == {(held, "held", "why"), (declined, "declined", "why")}
    with pytest.raises(ValidationError) as err:
        d.section(rt, m.north_user, "new-rewards")
    assert "unbatched-free-goods" in err.value.fields["name"]


def test_sections_filter_by_retailer_brand_program_and_date_and_page_by_keyset(rt, m):
    june = [make_free_good(rt, m, redeemed_on=date(2026, 6, day)) for day in (1, 2, 3, 4, 5)]
    zeta = make_free_good(rt, m, sku="ZETA-3LB", redeemed_on=date(2026, 6, 3))
    kibble = make_free_good(rt, m, retailer="kibble", redeemed_on=date(2026, 7, 1))

    def ids(f=None, **kw):
        return [g.id for g in d.section(rt, m.north_user, Section.UNBATCHED_FREE_GOODS, f, **kw).free_goods]

    assert ids(DistributionFilter(retailer_id=m.kibble)) == [kibble]
    assert ids(DistributionFilter(brand_id=m.zeta)) == [zeta]
    assert ids(DistributionFilter(program_id=m.acme_dog, retailer_id=m.paws)) == list(reversed(june))
    assert ids(DistributionFilter(date_from=date(2026, 6, 2), date_to=date(2026, 6, 3))) == [zeta, june[2], june[1]]
    with pytest.raises(ValidationError):
        ids(DistributionFilter(date_from=date(2026, 6, 5), date_to=date(2026, 6, 1)))

    seen, cursor, pages = [], None, 0
    while True:
        page = d.section(rt, m.north_user, Section.UNBATCHED_FREE_GOODS, limit=3, cursor=cursor)
        assert page.count == 7
        seen += [g.id for g in page.free_goods]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3 and seen == sorted([*june, zeta, kibble], reverse=True)
    with pytest.raises(ValidationError):
        d.section(rt, m.north_user, Section.UNFULFILLED_BATCHES, cursor=d.encode_cursor("unbatched-free-goods", 5))

    b1 = d.create_batch(rt, m.north_user, [june[0], zeta], "mixed")
    b2 = d.create_batch(rt, m.north_user, [kibble], "kibble")
    zeta_only = d.section(rt, m.north_user, Section.UNFULFILLED_BATCHES, DistributionFilter(brand_id=m.zeta))
    assert [(b.id, b.free_goods) for b in zeta_only.batches] == [(b1.id, 1)] and zeta_only.count == 1
    by_retailer = d.section(rt, m.north_user, Section.UNFULFILLED_BATCHES, DistributionFilter(retailer_id=m.kibble))
    assert [b.id for b in by_retailer.batches] == [b2.id]


def test_free_good_rows_show_cost_from_the_snapshot_or_the_price_list(rt, m):
    snap = make_free_good(rt, m, sku="ACME-5LB", unit_cost="12.50", quantity=2)
    priced = make_free_good(rt, m, sku="ZETA-3LB", quantity=3)  # Paws' price list: 7.25
    blank = make_free_good(rt, m, sku="ACME-15LB")
    rows = {g.id: g for g in d.section(rt, m.north_user, Section.UNBATCHED_FREE_GOODS).free_goods}
    assert (rows[snap].unit_cost, rows[snap].approximate_cost) == (Decimal("12.50"), Decimal("25.00"))
    assert (rows[priced].unit_cost, rows[priced].approximate_cost) == (Decimal("7.25"), Decimal("21.75"))
    assert (rows[blank].unit_cost, rows[blank].approximate_cost) == (None, None)
    view = d.create_batch(rt, m.north_user, [snap, priced, blank], "costs")
    assert (view.approximate_cost, view.uncosted, view.quantity) == (Decimal("46.75"), 1, 6)
    g = rows[snap]
    assert (g.retailer_name, g.location_name, g.brand_name, g.customer_name) == (
        "Paws & Claws",
        "Paws Main St",
        "Acme Pets",
        "Ada Lovelace",
    )


# -- concurrency ------------------------------------------------------------------------------------------------


def _race(n, work):
    """Run ``work(i)`` in ``n`` threads released together; returns each one's result or exception."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_threads_batching_the_same_free_good_exactly_one_batch_gets_it(rt, m):
    for _ in range(5):  # a few rounds: the race is real, so give it several chances to go wrong
        shared = make_free_good(rt, m)
        own = make_free_goods(rt, m, 2)
        results = _race(
            2, lambda i, shared=shared, own=own: d.create_batch(rt, m.north_user, [shared, own[i]], f"thread {i}")
        )
        won = [r for r in results if isinstance(r, d.BatchView)]
        lost = [r for r in results if isinstance(r, ConnectorError)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], IllegalTransitionError) and lost[0].details["current"] == {str(shared): "batched"}
        assert statuses(rt, [shared])[shared] == ("batched", won[0].id)
        assert won[0].free_goods == 2
        loser_own = own[1 - results.index(won[0])]
        assert statuses(rt, [loser_own])[loser_own] == ("unbatched", None)  # the loser changed nothing
        assert [e.event for e in events(rt, "free_good", shared)] == ["batch"]
    assert count(rt, Batch) == 5  # no orphan batch from a losing call


def test_concurrent_fulfil_and_decline_of_the_same_batch_never_leave_a_half_move(rt, m):
    for _ in range(5):
        a, b = make_free_goods(rt, m, 2)
        batch = d.create_batch(rt, m.north_user, [a, b], "race")
        results = _race(
            2,
            lambda i, batch=batch, a=a: (
                d.mark_batch_fulfilled(rt, m.north_user, batch.id)
                if i == 0
                else d.decline(rt, m.north_user, [a], "late")
            ),
        )
        assert isinstance(results[0], d.BatchView), results
        # Both orders succeed now: the decline went first (fulfil credited b alone), or fulfil went first and
        # the decline took a back from the (not yet reconciled) fulfilled batch. Either way a is declined once.
        assert isinstance(results[1], d.Moved), results
        assert statuses(rt, [a, b]) == {a: ("declined", None), b: ("credited", batch.id)}
        assert [e.event for e in events(rt, "free_good", a)] in (["batch", "decline"], ["batch", "credit", "decline"])
        assert [e.event for e in events(rt, "batch", batch.id)].count("fulfil") == 1


def test_two_threads_fulfilling_the_same_batch_record_one_fulfil(rt, m):
    good = make_free_good(rt, m)
    batch = d.create_batch(rt, m.north_user, [good], "race")
    results = _race(3, lambda i: d.mark_batch_fulfilled(rt, m.north_user, batch.id))
    assert sum(isinstance(r, d.BatchView) for r in results) == 1
    assert sum(isinstance(r, IllegalTransitionError) for r in results) == 2
    assert [e.event for e in events(rt, "batch", batch.id)] == ["create", "fulfil"]
    assert [e.event for e in events(rt, "free_good", good)] == ["batch", "credit"]


def test_batching_calls_that_all_started_before_any_finished_still_give_the_free_good_to_one_batch(rt, m):
    """Deterministic form of the race: every caller is already waiting on the row when the row is freed."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("row locks are a PostgreSQL behaviour; SQLite serialises whole transactions")
    shared = make_free_good(rt, m)
    with rt.engine.connect() as blocker:
        blocker.execute(select(FreeGood.id).where(FreeGood.id == shared).with_for_update())
        results: list[object] = [None] * 3

        def run(i):
            try:
                results[i] = d.create_batch(rt, m.north_user, [shared], f"waiting {i}")
            except Exception as exc:  # noqa: BLE001 - asserted on below
                results[i] = exc

        threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while _lock_waiters(rt) < 3:  # all three are inside create_batch, queued behind the blocker
            assert time.monotonic() < deadline, "the callers never queued on the row lock"
            time.sleep(0.02)
        blocker.rollback()
    for t in threads:
        t.join(30)
    won = [r for r in results if isinstance(r, d.BatchView)]
    assert len(won) == 1, results
    assert all(isinstance(r, IllegalTransitionError) for r in results if r is not won[0])
    assert statuses(rt, [shared])[shared] == ("batched", won[0].id)
    assert count(rt, Batch) == 1 and [e.event for e in events(rt, "free_good", shared)] == ["batch"]


def test_a_decline_racing_the_retailers_reconcile_exactly_one_wins(rt, m):
    """Both calls are queued on the batch's row lock before it is freed; whichever goes first, the other is
    refused: a credit is never both declined and reconciled."""
    if rt.engine.dialect.name != "postgresql":
        pytest.skip("row locks are a PostgreSQL behaviour; SQLite serialises whole transactions")
    outcomes = set()
    for _ in range(4):
        good = make_free_good(rt, m)
        batch = d.create_batch(rt, m.north_user, [good], "race")
        d.mark_batch_fulfilled(rt, m.north_user, batch.id)
        results: list[object] = [None, None]

        def run(i, good=good, batch_id=batch.id, results=results):
            try:
                if i == 0:
                    results[i] = d.decline(rt, m.north_user, [good], "not on our invoices")
                else:
                    results[i] = reconcile_batch(rt, m.paws_user, batch_id, "memo CM-1")
            except Exception as exc:  # noqa: BLE001 - asserted on below
                results[i] = exc

        with rt.engine.connect() as blocker:
            blocker.execute(select(Batch.id).where(Batch.id == batch.id).with_for_update())
            threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 20
            while _lock_waiters(rt) < 2:
                assert time.monotonic() < deadline, "the calls never queued on the batch's row lock"
                time.sleep(0.02)
            blocker.rollback()
        for t in threads:
            t.join(30)
        declined, reconciled = results
        row = batch_row(rt, batch.id)
        batch_events = [e.event for e in events(rt, "batch", batch.id)]
        if isinstance(declined, d.Moved):
            assert isinstance(reconciled, IllegalTransitionError) and "took every free good back" in reconciled.message
            assert statuses(rt, [good]) == {good: ("declined", None)} and row.reconciled_at is None
            assert batch_events == ["create", "fulfil", "remove"]
            outcomes.add("decline")
        else:
            assert isinstance(declined, IllegalTransitionError), results
            assert "was reconciled by the retailer" in declined.message
            assert isinstance(reconciled, d.BatchView) and row.reconciled_at is not None
            assert statuses(rt, [good]) == {good: ("credited", batch.id)}
            assert batch_events == ["create", "fulfil", "reconcile"]
            assert [e.event for e in events(rt, "free_good", good)] == ["batch", "credit"]
            outcomes.add("reconcile")
    assert outcomes  # which one wins is up to the database; that exactly one does is the point


def _lock_waiters(rt) -> int:
    with rt.engine.connect() as c:
        return int(
            c.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


# -- CLI --------------------------------------------------------------------------------------------------------


def _cli(rt, tmp_path, *args):
    from click.testing import CliRunner

    from connector.commands.distribution import distribution

    env = {"CONNECTOR_DATABASE_URL": rt.settings.database_url, "CONNECTOR_DATA_DIR": str(tmp_path)}
    return CliRunner().invoke(distribution, list(args), env=env, catch_exceptions=False)


def test_cli_batch_fulfil_and_refusals(rt, m, tmp_path):
    a, b = make_free_goods(rt, m, 2)
    south = make_free_good(rt, m, retailer="southside")
    north = str(m.north)
    made = _cli(
        rt,
        tmp_path,
        "batch",
        "--distributor",
        north,
        "--retailer",
        str(m.paws),
        "--description",
        "CLI week",
        str(a),
        str(b),
    )
    assert made.exit_code == 0, made.output
    batch_id = int(made.output.split()[1])
    assert made.output == f"batch {batch_id} (CLI week): 2 free goods, unfulfilled\n"
    assert events(rt, "batch", batch_id)[0].actor.startswith("cli:")

    stolen = _cli(
        rt, tmp_path, "batch", "--distributor", north, "--retailer", str(m.southside), "--description", "x", str(south)
    )
    assert stolen.exit_code != 0 and f"free good {south} not found" in stolen.output
    done = _cli(rt, tmp_path, "fulfil", str(batch_id), "--distributor", north, "--note", "CM-9")
    assert done.exit_code == 0 and "2 free goods credited" in done.output
    again = _cli(rt, tmp_path, "fulfil", str(batch_id), "--distributor", north)
    assert again.exit_code != 0 and "(current: fulfilled)" in again.output
    counts = _cli(rt, tmp_path, "sections", "--distributor", north)
    assert "Fulfilled Batches\t1" in counts.output and "Unbatched Free Goods\t0" in counts.output
    declined = _cli(rt, tmp_path, "decline", str(south), "--reason", "no proof")  # as platform admin
    assert declined.exit_code == 0 and f"free goods {south} are now declined" in declined.output
    no_reason = _cli(rt, tmp_path, "hold", str(south))
    assert no_reason.exit_code != 0 and "--reason" in no_reason.output
