"""The retailer's reports: Frequent Buyer Participation (and each number's detail), Redemption by Date and
the transaction export, per role, per filter, and never another retailer's customers."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.pos_types import PosItem
from connector.core.frequent_buyer.retailer_reports import (
    EXPORT_COLUMNS,
    ReportFilters,
    participation,
    participation_detail,
    redemptions_by_date,
    transaction_export,
)
from tests.frequent_buyer.conftest import import_cards, make_card


def _bought(sku: str, quantity: int, day: date) -> PosItem:
    return PosItem(sku=sku, description=f"item {sku}", quantity=quantity, purchased_on=day)


@pytest.fixture
def reported(rt, fb_world, actors):
    """Paws Corner: Dana (two kibble cards, one at each store), Lee (one treats card waiting in Quality Check,
    one card denied for mixing brands); Bark Avenue: one kibble card of its own customer."""
    dana_buys = [_bought("KIB-4", 6, date(2026, 6, 1)), _bought("KIB-4", 4, date(2026, 6, 10))]
    dana_1 = make_card("001-C1", purchases=dana_buys, redeemed_on=date(2026, 6, 15))
    dana_2 = make_card("002-C2", purchases=[("KIB-4", 10)], store="002", redeemed_on=date(2026, 6, 20))
    lee_treats = make_card("001-T1", purchases=[("TRT-8OZ", 5)], free=[("TRT-8OZ", 1)], name="Lee Park",
                           phone="2065550199", email="lee@example.com", redeemed_on=date(2026, 6, 16))  # fmt: skip
    lee_mixed = make_card("001-M1", purchases=[("KIB-4", 5), ("WT-5", 5)], name="Lee Park", phone="2065550199")
    import_cards(rt, actors.platform_admin, fb_world.retailer_id, [dana_1, dana_2, lee_treats, lee_mixed])
    bark = make_card("B1-C1", purchases=[("KIB-4", 10)], store="B1", name="Other Owner", phone="5035550100")
    import_cards(rt, actors.platform_admin, fb_world.other_retailer_id, [bark])
    return fb_world


def test_participation_counts_each_number_per_program(rt, reported, actors):
    report = participation(rt, actors.retailer, ReportFilters())
    by_program = {r.program_name: r for r in report.rows}
    assert set(by_program) == {"Acme Kibble Buy 10 Get 1", "Acme Treats Buy 5 Get 1"}  # the denied card counts nowhere
    kibble = by_program["Acme Kibble Buy 10 Get 1"]
    assert (kibble.unique_customers, kibble.cards_punched, kibble.items_sold) == (1, 2, 20)
    assert (kibble.rewards_earned, kibble.rewards_redeemed) == (2, 2)
    treats = by_program["Acme Treats Buy 5 Get 1"]
    assert (treats.rewards_earned, treats.rewards_redeemed) == (1, 0)  # waiting in Quality Check
    t = report.total
    assert (t.unique_customers, t.cards_punched, t.items_sold, t.rewards_earned, t.rewards_redeemed) == (2, 3, 25, 3, 2)


def test_participation_filters_by_date_range_location_and_manufacturer(rt, reported, actors):
    # Only the purchase dated 2026-06-10 falls in the range; the card redeemed on the 15th is not a reward in it.
    early = participation(rt, actors.retailer, ReportFilters(date_from=date(2026, 6, 5), date_to=date(2026, 6, 12)))
    assert (early.total.cards_punched, early.total.items_sold, early.total.rewards_earned) == (1, 4, 0)
    tacoma = participation(rt, actors.retailer, ReportFilters(location_id=reported.store_002_id))
    assert (tacoma.total.cards_punched, tacoma.total.rewards_redeemed) == (1, 1)
    other_brand = participation(rt, actors.retailer, ReportFilters(brand_id=reported.other_brand_id))
    assert other_brand.rows == [] and other_brand.total.cards_punched == 0


def test_each_number_opens_its_detail(rt, reported, actors):
    f = ReportFilters()
    customers = participation_detail(rt, actors.retailer, f, "customers", program_id=reported.kibble_id)
    assert customers.rows == [{"customer": "Dana Smith", "cards": 2, "items": 20}]
    cards = participation_detail(rt, actors.retailer, f, "cards", program_id=reported.kibble_id)
    assert [r["card"] for r in cards.rows] == ["001-C1", "002-C2"]
    assert "2026-06-01 item KIB-4 × 6" in cards.rows[0]["punches"]
    items = participation_detail(rt, actors.retailer, f, "items")
    assert sum(r["quantity"] for r in items.rows) == 25
    assert {r["upc"] for r in items.rows if r["card"] == "002-C2"} == {"012345000041"}
    earned = participation_detail(rt, actors.retailer, f, "earned")
    redeemed = participation_detail(rt, actors.retailer, f, "redeemed")
    assert len(earned.rows) == 3 and {r["card"] for r in redeemed.rows} == {"001-C1", "002-C2"}
    with pytest.raises(ValidationError) as exc:
        participation_detail(rt, actors.retailer, f, "everything")
    assert "metric" in exc.value.fields


def test_redemption_by_date_lists_every_redemption_with_the_seed_denial_label(rt, reported, actors):
    lines = redemptions_by_date(rt, actors.retailer, ReportFilters(date_from=date(2026, 6, 15))).lines
    assert [line.card for line in lines] == ["001-C1", "001-M1", "001-T1", "002-C2"]
    mixed = next(line for line in lines if line.card == "001-M1")
    assert (mixed.status, mixed.denial) == ("denied", "Multiple Brands on the Card")
    assert next(line for line in lines if line.card == "002-C2").location == "Paws Corner Tacoma"


def test_transaction_export_has_a_line_per_item_and_neutralises_formulas(rt, fb_world, actors):
    evil = make_card("001-X1", name="=HYPERLINK(\"http://evil\")", email="dana@example.com",
                     purchases=[("KIB-4", 10)], internal_id="+CUST-9")  # fmt: skip
    import_cards(rt, actors.platform_admin, fb_world.retailer_id, [evil])
    text = "".join(transaction_export(rt, actors.retailer, ReportFilters()))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [r["Line"] for r in body] == ["Purchase", "Free good"]
    assert body[0]["Customer Name"] == '\'=HYPERLINK("http://evil")'
    assert body[0]["Customer ID"] == "'+CUST-9"
    assert body[0]["Email"] == "dana@example.com" and body[0]["Phone"] == "2065550101"
    assert (body[0]["Item Code (UPC)"], body[0]["Quantity"], body[0]["Store Code"]) == ("012345000041", "10", "001")


def test_a_retailer_never_reaches_another_retailers_customers(rt, reported, actors):
    bark = ReportFilters(retailer_id=reported.other_retailer_id)
    for report in (participation, redemptions_by_date, transaction_export):
        with pytest.raises(NotFoundError):
            report(rt, actors.retailer, bark)
    with pytest.raises(NotFoundError):  # another retailer's location is not found either
        participation(rt, actors.retailer, ReportFilters(location_id=reported.store_b1_id))
    own = "".join(transaction_export(rt, actors.retailer, ReportFilters()))
    assert "Other Owner" not in own and "5035550100" not in own
    theirs = participation(rt, actors.other_retailer, ReportFilters())
    assert theirs.total.cards_punched == 1 and theirs.total.unique_customers == 1


@pytest.mark.parametrize("role", ["distributor", "brand_admin", "viewer"])
def test_only_the_retailer_and_support_read_the_reports(rt, reported, actors, role):
    with pytest.raises(PermissionDeniedError):
        participation(rt, getattr(actors, role), ReportFilters(retailer_id=reported.retailer_id))
    with pytest.raises(PermissionDeniedError):
        transaction_export(rt, getattr(actors, role), ReportFilters(retailer_id=reported.retailer_id))


def test_support_names_the_retailer_and_bad_ranges_are_refused(rt, reported, actors):
    with pytest.raises(ValidationError) as missing:
        participation(rt, actors.support, ReportFilters())
    assert "retailer_id" in missing.value.fields
    report = participation(rt, actors.support, ReportFilters(retailer_id=reported.retailer_id))
    assert report.total.cards_punched == 3
    with pytest.raises(ValidationError) as backwards:
        redemptions_by_date(rt, actors.retailer, ReportFilters(date_from=date(2026, 7, 1), date_to=date(2026, 6, 1)))
    assert "date_to" in backwards.value.fields
