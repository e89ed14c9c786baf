"""The retailer's Distributor Free Goods Credit Status and reconciling a credited batch, on PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from connector.core.errors import (
    ConflictError,
    IllegalTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from connector.core.frequent_buyer import distribution as d
from connector.core.frequent_buyer.credit_status import credit_status, reconcilable_batches, reconcile_batch
from connector.core.frequent_buyer.model import RetailerCreditView as RV
from tests.frequent_buyer.distribution_fixtures import (
    batch_row,
    events,
    make_free_good,
    snapshot,
)
from tests.reliability.concurrency import release_together


def _ids(report, view):
    return sorted(line.free_good.id for line in report.views[view])


def test_credit_status_groups_free_goods_as_the_retailer_sees_them(rt, m):
    unbatched = make_free_good(rt, m)
    batched = make_free_good(rt, m)
    held = make_free_good(rt, m)
    credited = make_free_good(rt, m)
    grouped = make_free_good(rt, m)
    reconciled = make_free_good(rt, m)
    declined = make_free_good(rt, m)
    make_free_good(rt, m, direct=True)  # direct-fulfilled: not a distributor credit
    make_free_good(rt, m, retailer="kibble")  # another retailer's
    d.create_batch(rt, m.north_user, [batched], "open")
    d.hold(rt, m.north_user, [held], "checking")
    d.decline(rt, m.north_user, [declined], "no proof of purchase")
    b_credited = d.create_batch(rt, m.north_user, [credited], "credited")
    b_grouped = d.create_batch(rt, m.north_user, [grouped], "grouped")
    b_reconciled = d.create_batch(rt, m.north_user, [reconciled], "reconciled")
    for b in (b_credited, b_grouped, b_reconciled):
        d.mark_batch_fulfilled(rt, m.north_user, b.id)
    d.group_for_mfg_credit(rt, m.north_user, [b_grouped.id], "claim")
    reconcile_batch(rt, m.paws_user, b_reconciled.id)

    report = credit_status(rt, m.paws_user)
    assert report.retailer_id == m.paws
    assert _ids(report, RV.UNCREDITED) == sorted([unbatched, batched, held])
    assert _ids(report, RV.CREDITED) == sorted([credited, grouped])
    assert _ids(report, RV.RECONCILED) == [reconciled]
    assert _ids(report, RV.DECLINED) == [declined]
    assert report.views[RV.DECLINED][0].free_good.reason == "no proof of purchase"
    assert [t.view for t in report.totals] == [RV.UNCREDITED, RV.CREDITED, RV.RECONCILED, RV.DECLINED]
    assert [t.free_goods for t in report.totals] == [3, 2, 1, 1]


def test_credit_status_approximate_cost_and_totals_per_distributor_and_brand(rt, m):
    make_free_good(rt, m, sku="ACME-5LB", unit_cost="12.50", quantity=2)  # snapshot cost: 25.00
    make_free_good(rt, m, sku="ZETA-3LB", quantity=3)  # price list 7.25: 21.75
    make_free_good(rt, m, sku="ACME-15LB")  # no cost known: blank
    report = credit_status(rt, m.paws_user)
    lines = {line.free_good.sku: line.free_good for line in report.views[RV.UNCREDITED]}
    assert lines["ACME-5LB"].approximate_cost == Decimal("25.00")
    assert (lines["ZETA-3LB"].unit_cost, lines["ZETA-3LB"].approximate_cost) == (Decimal("7.25"), Decimal("21.75"))
    assert (lines["ACME-15LB"].unit_cost, lines["ACME-15LB"].approximate_cost) == (None, None)

    uncredited = report.totals[0]
    assert (uncredited.free_goods, uncredited.quantity, uncredited.approximate_cost, uncredited.uncosted) == (
        3,
        6,
        Decimal("46.75"),
        1,
    )
    assert report.totals[1].approximate_cost is None and report.totals[1].free_goods == 0  # blank, not 0.00
    breakdown = {(t.view, t.distributor_name, t.brand_name): t for t in report.totals_by_distributor_brand}
    acme = breakdown[(RV.UNCREDITED, "North Pet Supply", "Acme Pets")]
    zeta = breakdown[(RV.UNCREDITED, "North Pet Supply", "Zeta Foods")]
    assert (acme.free_goods, acme.quantity, acme.approximate_cost, acme.uncosted) == (2, 3, Decimal("25.00"), 1)
    assert (zeta.free_goods, zeta.quantity, zeta.approximate_cost, zeta.uncosted) == (1, 3, Decimal("21.75"), 0)
    assert (acme.distributor_id, acme.brand_id) == (m.north, m.acme)


def test_credit_status_filters_and_scope(rt, m):
    june = make_free_good(rt, m, redeemed_on=date(2026, 6, 10))
    july = make_free_good(rt, m, redeemed_on=date(2026, 7, 10), sku="ZETA-3LB")
    in_july = credit_status(rt, m.paws_user, date_from=date(2026, 7, 1), date_to=date(2026, 7, 31))
    assert _ids(in_july, RV.UNCREDITED) == [july]
    assert _ids(credit_status(rt, m.paws_user, brand_id=m.acme), RV.UNCREDITED) == [june]
    assert _ids(credit_status(rt, m.admin, retailer_id=m.paws), RV.UNCREDITED) == sorted([june, july])
    assert _ids(credit_status(rt, m.acme_admin, retailer_id=m.paws), RV.UNCREDITED) == [june]  # its brand only
    assert _ids(credit_status(rt, m.south_user, retailer_id=m.paws), RV.UNCREDITED) == []  # not its free goods
    with pytest.raises(NotFoundError):
        credit_status(rt, m.kibble_user, retailer_id=m.paws)
    with pytest.raises(ValidationError) as err:
        credit_status(rt, m.support)
    assert "retailer_id" in err.value.fields
    with pytest.raises(ValidationError):
        credit_status(rt, m.paws_user, date_from=date(2026, 7, 2), date_to=date(2026, 7, 1))


# -- reconcile --------------------------------------------------------------------------------------------------


def _fulfilled_batch(rt, m, retailer="paws"):
    good = make_free_good(rt, m, retailer=retailer)
    batch = d.create_batch(rt, m.north_user, [good], f"{retailer} week")
    d.mark_batch_fulfilled(rt, m.north_user, batch.id)
    return batch, good


def test_reconcile_a_credited_batch_once_with_its_event(rt, m):
    batch, good = _fulfilled_batch(rt, m)
    assert [b.id for b in reconcilable_batches(rt, m.paws_user)] == [batch.id]
    view = reconcile_batch(rt, m.paws_user, batch.id, note="memo CM-7 received")
    assert view.reconciled_by == "paws-manager" and view.reconciled_at is not None
    assert view.status == "fulfilled"  # reconciling does not move the batch
    reconcile_events = [e for e in events(rt, "batch", batch.id) if e.event == "reconcile"]
    assert [(e.from_status, e.to_status, e.actor, e.detail) for e in reconcile_events] == [
        ("fulfilled", "fulfilled", "paws-manager", "memo CM-7 received")
    ]
    assert reconcilable_batches(rt, m.paws_user) == []

    before = snapshot(rt)
    with pytest.raises(ConflictError) as err:
        reconcile_batch(rt, m.paws_user, batch.id)
    assert "already reconciled by paws-manager" in err.value.message
    assert err.value.details["reconciled_by"] == "paws-manager"
    assert snapshot(rt) == before  # no second event
    assert _ids(credit_status(rt, m.paws_user), RV.RECONCILED) == [good]


def test_reconcile_a_grouped_batch_but_never_an_unfulfilled_one(rt, m):
    grouped, _ = _fulfilled_batch(rt, m)
    d.group_for_mfg_credit(rt, m.north_user, [grouped.id], "claim")
    assert reconcile_batch(rt, m.paws_user, grouped.id).reconciled_at is not None

    open_batch = d.create_batch(rt, m.north_user, [make_free_good(rt, m)], "open")
    before = snapshot(rt)
    with pytest.raises(IllegalTransitionError) as err:
        reconcile_batch(rt, m.paws_user, open_batch.id)
    assert err.value.details == {"current": "unfulfilled", "event": "reconcile"}
    assert snapshot(rt) == before


def test_a_retailer_cannot_reconcile_another_retailers_batch_and_parties_that_do_not_reconcile(rt, m):
    batch, _ = _fulfilled_batch(rt, m, retailer="paws")
    before = snapshot(rt)
    with pytest.raises(NotFoundError) as err:
        reconcile_batch(rt, m.kibble_user, batch.id)
    assert err.value.message == f"batch {batch.id} not found"
    for actor in (m.north_user, m.support, m.acme_admin):
        with pytest.raises(PermissionDeniedError):
            reconcile_batch(rt, actor, batch.id)
    assert snapshot(rt) == before
    assert reconcilable_batches(rt, m.kibble_user) == []
    view = reconcile_batch(rt, m.admin, batch.id, note="on the retailer's behalf")
    assert view.reconciled_by == "platform-admin"


def test_concurrent_reconciles_record_one_event(rt, m):
    batch, _ = _fulfilled_batch(rt, m)
    results = [o.error or o.value for o in release_together([lambda: reconcile_batch(rt, m.paws_user, batch.id)] * 3)]
    assert sum(isinstance(r, d.BatchView) for r in results) == 1
    assert sum(isinstance(r, ConflictError) for r in results) == 2
    assert [e.event for e in events(rt, "batch", batch.id)].count("reconcile") == 1
    assert batch_row(rt, batch.id).reconciled_by == "paws-manager"
