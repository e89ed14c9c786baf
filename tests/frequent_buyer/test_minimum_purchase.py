""" "Insufficient Purchase Amount" (seed 003): a program's minimum purchase in dollars, valued at the store's
price list, alongside the quantity rule; set when creating a program and edited later (core, API, CLI)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner

from connector.commands.frequent_buyer import fb
from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.model import DenialReason
from connector.core.frequent_buyer.pos_ingest import load_rule_book
from connector.core.frequent_buyer.programs import ItemSpec, PriceSpec
from connector.core.frequent_buyer.rules import Denied, Passed, evaluate_card
from connector.core.frequent_buyer.tables import PosRedemption
from tests.frequent_buyer.conftest import auth, import_cards, make_card

KIBBLE = "'Acme Kibble Buy 10 Get 1'"


def _judge(rt, world, card):
    with rt.sessions() as s:
        book = load_rule_book(s, world.retailer_id, [card])
    return evaluate_card(card, book)


def _minimum(rt, world, amount):
    return programs.set_minimum_purchase(rt, world.actors.brand_admin, world.kibble_id, amount)


# -- the rule ----------------------------------------------------------------------------------------------
# Paws Corner's price list: KIB-4 costs 12.50, SRP 19.99, so ten KIB-4 bags come to $199.90 at SRP.


def test_a_card_exactly_at_the_minimum_passes(rt, fb_world):
    _minimum(rt, fb_world, "199.90")
    assert isinstance(_judge(rt, fb_world, make_card()), Passed)


def test_a_card_one_cent_below_the_minimum_is_denied_with_the_amounts(rt, fb_world):
    _minimum(rt, fb_world, "199.91")
    outcome = _judge(rt, fb_world, make_card())
    assert isinstance(outcome, Denied) and outcome.reason == DenialReason.INSUFFICIENT_PURCHASE_AMOUNT
    assert outcome.detail == (
        f"purchases come to $199.90 at the store's prices, below program {KIBBLE}'s minimum purchase of $199.91"
    )


def test_the_unit_cost_values_a_sku_whose_price_list_entry_has_no_srp(rt, fb_world):
    programs.upsert_price_list(rt, fb_world.actors.retailer, fb_world.retailer_id, [PriceSpec("KIB-15", "30.00")])
    _minimum(rt, fb_world, "300.00")
    assert isinstance(_judge(rt, fb_world, make_card(purchases=[("KIB-15", 10)], free=[("KIB-4", 1)])), Passed)
    _minimum(rt, fb_world, "300.01")
    outcome = _judge(rt, fb_world, make_card(purchases=[("KIB-15", 10)], free=[("KIB-4", 1)]))
    assert isinstance(outcome, Denied) and outcome.reason == DenialReason.INSUFFICIENT_PURCHASE_AMOUNT


def test_a_purchase_without_a_price_is_denied_naming_the_sku_to_price(rt, fb_world):
    _minimum(rt, fb_world, "10.00")
    outcome = _judge(rt, fb_world, make_card(purchases=[("KIB-4", 5), ("KIB-28", 5)], free=[("KIB-4", 1)]))
    assert isinstance(outcome, Denied) and outcome.reason == DenialReason.INSUFFICIENT_PURCHASE_AMOUNT
    assert outcome.detail == (
        f"cannot check program {KIBBLE}'s minimum purchase of $10.00: purchase 'Acme Kibble 28 lb' (SKU KIB-28) has no "
        "price in the store's price list; add the price (Price list), then resubmit the row"
    )


def test_no_minimum_means_no_price_is_needed(rt, fb_world):
    assert isinstance(_judge(rt, fb_world, make_card(purchases=[("KIB-28", 10)], free=[("KIB-4", 1)])), Passed)


def test_the_quantity_rule_is_judged_first(rt, fb_world):
    _minimum(rt, fb_world, "1000.00")
    outcome = _judge(rt, fb_world, make_card(purchases=[("KIB-4", 9)]))
    assert isinstance(outcome, Denied) and outcome.reason == DenialReason.INSUFFICIENT_PURCHASE_QUANTITY


def test_an_imported_row_below_the_minimum_is_denied_and_a_corrected_price_lets_it_through(rt, fb_world):
    _minimum(rt, fb_world, "250.00")
    summary = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [make_card()])
    assert summary.denied == 1 and summary.processed == 0
    with rt.sessions() as s:
        row = s.query(PosRedemption).one()
        assert (row.status, row.denial_reason) == ("denied", "insufficient_purchase_amount")
    # The store's SRP was wrong: fixing the price and resubmitting the row passes it.
    programs.upsert_price_list(
        rt, fb_world.actors.retailer, fb_world.retailer_id, [PriceSpec("KIB-4", "12.50", "25.00")]
    )
    again = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [make_card()], sha256="f" * 64)
    assert again.processed == 1


# -- setting it ---------------------------------------------------------------------------------------------


def test_a_program_is_created_with_a_minimum_and_it_can_be_edited_and_removed(rt, fb_world):
    created = programs.create_program(
        rt,
        fb_world.actors.brand_admin,
        brand_id=fb_world.brand_id,
        name="Acme Cat",
        buy_quantity=8,
        minimum_purchase_amount="$1,000.5",
        items=[ItemSpec(sku="CAT-7", description="Cat 7 lb", size_value="7", size_unit="lb")],
    )
    assert created.minimum_purchase_amount == Decimal("1000.50")
    assert _minimum(rt, fb_world, Decimal("25")).minimum_purchase_amount == Decimal("25.00")
    assert _minimum(rt, fb_world, None).minimum_purchase_amount is None


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("abc", "'abc' is not an amount; give the minimum purchase (blank for none) in dollars, like 25.00"),
        ("-1", "'-1' must be zero or more (and under 10 billion): the minimum purchase (blank for none) in dollars"),
        ("2.505", "'2.505' has more than 2 decimal places; the minimum purchase (blank for none) is dollars and cents"),
    ],
)
def test_a_bad_minimum_is_refused_naming_the_field_and_nothing_changes(rt, fb_world, amount, message):
    _minimum(rt, fb_world, "20.00")
    with pytest.raises(ValidationError) as refused:
        _minimum(rt, fb_world, amount)
    assert refused.value.fields == {"minimum_purchase_amount": message}
    assert programs.get_program(rt, fb_world.actors.brand_admin, fb_world.kibble_id).minimum_purchase_amount == (
        Decimal("20.00")
    )


def test_only_the_programs_brand_or_a_platform_admin_edits_the_minimum(rt, fb_world):
    a = fb_world.actors
    for actor in (a.retailer, a.distributor, a.support, a.viewer):
        with pytest.raises(PermissionDeniedError):
            programs.set_minimum_purchase(rt, actor, fb_world.kibble_id, "5")
    with pytest.raises(NotFoundError):  # another brand's program is not found (its existence does not leak)
        programs.set_minimum_purchase(rt, a.other_brand_admin, fb_world.kibble_id, "5")
    assert programs.get_program(rt, a.platform_admin, fb_world.kibble_id).minimum_purchase_amount is None
    assert programs.set_minimum_purchase(rt, a.platform_admin, fb_world.kibble_id, "5").minimum_purchase_amount == 5


# -- API and CLI -----------------------------------------------------------------------------------------------


def test_api_sets_the_minimum_on_create_and_patch(fb_client, fb_world, fb_tokens):
    url = f"/api/v1/programs/{fb_world.kibble_id}"
    patched = fb_client.patch(url, json={"minimum_purchase_amount": "49.95"}, headers=auth(fb_tokens.brand_admin))
    assert patched.status_code == 200 and patched.get_json()["minimum_purchase_amount"] == "49.95"
    bad = fb_client.patch(url, json={"minimum_purchase_amount": "-3"}, headers=auth(fb_tokens.brand_admin))
    assert bad.status_code == 422 and "minimum_purchase_amount" in bad.get_json()["error"]["fields"]
    retailer = fb_client.patch(url, json={"minimum_purchase_amount": "1"}, headers=auth(fb_tokens.retailer))
    assert retailer.status_code == 403
    assert fb_client.get(url, headers=auth(fb_tokens.retailer)).get_json()["minimum_purchase_amount"] == "49.95"
    cleared = fb_client.patch(url, json={"minimum_purchase_amount": None}, headers=auth(fb_tokens.platform_admin))
    assert cleared.get_json()["minimum_purchase_amount"] is None
    created = fb_client.post(
        "/api/v1/programs",
        json={
            "brand_id": fb_world.brand_id,
            "name": "Acme Cat",
            "buy_quantity": 8,
            "minimum_purchase_amount": "30.00",
            "items": [{"sku": "CAT-7", "description": "Cat 7 lb", "size_value": 7, "size_unit": "lb"}],
        },
        headers=auth(fb_tokens.brand_admin),
    )
    assert created.status_code == 201 and created.get_json()["minimum_purchase_amount"] == "30.00"


def test_cli_sets_and_removes_the_minimum(rt, fb_world):
    runner = CliRunner()
    result = runner.invoke(fb, ["programs", "set-minimum", str(fb_world.kibble_id), "19.99"], obj=rt)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"program {fb_world.kibble_id} (ACME-KIBBLE): minimum purchase $19.99"
    bad = runner.invoke(fb, ["programs", "set-minimum", str(fb_world.kibble_id), "1.234"], obj=rt)
    assert bad.exit_code == 1 and "more than 2 decimal places" in bad.output
    listed = runner.invoke(fb, ["programs", "list"], obj=rt).output
    assert "minimum purchase $19.99" in listed
    result = runner.invoke(fb, ["programs", "set-minimum", str(fb_world.kibble_id), "none"], obj=rt)
    assert result.output.strip().endswith("minimum purchase none")
