"""In-store redemption (Checkout): lookup, add, punches, progress, redeem — per role, per denial, never twice."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from connector.core.access import Actor, check_scope
from connector.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import checkout, programs
from connector.core.frequent_buyer.checkout_tables import CardPunch
from connector.core.frequent_buyer.pos_ingest import approve_quality_check
from connector.core.frequent_buyer.tables import Customer, FbEvent, FreeGood, PosRedemption, PosReport
from connector.core.model import Role
from connector.core.tables import Base
from tests.frequent_buyer.checkout_fixtures import TODAY, set_up_counter
from tests.frequent_buyer.checkout_fixtures import punch as scan
from tests.frequent_buyer.conftest import import_cards, make_card

FB_TABLES = [t for t in Base.metadata.sorted_tables if t.name.startswith("fb_")]
KIBBLE = "Acme Kibble Buy 10 Get 1"


def fb_counts(rt) -> dict[str, int]:
    with rt.sessions() as s:
        return {t.name: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in FB_TABLES}


@pytest.fixture
def counter(rt, fb_world):
    return set_up_counter(rt, fb_world)


# -- the cashier role ---------------------------------------------------------------------------------------


def test_a_cashier_belongs_to_one_retailer():
    with pytest.raises(ValidationError) as exc:
        check_scope(Role.CASHIER, brand_id=None, distributor_id=None, retailer_id=None)
    assert exc.value.fields == {"retailer": "a cashier user belongs to one retailer: give its id"}
    check_scope(Role.CASHIER, brand_id=None, distributor_id=None, retailer_id=1)
    cashier = Actor("c", Role.CASHIER, retailer_id=1)
    assert cashier.is_cashier and cashier.is_party and not cashier.sees_brand(1)


# -- lookup and add -----------------------------------------------------------------------------------------


def test_lookup_by_name_phone_or_email_exact_and_prefix_within_the_retailer(rt, fb_world, counter):
    cashier = counter.cashier
    checkout.add_customer(rt, cashier, name="Danielle Park", email="dp@example.com")
    checkout.add_customer(rt, cashier, name="Sam Dana", phone="2065550300")

    def names(q: str, actor: Actor = cashier) -> list[str]:
        return [c.name for c in checkout.find_customers(rt, actor, q)]

    assert names("Dana Smith") == ["Dana Smith"]  # exact
    assert names("dan") == ["Dana Smith", "Danielle Park", "Sam Dana"]  # a name, or a word of it, starting so
    assert names("Dana") == ["Dana Smith", "Sam Dana"]
    assert names("206-555-01") == ["Dana Smith"]  # phone prefix, as digits
    assert names("(206) 555-0101") == ["Dana Smith"]  # exact phone however typed
    assert names("dana@ex") == ["Dana Smith"]  # email prefix, any case
    assert names("%a") == [] and names("_a") == []  # wildcards are letters here, not patterns
    # Bark Avenue's Dana is never found from Paws Corner's counter, nor Paws Corner's from Bark's.
    assert "Dana Jones" not in names("dana") and names("503555") == []
    assert names("dana", counter.other_cashier) == ["Dana Jones"]


def test_lookup_needs_two_characters(rt, fb_world, counter):
    with pytest.raises(ValidationError) as exc:
        checkout.find_customers(rt, counter.cashier, " d ")
    assert exc.value.fields == {"q": "type 2 to 200 characters of a name, phone number or email"}


def test_add_customer_names_every_bad_field_and_stores_nothing(rt, fb_world, counter):
    before = fb_counts(rt)
    with pytest.raises(ValidationError) as exc:
        checkout.add_customer(rt, counter.cashier, name=" ", phone="12", email="not-an-email")
    assert exc.value.fields == {
        "name": "the pet owner's name, as the cashier would search for it",
        "phone": "7 to 15 digits (got 2), like 303-555-0142",
        "email": "an email address like ana@example.com",
    }
    with pytest.raises(ValidationError) as exc:
        checkout.add_customer(rt, counter.cashier, name="Lee")
    assert exc.value.fields == {
        "phone": "give a phone number, an email or a customer id, so the POS reports find this customer too"
    }
    with pytest.raises(ValidationError) as exc:
        checkout.add_customer(rt, counter.cashier, name="Dana S.", phone="+1 206 555 0101", email="DANA@example.com")
    assert exc.value.fields == {
        "phone": f"already on customer 'Dana Smith' (id {counter.dana_id}); look them up instead",
        "email": f"already on customer 'Dana Smith' (id {counter.dana_id}); look them up instead",
    }
    assert fb_counts(rt) == before
    # The same phone at another retailer is another retailer's customer: allowed.
    added = checkout.add_customer(rt, counter.other_cashier, name="Dana Smith", phone="2065550101")
    assert (added.retailer_id, added.phone, added.email) == (fb_world.other_retailer_id, "2065550101", None)


def test_a_customer_added_at_the_counter_is_the_one_a_pos_report_maps_to(rt, fb_world, counter):
    summary = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [make_card("C1", phone="2065550101")])
    assert (summary.customers_matched, summary.customers_created) == (1, 0)
    with rt.sessions() as s:
        assert s.scalar(select(PosRedemption.customer_id)) == counter.dana_id


# -- punches and progress -----------------------------------------------------------------------------------


def test_punches_show_progress_and_the_rules_say_what_is_missing(rt, fb_world, counter):
    progress = scan(rt, counter.cashier, counter.dana_id, "KIB-4", 4)
    assert (progress.program_name, progress.punched, progress.buy_quantity, progress.eligible) == (KIBBLE, 4, 10, False)
    assert progress.denial_reason == "insufficient_purchase_quantity"
    assert progress.denial_detail == f"purchased 4 of 10 required (program {KIBBLE!r})"
    progress = scan(rt, counter.cashier, counter.dana_id, "012345000157", 6)  # by UPC: KIB-15
    assert (progress.punched, progress.eligible) == (10, True)
    # Free goods no larger than the smallest purchase (4 lb) and of the same dimension: the rules decide.
    assert [c.sku for c in progress.choices] == ["KIB-4"]
    cards = checkout.customer_cards(rt, counter.cashier, counter.dana_id)
    assert [(c.program_id, c.punched) for c in cards.cards] == [(fb_world.kibble_id, 10)]


def test_a_scan_of_an_item_the_store_does_not_run_records_nothing(rt, fb_world, counter):
    before = fb_counts(rt)
    for item in ("WT-5", "NOPE-1"):  # Wild Taste: Paws Corner is not enrolled; NOPE-1: in no program
        with pytest.raises(ValidationError) as exc:
            scan(rt, counter.cashier, counter.dana_id, item, 1)
        assert exc.value.fields == {
            "item": f"{item!r} is in none of your enrolled programs: scan or type an item of one"
        }
    with pytest.raises(ValidationError) as exc:
        scan(rt, counter.cashier, counter.dana_id, "KIB-4", 0)
    assert exc.value.fields == {"quantity": "a whole number from 1 to 999"}
    assert fb_counts(rt) == before


def test_a_retried_scan_punches_once(rt, fb_world, counter):
    first, replayed = checkout.record_purchase(rt, counter.cashier, counter.dana_id, item="KIB-4", idempotency_key="s1")
    again, replayed_again = checkout.record_purchase(
        rt, counter.cashier, counter.dana_id, item="KIB-4", idempotency_key="s1"
    )
    assert (first.punched, replayed, again.punched, replayed_again) == (1, False, 1, True)
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CardPunch)) == 1


# -- redeem: the same free good as a POS report ---------------------------------------------------------------


def _free_good(rt, redemption_id: int) -> FreeGood:
    with rt.sessions() as s:
        return s.scalars(select(FreeGood).where(FreeGood.pos_redemption_id == redemption_id)).one()


def _events(rt, redemption_id: int) -> list[tuple[str, str | None, str | None]]:
    with rt.sessions() as s:
        rows = s.scalars(
            select(FbEvent)
            .where(FbEvent.subject_type == "pos_redemption", FbEvent.subject_id == redemption_id)
            .order_by(FbEvent.id)
        )
        return [(e.event, e.from_status, e.to_status) for e in rows]


def test_redeem_makes_the_same_free_good_as_a_pos_report_of_the_card(rt, fb_world, counter):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 10, location_id=fb_world.store_001_id)
    done = checkout.redeem(
        rt,
        counter.cashier,
        counter.dana_id,
        program_id=fb_world.kibble_id,
        free_item_id=fb_world.items["KIB-4"],
        location_id=fb_world.store_001_id,
        idempotency_key="visit-1",
    )
    assert (done.status, done.program_name, done.sku, done.quantity, done.replayed) == (
        "processed",
        KIBBLE,
        "KIB-4",
        1,
        False,
    )
    assert done.distributor_id == fb_world.distributor_id and done.redeemed_on == TODAY
    assert done.cards == ()  # the punches were used up

    reported = import_cards(
        rt, fb_world.actors.retailer, fb_world.retailer_id, [make_card("POS-1", redeemed_on=TODAY, phone="2065550177")]
    )
    assert reported.processed == 1
    with rt.sessions() as s:
        pos_id = s.scalar(select(PosRedemption.id).where(PosRedemption.pos_key == "POS-1"))
    counter_good, pos_good = _free_good(rt, done.redemption_id), _free_good(rt, pos_id)
    same = [
        "retailer_id",
        "location_id",
        "distributor_id",
        "brand_id",
        "program_id",
        "fulfilment_type",
        "sku",
        "upc",
        "description",
        "quantity",
        "size_value",
        "size_unit",
        "redeemed_on",
        "unit_cost",
        "status",
        "batch_id",
        "reason",
    ]
    assert {f: getattr(counter_good, f) for f in same} == {f: getattr(pos_good, f) for f in same}
    assert counter_good.unit_cost is not None and counter_good.status == "unbatched"
    assert counter_good.customer_id == counter.dana_id
    assert _events(rt, done.redemption_id) == _events(rt, pos_id)
    # The day's counter redemptions are one "Checkout" report on the retailer's dashboard.
    with rt.sessions() as s:
        report = s.get(PosReport, done.report_id)
        assert (report.format, report.filename, report.row_count) == ("checkout", f"Checkout {TODAY}", 1)


def test_a_double_click_redeems_once(rt, fb_world, counter):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 10)
    args = {"program_id": fb_world.kibble_id, "free_item_id": fb_world.items["KIB-4"], "idempotency_key": "k-1"}
    first = checkout.redeem(rt, counter.cashier, counter.dana_id, **args)
    after_first = fb_counts(rt)
    second = checkout.redeem(rt, counter.cashier, counter.dana_id, **args)
    assert second.replayed and (second.redemption_id, second.free_good_id) == (first.redemption_id, first.free_good_id)
    assert fb_counts(rt) == after_first and after_first["fb_free_goods"] == 1
    # The same key for another reward is a mistake, not a new redemption.
    with pytest.raises(ConflictError):
        checkout.redeem(rt, counter.cashier, counter.dana_id, **{**args, "free_item_id": fb_world.items["KIB-15"]})
    # A second key for the same card finds its punches used: denied, not paid twice.
    with pytest.raises(checkout.RedemptionDenied) as exc:
        checkout.redeem(rt, counter.cashier, counter.dana_id, **{**args, "idempotency_key": "k-2"})
    assert exc.value.reason == "insufficient_purchase_quantity"
    assert fb_counts(rt) == after_first


def test_punches_beyond_one_card_stay_on_the_next_card(rt, fb_world, counter):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 13)
    done = checkout.redeem(
        rt, counter.cashier, counter.dana_id, program_id=fb_world.kibble_id, free_item_id=fb_world.items["KIB-4"]
    )
    assert [(c.program_id, c.punched, c.eligible) for c in done.cards] == [(fb_world.kibble_id, 3, False)]


# -- denials: the rules' reasons, nothing stored -------------------------------------------------------------


def _denied(rt, actor, customer_id, **kw) -> checkout.RedemptionDenied:
    before = fb_counts(rt)
    with pytest.raises(checkout.RedemptionDenied) as exc:
        checkout.redeem(rt, actor, customer_id, **kw)
    assert fb_counts(rt) == before
    return exc.value


def test_denied_for_too_few_purchases(rt, fb_world, counter):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 9)
    denial = _denied(
        rt, counter.cashier, counter.dana_id, program_id=fb_world.kibble_id, free_item_id=fb_world.items["KIB-4"]
    )
    assert (denial.reason, denial.detail) == (
        "insufficient_purchase_quantity",
        f"purchased 9 of 10 required (program {KIBBLE!r})",
    )


def test_denied_for_a_free_good_larger_than_the_smallest_purchase(rt, fb_world, counter):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 10)
    denial = _denied(
        rt, counter.cashier, counter.dana_id, program_id=fb_world.kibble_id, free_item_id=fb_world.items["KIB-28"]
    )
    assert denial.reason == "ineligible_free_good_size"
    assert denial.detail == (
        "free good 'Acme Kibble 28 lb' (28 lb) is larger than the smallest purchase 'Acme Kibble 4 lb' (4 lb)"
    )


def test_denied_once_the_enrollment_has_ended(rt, fb_world, counter):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 10)
    programs.end_enrollment(rt, fb_world.actors.retailer, fb_world.kibble_enrollment_id)
    denial = _denied(
        rt, counter.cashier, counter.dana_id, program_id=fb_world.kibble_id, free_item_id=fb_world.items["KIB-4"]
    )
    assert denial.reason == "ineligible_program"
    assert denial.detail.startswith(f"the store's enrollment in program {KIBBLE!r} ended on ")


def test_a_program_needing_quality_check_waits_there_as_an_uploaded_card_would(rt, fb_world, counter):
    scan(rt, counter.cashier, counter.dana_id, "TRT-8OZ", 5)
    done = checkout.redeem(
        rt, counter.cashier, counter.dana_id, program_id=fb_world.treats_id, free_item_id=fb_world.items["TRT-8OZ"]
    )
    assert (done.status, done.free_good_id, done.distributor_id) == ("quality_check", None, None)
    result = approve_quality_check(rt, fb_world.actors.support, pos_redemption_ids=[done.redemption_id])
    assert list(result.processed_ids) == [done.redemption_id]
    assert _free_good(rt, done.redemption_id).fulfilment_type == "direct"


def test_a_free_good_from_another_program_is_a_field_error(rt, fb_world, counter):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 10)
    with pytest.raises(ValidationError) as exc:
        checkout.redeem(
            rt, counter.cashier, counter.dana_id, program_id=fb_world.kibble_id, free_item_id=fb_world.items["WT-5"]
        )
    assert exc.value.fields == {"free_item_id": f"pick the reward from program {KIBBLE!r}'s list"}


# -- roles and tenants --------------------------------------------------------------------------------------


def test_another_retailers_cashier_cannot_see_or_redeem_for_our_customers(rt, fb_world, counter):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 10)
    before = fb_counts(rt)
    bark = counter.other_cashier
    with pytest.raises(NotFoundError):
        checkout.customer_cards(rt, bark, counter.dana_id)
    with pytest.raises(NotFoundError):
        checkout.record_purchase(rt, bark, counter.dana_id, item="KIB-4")
    with pytest.raises(NotFoundError):
        checkout.redeem(rt, bark, counter.dana_id, program_id=fb_world.kibble_id, free_item_id=fb_world.items["KIB-4"])
    with pytest.raises(NotFoundError):  # naming our retailer does not help either
        checkout.find_customers(rt, bark, "dana", retailer_id=fb_world.retailer_id)
    assert fb_counts(rt) == before
    assert checkout.customer_cards(rt, counter.cashier, counter.dana_id).cards[0].punched == 10


@pytest.mark.parametrize("role", ["viewer", "distributor", "brand_admin", "other_distributor"])
def test_roles_without_a_counter_are_refused(rt, fb_world, counter, role):
    actor = getattr(fb_world.actors, role)
    before = fb_counts(rt)
    calls = [
        lambda: checkout.find_customers(rt, actor, "dana", retailer_id=fb_world.retailer_id),
        lambda: checkout.add_customer(rt, actor, name="X", phone="2065550999", retailer_id=fb_world.retailer_id),
        lambda: checkout.customer_cards(rt, actor, counter.dana_id, retailer_id=fb_world.retailer_id),
        lambda: checkout.record_purchase(rt, actor, counter.dana_id, item="KIB-4", retailer_id=fb_world.retailer_id),
        lambda: checkout.redeem(
            rt,
            actor,
            counter.dana_id,
            program_id=fb_world.kibble_id,
            free_item_id=fb_world.items["KIB-4"],
            retailer_id=fb_world.retailer_id,
        ),
    ]
    for call in calls:
        with pytest.raises(PermissionDeniedError):
            call()
    assert fb_counts(rt) == before


def test_the_retailer_and_support_ring_up_too(rt, fb_world, counter):
    assert [c.id for c in checkout.find_customers(rt, fb_world.actors.retailer, "dana")] == [counter.dana_id]
    with pytest.raises(ValidationError) as exc:
        checkout.find_customers(rt, fb_world.actors.support, "dana")
    assert exc.value.fields == {"retailer_id": "support acts for one retailer: give its id"}
    found = checkout.find_customers(rt, fb_world.actors.support, "dana", retailer_id=fb_world.other_retailer_id)
    assert [c.id for c in found] == [counter.other_dana_id]
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 2


def _race(n, work):
    """Run ``work(i)`` in ``n`` threads released together; each one's result or exception."""
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


@pytest.mark.parametrize("same_key", [True, False])
def test_two_presses_at_the_same_moment_give_one_free_good(rt, fb_world, counter, same_key):
    scan(rt, counter.cashier, counter.dana_id, "KIB-4", 10)
    args = {"program_id": fb_world.kibble_id, "free_item_id": fb_world.items["KIB-4"]}
    results = _race(
        2,
        lambda i: checkout.redeem(
            rt, counter.cashier, counter.dana_id, idempotency_key="same" if same_key else f"key-{i}", **args
        ),
    )
    done = [r for r in results if isinstance(r, checkout.CheckoutRedemption)]
    assert fb_counts(rt)["fb_free_goods"] == 1
    if same_key:  # the second answers the first's redemption
        assert len(done) == 2 and {r.redemption_id for r in done} == {done[0].redemption_id}
        assert sorted(r.replayed for r in done) == [False, True]
    else:  # the second finds the punches used
        [denied] = [r for r in results if isinstance(r, checkout.RedemptionDenied)]
        assert len(done) == 1 and denied.reason == "insufficient_purchase_quantity"


def test_the_core_shows_a_cashier_no_free_goods_even_if_a_page_let_it_ask(rt, fb_world, counter):
    """The console and the API refuse a cashier everything but Checkout; the core's read scopes are the backstop."""
    from connector.core.frequent_buyer.credit_status import credit_status

    import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [make_card("C1")])
    report = credit_status(rt, counter.cashier, retailer_id=fb_world.retailer_id)
    assert all(not lines for lines in report.views.values())
    assert any(credit_status(rt, fb_world.actors.retailer).views.values())
