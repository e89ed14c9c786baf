"""Rebates end to end through the core: a dollars-off program's redemptions owe rebates, the distributor batches
them into Distributor Rebate Credit Batches, marks them credited or declines rebates with a reason.

Each move is tried per role and per transition; every refused move names what is wrong and leaves every rebate
exactly as it was; a second distributor (and a second retailer) neither sees nor moves the first's rebates.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from connector.core.errors import IllegalTransitionError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import rebates as r
from connector.core.frequent_buyer.distribution import DistributionFilter
from connector.core.frequent_buyer.rebate_tables import Rebate, RebateBatch
from connector.core.frequent_buyer.tables import FbEvent, FreeGood
from tests.frequent_buyer.conftest import import_cards
from tests.frequent_buyer.rebate_fixtures import rebate_card, rebate_rows, seed_rebates


@pytest.fixture
def rw(rt, fb_world):
    return seed_rebates(rt, fb_world)


def _events(rt, subject_type, subject_id):
    with rt.sessions() as s:
        rows = s.scalars(
            select(FbEvent)
            .where(FbEvent.subject_type == subject_type, FbEvent.subject_id == subject_id)
            .order_by(FbEvent.id)
        )
        return [(e.event, e.from_status, e.to_status, e.actor) for e in rows]


# -- where rebates come from ------------------------------------------------------------------------------------


def test_a_dollars_off_program_s_redemptions_owe_rebates_not_free_goods(rt, fb_world, rw):
    with rt.sessions() as s:
        rebates = s.scalars(select(Rebate).order_by(Rebate.id)).all()
        assert s.scalar(select(FreeGood.id).where(FreeGood.program_id == rw.program_id)) is None
    assert len(rebates) == 4
    paws = [x for x in rebates if x.retailer_id == fb_world.retailer_id]
    assert {(x.amount, x.status, x.distributor_id, x.sku) for x in paws} == {
        (Decimal("5.00"), "unbatched", fb_world.distributor_id, "OFF-10")
    }


def test_importing_the_same_report_again_owes_no_rebate_twice(rt, fb_world, rw):
    from connector.core.access import Actor

    cards = [rebate_card(f"R-P{i}", name=f"Paws Customer {i}") for i in range(3)]
    summary = import_cards(
        rt, Actor.system("again"), fb_world.retailer_id, cards, filename="again.csv", sha256="x" * 64
    )
    assert summary.already_imported == 3 and summary.rebates_created == 0
    with rt.sessions() as s:
        assert len(s.scalars(select(Rebate.id)).all()) == 4


def test_a_free_good_program_still_owes_free_goods(rt, fb_world, actors):
    from tests.frequent_buyer.conftest import make_card

    summary = import_cards(rt, actors.platform_admin, fb_world.retailer_id, [make_card("FG-1")])
    assert (summary.free_goods_created, summary.rebates_created) == (1, 0)


def test_a_rebate_amount_must_be_a_positive_dollar_amount(rt, fb_world, actors):
    from connector.core.frequent_buyer import programs
    from connector.core.frequent_buyer.programs import ItemSpec

    for bad in ("0", "-1", "abc", "1.234"):
        with pytest.raises(ValidationError) as e:
            programs.create_program(
                rt, actors.platform_admin, brand_id=fb_world.brand_id, name=f"Bad {bad}", buy_quantity=2,
                rebate_amount=bad, items=[ItemSpec(sku="Z1", description="Z", size_value="1", size_unit="lb")],
            )  # fmt: skip
        assert "rebate_amount" in e.value.fields


# -- the distributor's moves ------------------------------------------------------------------------------------


def test_create_batch_then_mark_credited_moves_batch_and_rebates_with_events(rt, actors, rw):
    nw = actors.distributor
    batch = r.create_rebate_batch(rt, nw, rw.paws[:2], "  June rebates  ")
    assert (batch.status, batch.description, batch.rebates, batch.amount) == (
        "unfulfilled",
        "June rebates",
        2,
        Decimal("10.00"),
    )
    assert _events(rt, "rebate_batch", batch.id) == [("create", None, "unfulfilled", "test:nw")]
    assert _events(rt, "rebate", rw.paws[0]) == [("batch", "unbatched", "batched", "test:nw")]

    credited = r.mark_rebate_batch_credited(rt, nw, batch.id, "memo 77")
    assert credited.status == "fulfilled" and credited.credited_at is not None
    detail = r.get_rebate_batch(rt, nw, batch.id)
    assert {x.status for x in detail.rebates} == {"credited"}
    assert detail.events[-1].event == "fulfil" and detail.events[-1].detail == "memo 77"


def test_decline_with_a_reason_takes_a_rebate_out_of_its_batch_and_release_brings_it_back(rt, actors, rw):
    nw = actors.distributor
    batch = r.create_rebate_batch(rt, nw, rw.paws[:2], "June")
    moved = r.decline_rebates(rt, nw, [rw.paws[0]], "customer not in program")
    assert (moved.to_status, moved.batch_ids) == ("declined", [batch.id])
    assert r.get_rebate_batch(rt, nw, batch.id).batch.rebates == 1
    page = r.rebate_section(rt, nw, "declined-rebates")
    assert [(x.id, x.reason) for x in page.rebates] == [(rw.paws[0], "customer not in program")]
    r.release_rebates(rt, nw, [rw.paws[0]])
    assert r.rebate_section(rt, nw, "unbatched-rebates").count == 2


def test_unbatch_returns_a_rebate_from_an_unfulfilled_batch(rt, actors, rw):
    batch = r.create_rebate_batch(rt, actors.distributor, rw.paws, "June")
    r.unbatch_rebates(rt, actors.distributor, [rw.paws[2]])
    assert r.get_rebate_batch(rt, actors.distributor, batch.id).batch.rebates == 2


def test_a_decline_needs_a_reason(rt, actors, rw):
    before = rebate_rows(rt)
    with pytest.raises(ValidationError) as e:
        r.decline_rebates(rt, actors.distributor, [rw.paws[0]], "   ")
    assert "reason" in e.value.fields
    assert rebate_rows(rt) == before


@pytest.mark.parametrize(
    ("setup", "move", "says"),
    [
        # batching a rebate that is already in a batch
        (
            "batched",
            lambda rt, a, ids, b: r.create_rebate_batch(rt, a, ids[:1], "again"),
            "cannot batch rebates that are not unbatched",
        ),
        # crediting a batch twice
        (
            "credited",
            lambda rt, a, ids, b: r.mark_rebate_batch_credited(rt, a, b),
            "cannot fulfil a rebate credit batch that is fulfilled",
        ),
        # declining a credited rebate: the retailer has its credit
        (
            "credited",
            lambda rt, a, ids, b: r.decline_rebates(rt, a, ids[:1], "late"),
            "cannot decline rebates that are not",
        ),
        # unbatching an unbatched rebate
        (
            "none",
            lambda rt, a, ids, b: r.unbatch_rebates(rt, a, ids[:1]),
            "cannot unbatch rebates that are not batched",
        ),
        # releasing a rebate that was never declined
        (
            "none",
            lambda rt, a, ids, b: r.release_rebates(rt, a, ids[:1]),
            "cannot release rebates that are not declined",
        ),
    ],
    ids=["batch-batched", "credit-credited", "decline-credited", "unbatch-unbatched", "release-unbatched"],
)
def test_wrong_transitions_are_refused_with_a_clear_message_and_change_nothing(rt, actors, rw, setup, move, says):
    nw = actors.distributor
    batch_id = 0
    if setup in ("batched", "credited"):
        batch_id = r.create_rebate_batch(rt, nw, rw.paws[:1], "June").id
    if setup == "credited":
        r.mark_rebate_batch_credited(rt, nw, batch_id)
    before = rebate_rows(rt)
    with pytest.raises(IllegalTransitionError) as e:
        move(rt, nw, rw.paws, batch_id)
    assert says in e.value.message
    assert rebate_rows(rt) == before


def test_an_emptied_batch_cannot_be_marked_credited(rt, actors, rw):
    batch = r.create_rebate_batch(rt, actors.distributor, rw.paws[:1], "June")
    r.unbatch_rebates(rt, actors.distributor, rw.paws[:1])
    with pytest.raises(IllegalTransitionError, match="no rebates left"):
        r.mark_rebate_batch_credited(rt, actors.distributor, batch.id)
    with rt.sessions() as s:
        assert s.get(RebateBatch, batch.id).status == "unfulfilled"


def test_a_batch_is_for_one_retailer(rt, actors, rw):
    before = rebate_rows(rt)
    with pytest.raises(ValidationError, match="one retailer"):
        r.create_rebate_batch(rt, actors.platform_admin, [rw.paws[0], rw.bark[0]], "mixed")
    assert rebate_rows(rt) == before


# -- roles and tenants ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["support", "viewer", "brand_admin", "retailer"])
def test_roles_that_do_not_credit_cannot_move_rebates(rt, actors, rw, role):
    actor = getattr(actors, role)
    before = rebate_rows(rt)
    with pytest.raises(PermissionDeniedError):
        r.create_rebate_batch(rt, actor, rw.paws[:1], "x")
    with pytest.raises(PermissionDeniedError):
        r.decline_rebates(rt, actor, rw.paws[:1], "x")
    assert rebate_rows(rt) == before


def test_a_platform_admin_moves_any_distributor_s_rebates(rt, actors, rw):
    batch = r.create_rebate_batch(rt, actors.platform_admin, rw.bark, "Bark June")
    assert batch.distributor_id == actors.other_distributor.distributor_id


def test_a_second_distributor_neither_sees_nor_moves_the_first_s_rebates(rt, actors, rw):
    nw, columbia = actors.distributor, actors.other_distributor
    batch = r.create_rebate_batch(rt, nw, rw.paws[:2], "June")
    before = rebate_rows(rt)
    with pytest.raises(NotFoundError):
        r.create_rebate_batch(rt, columbia, rw.paws[2:], "steal")
    with pytest.raises(NotFoundError):
        r.mark_rebate_batch_credited(rt, columbia, batch.id)
    with pytest.raises(NotFoundError):
        r.decline_rebates(rt, columbia, rw.paws[:1], "x")
    with pytest.raises(NotFoundError):
        r.get_rebate_batch(rt, columbia, batch.id)
    assert rebate_rows(rt) == before
    assert [x.id for x in r.rebate_section(rt, columbia, "unbatched-rebates").rebates] == rw.bark
    assert r.rebate_section(rt, columbia, "unfulfilled-batches").count == 0
    assert r.retailer_rebate_batches(rt, columbia) == []


def test_retailers_see_their_own_rebate_credit_batches_only(rt, actors, rw):
    batch = r.create_rebate_batch(rt, actors.distributor, rw.paws[:2], "June")
    r.mark_rebate_batch_credited(rt, actors.distributor, batch.id)
    mine = r.retailer_rebate_batches(rt, actors.retailer)
    assert [(b.id, b.status, b.amount) for b in mine] == [(batch.id, "fulfilled", Decimal("10.00"))]
    assert r.retailer_rebate_batches(rt, actors.other_retailer) == []
    with pytest.raises(NotFoundError):
        r.get_rebate_batch(rt, actors.other_retailer, batch.id)
    with pytest.raises(PermissionDeniedError):  # the dashboard is the distributor's
        r.rebate_section(rt, actors.retailer, "unbatched-rebates")


def test_dashboard_counts_and_filters(rt, actors, fb_world, rw):
    r.create_rebate_batch(rt, actors.distributor, rw.paws[:1], "June")
    counts = r.rebate_section_counts(rt, actors.distributor)
    assert {k.value: v for k, v in counts.items()} == {
        "unbatched-rebates": 2, "unfulfilled-batches": 1, "fulfilled-batches": 0, "declined-rebates": 0,
    }  # fmt: skip
    everyone = r.rebate_section_counts(rt, actors.support, DistributionFilter(retailer_id=fb_world.other_retailer_id))
    assert everyone[r.RebateSection.UNBATCHED_REBATES] == 1
    with pytest.raises(ValidationError):
        r.rebate_section(rt, actors.distributor, "grouped")


# -- the two rebate reports -------------------------------------------------------------------------------------


def _report(rt, actor, name, **params):
    from connector.core.frequent_buyer.distribution_reports import ReportParams, run_report

    return run_report(rt, actor, name, ReportParams(**params)).rows


def test_search_rebate_fulfillment_finds_rebates_by_customer_status_and_batch(rt, actors, rw):
    batch = r.create_rebate_batch(rt, actors.distributor, rw.paws[:1], "June")
    rows = _report(rt, actors.distributor, "search-rebate-fulfillment")
    assert sorted(x["rebate_id"] for x in rows) == rw.paws
    assert {x["amount"] for x in rows} == {Decimal("5.00")}
    assert [
        x["rebate_id"] for x in _report(rt, actors.distributor, "search-rebate-fulfillment", customer="customer 2")
    ] == [rw.paws[2]]
    assert [
        x["rebate_id"] for x in _report(rt, actors.distributor, "search-rebate-fulfillment", status="batched")
    ] == rw.paws[:1]
    assert [x["batch"] for x in _report(rt, actors.distributor, "search-rebate-fulfillment", batch_id=batch.id)] == [
        "June"
    ]
    with pytest.raises(ValidationError) as e:
        _report(rt, actors.distributor, "search-rebate-fulfillment", status="held")
    assert "status" in e.value.fields


def test_rebate_credit_fulfillment_lists_credited_rebates_only_and_only_the_distributor_s_own(rt, actors, rw):
    nw, columbia = actors.distributor, actors.other_distributor
    batch = r.create_rebate_batch(rt, nw, rw.paws[:2], "June")
    assert _report(rt, nw, "rebate-credit-fulfillment") == []
    r.mark_rebate_batch_credited(rt, nw, batch.id)
    rows = _report(rt, nw, "rebate-credit-fulfillment")
    assert sorted(x["rebate_id"] for x in rows) == rw.paws[:2]
    assert all(x["credited_at"] is not None and x["batch_id"] == batch.id for x in rows)
    assert _report(rt, columbia, "rebate-credit-fulfillment") == []
    assert sorted(x["rebate_id"] for x in _report(rt, columbia, "search-rebate-fulfillment")) == rw.bark
    with pytest.raises(PermissionDeniedError):
        _report(rt, actors.retailer, "search-rebate-fulfillment")


def test_the_rebate_reports_stream_as_csv_with_their_header_and_rows(rt, actors, rw):
    from connector.core.frequent_buyer.distribution_reports import REPORTS, ReportName, report_csv

    batch = r.create_rebate_batch(rt, actors.distributor, rw.paws[:1], "June")
    r.mark_rebate_batch_credited(rt, actors.distributor, batch.id)
    for name, rows in ((ReportName.SEARCH_REBATE_FULFILLMENT, 3), (ReportName.REBATE_CREDIT_FULFILLMENT, 1)):
        lines = list(report_csv(rt, actors.distributor, name))
        assert lines[0].startswith('"Rebate ID","Status"'), lines[0]
        assert len(lines) == rows + 1 and len(REPORTS[name].columns) == lines[0].count('","') + 1


# -- nothing twice under concurrency (the row locks; PostgreSQL where available) ---------------------------------


def test_two_threads_batching_the_same_rebate_exactly_one_batch_gets_it(rt, actors, rw):
    from tests.frequent_buyer.test_distribution import _race

    nw = actors.distributor
    results = _race(2, lambda i: r.create_rebate_batch(rt, nw, [rw.paws[0], rw.paws[1 + i]], f"thread {i}"))
    won = [x for x in results if isinstance(x, r.RebateBatchView)]
    lost = [x for x in results if isinstance(x, IllegalTransitionError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].details["current"] == {str(rw.paws[0]): "batched"}
    loser_own = rw.paws[1 + (1 - results.index(won[0]))]
    with rt.sessions() as s:
        assert s.get(Rebate, loser_own).status == "unbatched"  # the loser changed nothing
        assert len(s.scalars(select(RebateBatch.id)).all()) == 1  # no orphan batch
    assert [e[0] for e in _events(rt, "rebate", rw.paws[0])] == ["batch"]


def test_three_threads_crediting_the_same_batch_record_one_credit(rt, actors, rw):
    from tests.frequent_buyer.test_distribution import _race

    batch = r.create_rebate_batch(rt, actors.distributor, rw.paws[:2], "June")
    results = _race(3, lambda i: r.mark_rebate_batch_credited(rt, actors.distributor, batch.id))
    assert sum(isinstance(x, r.RebateBatchView) for x in results) == 1
    assert sum(isinstance(x, IllegalTransitionError) for x in results) == 2
    assert [e[0] for e in _events(rt, "rebate_batch", batch.id)] == ["create", "fulfil"]
    assert [e[0] for e in _events(rt, "rebate", rw.paws[0])] == ["batch", "credit"]
