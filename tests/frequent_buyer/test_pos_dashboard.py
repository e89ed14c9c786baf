"""The POS Reports Status Dashboard: counts per status, Review with denial explanations, scope, pagination."""

from __future__ import annotations

import pytest

from connector.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer import pos_dashboard as dash
from connector.core.frequent_buyer.model import DENIAL_EXPLANATIONS, DenialReason
from connector.core.frequent_buyer.pos_dashboard import StatusCounts
from connector.core.frequent_buyer.pos_ingest import approve_quality_check
from tests.frequent_buyer.conftest import import_cards, make_card


def _mixed_report(rt, world):
    cards = [
        make_card("P1"),
        make_card("P2", phone="2065550102"),
        make_card("D1", purchases=[("KIB-4", 7)], phone="2065550103", name="Short Sam"),
        make_card("D2", purchases=[("KIB-4", 10)], free=[("KIB-28", 1)], phone="2065550104"),
        make_card("Q1", purchases=[("TRT-8OZ", 5)], free=[("TRT-8OZ", 1)], phone="2065550105"),
    ]
    return import_cards(rt, world.actors.retailer, world.retailer_id, cards, filename="june.csv")


def test_dashboard_counts_each_report_per_status_with_totals(rt, fb_world):
    first = _mixed_report(rt, fb_world)
    second = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [make_card("P9")], filename="july.csv")
    import_cards(rt, fb_world.actors.other_retailer, fb_world.other_retailer_id, [make_card("B1", store="B1")])

    page = dash.dashboard(rt, fb_world.actors.retailer)
    assert [r.id for r in page.reports] == [second.report_id, first.report_id]  # newest first
    june = page.reports[1]
    assert (june.filename, june.retailer_name, june.uploaded_by) == ("june.csv", "Paws Corner", "test:paws")
    assert june.counts == StatusCounts(new=0, pending=0, denied=2, quality_check=1, processed=2)
    assert june.counts.total == 5
    assert page.totals == StatusCounts(denied=2, quality_check=1, processed=3)
    assert page.next_cursor is None

    everyone = dash.dashboard(rt, fb_world.actors.support)
    assert len(everyone.reports) == 3 and everyone.totals.processed == 4
    only_bark = dash.dashboard(rt, fb_world.actors.viewer, retailer_id=fb_world.other_retailer_id)
    assert [r.retailer_name for r in only_bark.reports] == ["Bark Avenue"] and only_bark.totals.total == 1

    approve_quality_check(rt, fb_world.actors.support, report_id=first.report_id)
    assert dash.get_report(rt, fb_world.actors.retailer, first.report_id).counts.processed == 3


def test_dashboard_pages_by_keyset(rt, fb_world):
    ids = [
        import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [make_card(f"K{n}")]).report_id
        for n in range(3)
    ]
    first = dash.dashboard(rt, fb_world.actors.retailer, limit=2)
    assert [r.id for r in first.reports] == ids[:0:-1] and first.next_cursor
    rest = dash.dashboard(rt, fb_world.actors.retailer, limit=2, cursor=first.next_cursor)
    assert [r.id for r in rest.reports] == [ids[0]] and rest.next_cursor is None
    with pytest.raises(ValidationError) as err:
        dash.dashboard(rt, fb_world.actors.retailer, cursor="garbage")
    assert err.value.fields == {"cursor": "pass back next_cursor unchanged"}
    with pytest.raises(ValidationError):
        dash.dashboard(rt, fb_world.actors.retailer, limit=0)


def test_review_shows_denials_with_explanation_fix_detail_customer_and_card(rt, fb_world):
    report = _mixed_report(rt, fb_world)
    page = dash.review(rt, fb_world.actors.retailer, report.report_id, status="denied")
    assert page.status == "denied" and page.report.counts.denied == 2
    assert [i.pos_key for i in page.items] == ["D1", "D2"]
    short = page.items[0]
    explanation, fix = DENIAL_EXPLANATIONS[DenialReason.INSUFFICIENT_PURCHASE_QUANTITY]
    assert short.denial == dash.Denial(
        "insufficient_purchase_quantity",
        explanation,
        fix,
        "purchased 7 of 10 required (program 'Acme Kibble Buy 10 Get 1')",
    )
    assert short.customer["name"] == "Short Sam" and short.customer["phone"] == "2065550103"
    assert short.location == {"id": fb_world.store_001_id, "name": "Paws Corner Seattle", "store_code": "001"}
    assert short.program["code"] == "ACME-KIBBLE" and short.distributor is None
    assert [(p["sku"], p["quantity"], p["row"]) for p in short.purchases] == [("KIB-4", 7, 2)]
    assert [(f["sku"], f["quantity"]) for f in short.free_goods] == [("KIB-4", 1)]
    assert page.items[1].denial.reason == "ineligible_free_good_size"

    processed = dash.review(rt, fb_world.actors.support, report.report_id, status="processed").items
    assert [i.pos_key for i in processed] == ["P1", "P2"]
    assert processed[0].denial is None and processed[0].distributor == {
        "id": fb_world.distributor_id,
        "name": "Northwest Pet Supply",
    }
    assert len(dash.review(rt, fb_world.actors.retailer, report.report_id).items) == 5
    with pytest.raises(ValidationError) as err:
        dash.review(rt, fb_world.actors.retailer, report.report_id, status="lost")
    assert "one of: new, pending, denied, quality_check, processed" in err.value.fields["status"]


def test_review_pages_in_import_order(rt, fb_world):
    report = _mixed_report(rt, fb_world)
    seen, cursor = [], None
    while True:
        page = dash.review(rt, fb_world.actors.retailer, report.report_id, limit=2, cursor=cursor)
        seen += [i.pos_key for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ["P1", "P2", "D1", "D2", "Q1"]


def test_a_redemption_shows_its_timeline(rt, fb_world):
    report = _mixed_report(rt, fb_world)
    denied = dash.review(rt, fb_world.actors.retailer, report.report_id, status="denied").items[0]
    item = dash.get_pos_redemption(rt, fb_world.actors.retailer, denied.id)
    assert [(e.event, e.from_status, e.to_status, e.actor) for e in item.events] == [
        ("map_customer", "new", "pending", "test:paws"),
        ("deny", "pending", "denied", "test:paws"),
    ]
    assert item.events[1].detail.startswith("insufficient_purchase_quantity: purchased 7 of 10")


def test_only_the_retailer_and_the_pos_team_see_reports(rt, fb_world):
    report = _mixed_report(rt, fb_world)
    a = fb_world.actors
    with pytest.raises(NotFoundError):
        dash.get_report(rt, a.other_retailer, report.report_id)
    with pytest.raises(NotFoundError):
        dash.review(rt, a.other_retailer, report.report_id)
    with pytest.raises(NotFoundError):
        dash.dashboard(rt, a.other_retailer, retailer_id=fb_world.retailer_id)
    assert dash.dashboard(rt, a.other_retailer).reports == []
    item_id = dash.review(rt, a.retailer, report.report_id).items[0].id
    with pytest.raises(NotFoundError):
        dash.get_pos_redemption(rt, a.other_retailer, item_id)
    for actor in (a.distributor, a.brand_admin):
        with pytest.raises(PermissionDeniedError):
            dash.dashboard(rt, actor)
        with pytest.raises(PermissionDeniedError):
            dash.get_report(rt, actor, report.report_id)
    assert dash.get_report(rt, a.viewer, report.report_id).counts.total == 5


def test_every_denial_reason_has_the_seeds_label_and_an_explanation_with_a_fix():
    from connector.core.frequent_buyer.model import DENIAL_LABELS, denial_label

    for reason in DenialReason:
        assert DENIAL_LABELS[reason] and denial_label(reason.value) != reason.value, reason
        explanation, fix = DENIAL_EXPLANATIONS[reason]
        assert explanation and fix, reason
    assert denial_label("insufficient_purchase_amount") == "Insufficient Purchase Amount"
