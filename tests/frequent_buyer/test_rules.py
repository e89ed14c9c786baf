"""Program rules: every denial reason with its exact detail, the precedence, and how a program is found.

The rule book is loaded from the database (``load_rule_book``, as an import does), then the
pure ``evaluate_card`` judges each card; a few cases the use cases cannot set up (an enrollment
without a distributor) use a hand-built book.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.model import DenialReason, FulfilmentType
from connector.core.frequent_buyer.pos_ingest import load_rule_book
from connector.core.frequent_buyer.rules import (
    Denied,
    Passed,
    RuleBook,
    RuleEnrollment,
    RuleItem,
    RuleProgram,
    evaluate_card,
)
from connector.core.frequent_buyer.units import (
    IncomparableSizesError,
    UnknownUnitError,
    canonical_unit,
    compare,
    make_size,
)
from tests.frequent_buyer.conftest import make_card

KIBBLE = "'Acme Kibble Buy 10 Get 1'"


def judge(rt, world, card, retailer_id=None):
    with rt.sessions() as s:
        book = load_rule_book(s, retailer_id or world.retailer_id, [card])
    return evaluate_card(card, book)


def denied(rt, world, card, reason: DenialReason) -> str:
    outcome = judge(rt, world, card)
    assert isinstance(outcome, Denied), outcome
    assert outcome.reason == reason, outcome
    return outcome.detail


# -- passing --------------------------------------------------------------------------------------------


def test_a_complete_card_passes_for_the_enrolled_distributor(rt, fb_world):
    outcome = judge(rt, fb_world, make_card())
    assert isinstance(outcome, Passed)
    assert outcome.program.id == fb_world.kibble_id and outcome.brand_id == fb_world.brand_id
    assert outcome.distributor_id == fb_world.distributor_id
    assert outcome.free_item.id == fb_world.items["KIB-4"] and outcome.free_quantity == 1
    assert [item.id for _, item in outcome.purchases] == [fb_world.items["KIB-4"]]


def test_direct_programs_pass_without_a_distributor(rt, fb_world):
    outcome = judge(rt, fb_world, make_card(purchases=[("TRT-16OZ", 5)], free=[("TRT-8OZ", 1)]))
    assert isinstance(outcome, Passed)
    assert outcome.program.id == fb_world.treats_id and outcome.distributor_id is None


def test_items_are_found_by_upc_whatever_the_sku_and_leading_zeros(rt, fb_world):
    card = make_card(purchases=[("POS-LOCAL-SKU", 10, "12345000041")], free=[("kib-4 ", 1)])
    outcome = judge(rt, fb_world, card)
    assert isinstance(outcome, Passed) and outcome.purchases[0][1].id == fb_world.items["KIB-4"]


def test_the_program_code_on_the_card_is_matched_case_insensitively(rt, fb_world):
    outcome = judge(rt, fb_world, make_card(program_code="  acme-kibble "))
    assert isinstance(outcome, Passed) and outcome.program.id == fb_world.kibble_id


def test_a_smaller_free_good_in_another_unit_passes(rt, fb_world):
    # 4 lb = 1.81 kg: smaller than the 2 kg bags bought.
    outcome = judge(rt, fb_world, make_card(purchases=[("KIB-2KG", 10)], free=[("KIB-4", 1)]))
    assert isinstance(outcome, Passed)


def test_a_card_redeemed_before_its_enrollment_ended_still_passes(rt, fb_world):
    programs.end_enrollment(rt, fb_world.actors.retailer, fb_world.kibble_enrollment_id)
    yesterday = rt.now().date() - timedelta(days=1)
    assert isinstance(judge(rt, fb_world, make_card(redeemed_on=yesterday)), Passed)


# -- one test per denial reason ----------------------------------------------------------------------------


def test_insufficient_purchase_quantity(rt, fb_world):
    card = make_card(purchases=[("KIB-4", 4), ("KIB-15", 3)], free=[("KIB-4", 1)])
    detail = denied(rt, fb_world, card, DenialReason.INSUFFICIENT_PURCHASE_QUANTITY)
    assert detail == f"purchased 7 of 10 required (program {KIBBLE})"


def test_insufficient_purchase_quantity_counts_x_per_y_free_goods(rt, fb_world):
    card = make_card(purchases=[("KIB-4", 15)], free=[("KIB-4", 2)])
    detail = denied(rt, fb_world, card, DenialReason.INSUFFICIENT_PURCHASE_QUANTITY)
    assert detail == f"purchased 15 of 20 required for 2 free goods (program {KIBBLE})"


def test_ineligible_program_when_not_enrolled(rt, fb_world):
    card = make_card(purchases=[("WT-5", 8)], free=[("WT-5", 1)])
    detail = denied(rt, fb_world, card, DenialReason.INELIGIBLE_PROGRAM)
    assert detail == "the store is not enrolled in program 'Wild Taste Buy 8 Get 1'"


def test_ineligible_program_when_the_enrollment_ended(rt, fb_world):
    programs.end_enrollment(rt, fb_world.actors.retailer, fb_world.kibble_enrollment_id)
    today = rt.now().date()
    detail = denied(rt, fb_world, make_card(redeemed_on=today), DenialReason.INELIGIBLE_PROGRAM)
    assert detail == (
        f"the store's enrollment in program {KIBBLE} ended on {today.isoformat()}; "
        f"the card was redeemed on {today.isoformat()}"
    )


def test_ineligible_program_when_redeemed_outside_the_program_dates(rt, fb_world):
    card = make_card(purchases=[("TRT-8OZ", 5)], free=[("TRT-8OZ", 1)], redeemed_on=date(2027, 1, 5))
    detail = denied(rt, fb_world, card, DenialReason.INELIGIBLE_PROGRAM)
    assert (
        detail == "redeemed on 2027-01-05, outside program 'Acme Treats Buy 5 Get 1' dates (2026-01-01 to 2026-12-31)"
    )
    before = make_card(redeemed_on=date(2025, 12, 31))
    assert denied(rt, fb_world, before, DenialReason.INELIGIBLE_PROGRAM) == (
        f"redeemed on 2025-12-31, outside program {KIBBLE} dates (2026-01-01 to no end date)"
    )


def test_ineligible_program_when_the_card_names_an_unknown_program(rt, fb_world):
    detail = denied(rt, fb_world, make_card(program_code="STORE-CLUB-12"), DenialReason.INELIGIBLE_PROGRAM)
    assert detail == (
        "no program has the code 'STORE-CLUB-12' named on the card; "
        "the POS program must use the code of a program the store is enrolled in"
    )


def test_ineligible_program_when_a_distributor_program_has_no_distributor():
    item = RuleItem(1, 1, "KIB-4", None, "Kibble 4 lb", make_size(4, "lb"))
    program = RuleProgram(1, 1, "Acme", "Kibble", "K", 1, 1, FulfilmentType.DISTRIBUTOR, items=(item,))
    book = RuleBook([program], [RuleEnrollment(program_id=1, distributor_id=None)])
    outcome = evaluate_card(make_card(purchases=[("KIB-4", 1)]), book)
    assert isinstance(outcome, Denied) and outcome.reason == DenialReason.INELIGIBLE_PROGRAM
    assert outcome.detail == "no distributor is chosen for program 'Kibble' (a distributor-fulfilled program)"


def test_multiple_brands_on_card(rt, fb_world):
    card = make_card(purchases=[("KIB-4", 5), ("WT-5", 5)], free=[("KIB-4", 1)])
    detail = denied(rt, fb_world, card, DenialReason.MULTIPLE_BRANDS_ON_CARD)
    assert detail == (
        "the card mixes 2 brands: 'Acme Pets' (purchase 'Acme Kibble 4 lb' (SKU KIB-4) and free good "
        "'Acme Kibble 4 lb' (SKU KIB-4)) and 'Wild Taste' (purchase 'Wild Taste 5 lb' (SKU WT-5))"
    )


def test_item_not_in_program_for_a_purchase(rt, fb_world):
    card = make_card(purchases=[("KIB-4", 10), ("MYSTERY-1", 1)])
    detail = denied(rt, fb_world, card, DenialReason.ITEM_NOT_IN_PROGRAM)
    assert detail == f"purchase 'MYSTERY-1' (SKU MYSTERY-1) is not in program {KIBBLE}"


def test_item_not_in_program_for_a_free_good_of_the_same_brand(rt, fb_world):
    card = make_card(purchases=[("KIB-4", 5), ("KIB-15", 5)], free=[("TRT-8OZ", 1)])
    detail = denied(rt, fb_world, card, DenialReason.ITEM_NOT_IN_PROGRAM)
    assert detail == f"free good 'Acme Treats 8 oz' (SKU TRT-8OZ) is not in program {KIBBLE}"


def test_item_not_in_program_when_no_program_holds_any_item(rt, fb_world):
    card = make_card(purchases=[("CAT-1", 10)], free=[("CAT-2", 1)])
    detail = denied(rt, fb_world, card, DenialReason.ITEM_NOT_IN_PROGRAM)
    assert (
        detail
        == "no program holds any item on the card: purchase 'CAT-1' (SKU CAT-1) and free good 'CAT-2' (SKU CAT-2)"
    )


def test_ineligible_free_good_size(rt, fb_world):
    card = make_card(purchases=[("KIB-4", 5), ("KIB-28", 5)], free=[("KIB-28", 1)])
    detail = denied(rt, fb_world, card, DenialReason.INELIGIBLE_FREE_GOOD_SIZE)
    assert (
        detail == "free good 'Acme Kibble 28 lb' (28 lb) is larger than the smallest purchase 'Acme Kibble 4 lb' (4 lb)"
    )


def test_ineligible_free_good_size_across_units(rt, fb_world):
    card = make_card(purchases=[("KIB-4", 10)], free=[("KIB-2KG", 1)])
    detail = denied(rt, fb_world, card, DenialReason.INELIGIBLE_FREE_GOOD_SIZE)
    assert (
        detail == "free good 'Acme Kibble 2 kg' (2 kg) is larger than the smallest purchase 'Acme Kibble 4 lb' (4 lb)"
    )


def test_ineligible_free_good_size_when_a_count_meets_a_weight(rt, fb_world):
    card = make_card(purchases=[("KIB-4", 10)], free=[("KIB-SAMPLE", 1)])
    detail = denied(rt, fb_world, card, DenialReason.INELIGIBLE_FREE_GOOD_SIZE)
    assert detail == (
        "cannot compare sizes: free good 'Acme Kibble Sample 6 ct' (6 ct) is a count but purchase "
        "'Acme Kibble 4 lb' (4 lb) is a weight; keep separate cards for items sold by count and by size"
    )


# -- precedence -----------------------------------------------------------------------------------------


def test_precedence_multiple_brands_before_everything(rt, fb_world):
    # Also an unknown item, too few purchases and a too-large free good.
    card = make_card(purchases=[("KIB-4", 2), ("WT-5", 1), ("MYSTERY-1", 1)], free=[("KIB-28", 1)])
    denied(rt, fb_world, card, DenialReason.MULTIPLE_BRANDS_ON_CARD)


def test_precedence_item_not_in_program_before_ineligible_program(rt, fb_world):
    # Wild Taste: not enrolled, and one item unknown.
    card = make_card(purchases=[("WT-5", 8), ("MYSTERY-1", 1)], free=[("WT-5", 1)])
    denied(rt, fb_world, card, DenialReason.ITEM_NOT_IN_PROGRAM)


def test_precedence_ineligible_program_before_quantity(rt, fb_world):
    card = make_card(purchases=[("WT-5", 3)], free=[("WT-15", 1)])
    denied(rt, fb_world, card, DenialReason.INELIGIBLE_PROGRAM)


def test_precedence_quantity_before_size(rt, fb_world):
    card = make_card(purchases=[("KIB-4", 5)], free=[("KIB-28", 1)])
    denied(rt, fb_world, card, DenialReason.INSUFFICIENT_PURCHASE_QUANTITY)


def test_a_card_of_another_brand_than_the_named_program_is_items_not_in_program(rt, fb_world):
    # Named kibble, but everything on it is Wild Taste: one brand, so not "mixing"; the items are the problem.
    card = make_card(program_code="ACME-KIBBLE", purchases=[("WT-5", 8)], free=[("WT-5", 1)])
    detail = denied(rt, fb_world, card, DenialReason.ITEM_NOT_IN_PROGRAM)
    assert detail == (
        f"purchase 'Wild Taste 5 lb' (SKU WT-5) and free good 'Wild Taste 5 lb' (SKU WT-5) are not in program {KIBBLE}"
    )


def test_the_program_holding_every_item_wins_over_an_enrolled_one_holding_some():
    def item(i, sku):
        return RuleItem(i, 0, sku, None, sku, make_size(1, "lb"))

    enrolled = RuleProgram(1, 1, "B", "Enrolled", "E", 2, 1, FulfilmentType.DIRECT, items=(item(1, "A"),))
    other = RuleProgram(2, 1, "B", "Whole Card", "W", 2, 1, FulfilmentType.DIRECT, items=(item(2, "A"), item(3, "B")))
    book = RuleBook([enrolled, other], [RuleEnrollment(1, None)])
    outcome = evaluate_card(make_card(purchases=[("A", 1), ("B", 1)], free=[("A", 1)]), book)
    assert isinstance(outcome, Denied) and outcome.program is other
    assert outcome.detail == "the store is not enrolled in program 'Whole Card'"


# -- units ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit"),
    [("LBS", "lb"), ("Pounds", "lb"), ("oz.", "oz"), ("KG", "kg"), ("count", "ct"), ("Fl. Oz", "fl oz")],
)
def test_units_are_normalised(text, unit):
    assert canonical_unit(text) == unit


def test_sizes_compare_across_units_of_one_dimension_and_refuse_across_dimensions():
    assert compare(make_size(16, "oz"), make_size(1, "lb")) == 0
    assert compare(make_size(1, "kg"), make_size(2, "lb")) == 1
    assert compare(make_size("453.59237", "g"), make_size(1, "lb")) == 0
    assert str(make_size(Decimal("4.000"), "lbs")) == "4 lb"
    with pytest.raises(IncomparableSizesError, match="6 ct is a count and 4 lb is a weight"):
        compare(make_size(6, "ct"), make_size(4, "lb"))
    with pytest.raises(UnknownUnitError, match="unknown size unit 'bags'"):
        make_size(1, "bags")
    with pytest.raises(ValueError, match="positive"):
        make_size(0, "lb")
