"""Importing POS reports: the lifecycle with its events, customers, free goods, and all-or-nothing promises."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from connector.core.errors import (
    IllegalTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from connector.core.frequent_buyer.model import CreditStatus, DenialReason
from connector.core.frequent_buyer.pos_ingest import (
    approve_quality_check,
    find_pos_format,
    import_pos_report,
    importer,
    upload_pos_report,
)
from connector.core.frequent_buyer.pos_types import PosReportRejected
from connector.core.frequent_buyer.tables import Customer, FbEvent, FreeGood, PosRedemption, PosReport
from connector.core.tables import Base
from tests.frequent_buyer.conftest import cards_csv, import_cards, make_card, make_report

FB_TABLES = [t for t in Base.metadata.sorted_tables if t.name.startswith("fb_")]


def fb_counts(rt) -> dict[str, int]:
    with rt.sessions() as s:
        return {t.name: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in FB_TABLES}


def redemption(rt, key: str, retailer_id: int) -> PosRedemption:
    with rt.sessions() as s:
        return s.scalars(
            select(PosRedemption).where(PosRedemption.pos_key == key, PosRedemption.retailer_id == retailer_id)
        ).one()


def events(rt, redemption_id: int) -> list[tuple[str, str | None, str | None, str]]:
    with rt.sessions() as s:
        rows = s.scalars(
            select(FbEvent)
            .where(FbEvent.subject_type == "pos_redemption", FbEvent.subject_id == redemption_id)
            .order_by(FbEvent.id)
        )
        return [(e.event, e.from_status, e.to_status, e.actor) for e in rows]


def free_goods(rt, redemption_id: int) -> list[FreeGood]:
    with rt.sessions() as s:
        return list(s.scalars(select(FreeGood).where(FreeGood.pos_redemption_id == redemption_id)))


# -- the happy path ----------------------------------------------------------------------------------------


def test_a_passing_card_is_processed_into_a_free_good_for_the_enrolled_distributor(rt, fb_world):
    support = fb_world.actors.support
    summary = import_cards(rt, support, fb_world.retailer_id, [make_card("001-C1")], filename="june.csv")
    assert (summary.imported, summary.processed, summary.denied, summary.free_goods_created) == (1, 1, 0, 1)
    assert summary.report_id is not None and summary.duplicate_of is None and summary.cards == 1
    r = redemption(rt, "001-C1", fb_world.retailer_id)
    assert r.status == "processed" and r.report_id == summary.report_id
    assert (r.program_id, r.brand_id, r.distributor_id) == (
        fb_world.kibble_id,
        fb_world.brand_id,
        fb_world.distributor_id,
    )
    assert r.location_id == fb_world.store_001_id and r.source_rows == [2, 3]
    assert r.card["free_goods"][0]["program_item_id"] == fb_world.items["KIB-4"]
    assert events(rt, r.id) == [
        ("map_customer", "new", "pending", "test:support"),
        ("pass_rules", "pending", "quality_check", "test:support"),
        ("process", "quality_check", "processed", "test:support"),
    ]
    [good] = free_goods(rt, r.id)
    assert good.status == CreditStatus.UNBATCHED and good.distributor_id == fb_world.distributor_id
    assert (good.sku, good.description, good.quantity) == ("KIB-4", "Acme Kibble 4 lb", 1)
    assert (good.size_value, good.size_unit, good.fulfilment_type) == (Decimal("4.000"), "lb", "distributor")
    assert good.unit_cost == Decimal("12.50")  # Paws Corner's price list
    assert (good.retailer_id, good.location_id, good.customer_id) == (
        fb_world.retailer_id,
        r.location_id,
        r.customer_id,
    )
    assert (good.brand_id, good.program_id, good.redeemed_on) == (
        fb_world.brand_id,
        fb_world.kibble_id,
        date(2026, 6, 15),
    )
    with rt.sessions() as s:
        report = s.get(PosReport, summary.report_id)
        assert (report.filename, report.uploaded_by, report.format) == ("june.csv", "test:support", "test-cards")


def test_free_goods_go_to_each_retailers_own_distributor_and_cost_only_where_priced(rt, fb_world):
    import_cards(rt, fb_world.actors.other_retailer, fb_world.other_retailer_id, [make_card("B1-1", store="B1")])
    [good] = free_goods(rt, redemption(rt, "B1-1", fb_world.other_retailer_id).id)
    assert good.distributor_id == fb_world.other_distributor_id and good.unit_cost is None


def test_a_denied_card_keeps_its_reason_detail_and_events(rt, fb_world):
    card = make_card("001-SHORT", purchases=[("KIB-4", 7)])
    summary = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [card])
    assert (summary.denied, summary.denied_by_reason, summary.free_goods_created) == (
        1,
        {"insufficient_purchase_quantity": 1},
        0,
    )
    [line] = summary.denials
    r = redemption(rt, "001-SHORT", fb_world.retailer_id)
    assert line.redemption_id == r.id and line.rows == (2, 3)
    assert r.status == "denied" and r.denial_reason == DenialReason.INSUFFICIENT_PURCHASE_QUANTITY
    assert r.denial_detail == line.detail == "purchased 7 of 10 required (program 'Acme Kibble Buy 10 Get 1')"
    assert r.distributor_id is None and r.program_id == fb_world.kibble_id
    assert [e[0] for e in events(rt, r.id)] == ["map_customer", "deny"]
    assert free_goods(rt, r.id) == []


def test_quality_check_holds_until_approved_then_makes_the_free_good(rt, fb_world):
    card = make_card("001-TREAT", purchases=[("TRT-16OZ", 5)], free=[("TRT-8OZ", 1)])
    summary = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [card])
    assert (summary.quality_check, summary.processed, summary.free_goods_created) == (1, 0, 0)
    r = redemption(rt, "001-TREAT", fb_world.retailer_id)
    assert r.status == "quality_check" and free_goods(rt, r.id) == []

    with pytest.raises(PermissionDeniedError):
        approve_quality_check(rt, fb_world.actors.retailer, report_id=summary.report_id)
    result = approve_quality_check(rt, fb_world.actors.support, report_id=summary.report_id)
    assert result.processed_ids == (r.id,) and result.free_goods_created == 1
    assert redemption(rt, "001-TREAT", fb_world.retailer_id).status == "processed"
    [good] = free_goods(rt, r.id)
    assert (good.distributor_id, good.fulfilment_type, good.sku) == (None, "direct", "TRT-8OZ")
    assert events(rt, r.id)[-1] == ("process", "quality_check", "processed", "test:support")

    assert approve_quality_check(rt, fb_world.actors.support, report_id=summary.report_id).processed_ids == ()
    with pytest.raises(IllegalTransitionError, match=f"redemption {r.id} .*only from: quality_check"):
        approve_quality_check(rt, fb_world.actors.support, pos_redemption_ids=[r.id])
    with pytest.raises(NotFoundError):
        approve_quality_check(rt, fb_world.actors.support, pos_redemption_ids=[r.id + 1000])
    assert len(free_goods(rt, r.id)) == 1


def test_approving_by_ids_is_all_or_nothing(rt, fb_world):
    cards = [
        make_card("T1", purchases=[("TRT-8OZ", 5)], free=[("TRT-8OZ", 1)]),
        make_card("T2", purchases=[("TRT-8OZ", 5)], free=[("TRT-8OZ", 1)], phone="2065550199"),
        make_card("K1"),
    ]
    import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, cards)
    t1, t2, k1 = (redemption(rt, k, fb_world.retailer_id).id for k in ("T1", "T2", "K1"))
    with pytest.raises(IllegalTransitionError):
        approve_quality_check(rt, fb_world.actors.support, pos_redemption_ids=[t1, k1])
    assert free_goods(rt, t1) == []
    assert approve_quality_check(rt, fb_world.actors.platform_admin, pos_redemption_ids=[t1, t2]).processed_ids == (
        t1,
        t2,
    )


# -- customers -------------------------------------------------------------------------------------------


def _customers(rt, retailer_id):
    with rt.sessions() as s:
        return list(s.scalars(select(Customer).where(Customer.retailer_id == retailer_id).order_by(Customer.id)))


def _add_customer(rt, retailer_id, **values) -> int:
    with rt.sessions() as s:
        c = Customer(retailer_id=retailer_id, **values)
        s.add(c)
        s.commit()
        return c.id


def test_customers_are_matched_by_internal_id_then_phone_then_email(rt, fb_world):
    rid = fb_world.retailer_id
    by_iid = _add_customer(rt, rid, name="Iggy", internal_id="C-77", phone="2065550001")
    by_phone = _add_customer(rt, rid, name="Pat", phone="2065550002")
    by_email = _add_customer(rt, rid, name="Em", email="em@example.com")
    cards = [
        # the internal id wins even though the phone is Pat's
        make_card("K-IID", internal_id="C-77", phone="2065550002"),
        make_card("K-PHONE", internal_id=None, phone="+1 (206) 555-0002", email="em@example.com"),
        make_card("K-EMAIL", phone=None, email=" EM@Example.com "),
        make_card("K-NEW", phone="2065550003", email="new@example.com", name="Nia New"),
    ]
    summary = import_cards(rt, fb_world.actors.retailer, rid, cards)
    assert (summary.customers_matched, summary.customers_created) == (3, 1)
    ids = {k: redemption(rt, k, rid).customer_id for k in ("K-IID", "K-PHONE", "K-EMAIL", "K-NEW")}
    assert (ids["K-IID"], ids["K-PHONE"], ids["K-EMAIL"]) == (by_iid, by_phone, by_email)
    created = [c for c in _customers(rt, rid) if c.id == ids["K-NEW"]][0]
    assert (created.name, created.phone, created.email) == ("Nia New", "2065550003", "new@example.com")
    r = redemption(rt, "K-PHONE", rid)
    assert events(rt, r.id)[0][0] == "map_customer"
    with rt.sessions() as s:
        detail = s.scalar(select(FbEvent.detail).where(FbEvent.subject_id == r.id, FbEvent.event == "map_customer"))
    assert detail == f"customer {by_phone} by phone"


def test_one_phone_in_one_file_is_one_new_customer_who_gains_what_later_cards_say(rt, fb_world):
    rid = fb_world.retailer_id
    cards = [
        make_card("A1", phone="206-555-0404", email=None, name="Robin"),
        make_card("A2", phone="2065550404", email="robin@example.com"),
        make_card("A3", phone=None, email="robin@example.com", internal_id="R-1"),
        make_card("A4", phone=None, email=None, internal_id="R-1"),
    ]
    summary = import_cards(rt, fb_world.actors.retailer, rid, cards)
    assert (summary.customers_created, summary.customers_matched) == (1, 3)
    [robin] = _customers(rt, rid)
    assert (robin.name, robin.phone, robin.email, robin.internal_id) == (
        "Robin",
        "2065550404",
        "robin@example.com",
        "R-1",
    )
    assert {redemption(rt, k, rid).customer_id for k in ("A1", "A2", "A3", "A4")} == {robin.id}


def test_customers_of_another_retailer_are_never_matched(rt, fb_world):
    _add_customer(rt, fb_world.other_retailer_id, name="Bark's", phone="2065550101")
    summary = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [make_card()])
    assert (summary.customers_created, summary.customers_matched) == (1, 0)


# -- nothing twice, nothing half ---------------------------------------------------------------------------


def test_the_same_report_twice_imports_nothing_twice(rt, fb_world):
    cards = [make_card("C1"), make_card("C2", purchases=[("KIB-4", 3)])]
    first = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, cards)
    before = fb_counts(rt)
    again = import_cards(rt, fb_world.actors.support, fb_world.retailer_id, cards)
    assert fb_counts(rt) == before
    assert again.duplicate_of == first.report_id == again.report_id
    assert (again.imported, again.processed, again.denied, again.cards) == (2, 1, 1, 2)
    assert [d.pos_key for d in again.denials] == ["C2"]


def test_cards_already_imported_in_another_file_are_skipped(rt, fb_world):
    import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [make_card("C1")])
    before = fb_counts(rt)
    summary = import_cards(
        rt, fb_world.actors.retailer, fb_world.retailer_id, [make_card("C1"), make_card("C9")], sha256="b" * 64
    )
    assert (summary.already_imported, summary.imported, summary.free_goods_created) == (1, 1, 1)
    after = fb_counts(rt)
    assert after["fb_pos_redemptions"] == before["fb_pos_redemptions"] + 1
    assert after["fb_free_goods"] == before["fb_free_goods"] + 1


def test_a_corrected_resubmission_replaces_its_denial_in_place(rt, fb_world):
    rid = fb_world.retailer_id
    first = import_cards(rt, fb_world.actors.retailer, rid, [make_card("C1", purchases=[("KIB-4", 7)])])
    denied = redemption(rt, "C1", rid)
    assert denied.status == "denied"
    fixed = import_cards(rt, fb_world.actors.retailer, rid, [make_card("C1", purchases=[("KIB-4", 10)])])
    assert (fixed.replaced, fixed.imported, fixed.processed, fixed.free_goods_created) == (1, 0, 1, 1)
    now = redemption(rt, "C1", rid)
    assert now.id == denied.id and now.status == "processed"
    assert now.report_id == fixed.report_id != first.report_id
    assert now.denial_reason is None and now.denial_detail is None and now.created_at == denied.created_at
    assert [e[:3] for e in events(rt, now.id)] == [
        ("map_customer", "new", "pending"),
        ("deny", "pending", "denied"),
        ("resubmit", "denied", "new"),
        ("map_customer", "new", "pending"),
        ("pass_rules", "pending", "quality_check"),
        ("process", "quality_check", "processed"),
    ]
    assert len(free_goods(rt, now.id)) == 1
    # A third upload of the same card is now "already imported": it was processed.
    again = import_cards(rt, fb_world.actors.retailer, rid, [make_card("C1", purchases=[("KIB-4", 11)])])
    assert (again.already_imported, again.replaced) == (1, 0) and len(free_goods(rt, now.id)) == 1


def test_a_resubmission_that_is_still_wrong_stays_denied_with_the_new_reason(rt, fb_world):
    rid = fb_world.retailer_id
    import_cards(rt, fb_world.actors.retailer, rid, [make_card("C1", purchases=[("KIB-4", 7)])])
    import_cards(rt, fb_world.actors.retailer, rid, [make_card("C1", purchases=[("KIB-4", 10)], free=[("KIB-28", 1)])])
    r = redemption(rt, "C1", rid)
    assert (r.status, r.denial_reason) == ("denied", "ineligible_free_good_size")


def test_a_failure_midway_leaves_every_fb_table_as_it_was(rt, fb_world, monkeypatch):
    before = fb_counts(rt)
    real = importer.evaluate_card
    calls = []

    def fail_on_the_fourth(card, book):
        calls.append(card.key)
        if len(calls) == 4:
            raise RuntimeError("disk on fire")
        return real(card, book)

    monkeypatch.setattr(importer, "CHUNK", 2)  # so two chunks are written before the failure
    monkeypatch.setattr(importer, "evaluate_card", fail_on_the_fourth)
    cards = [make_card(f"C{n}", phone=f"20655501{n:02d}") for n in range(6)]
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, cards)
    assert len(calls) == 4
    assert fb_counts(rt) == before


def test_unknown_store_codes_reject_the_whole_file_naming_the_rows(rt, fb_world):
    before = fb_counts(rt)
    cards = [make_card("C1"), make_card("C2", store="009", first_row=4), make_card("C3", store="7", first_row=6)]
    with pytest.raises(PosReportRejected) as rejected:
        import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, cards, filename="bad.csv")
    problems = [(p.row, p.column, p.value) for p in rejected.value.problems]
    assert problems == [(4, "store", "009"), (6, "store", "7")]
    assert rejected.value.problems[0].expected == "a store code of retailer 'Paws Corner': 1, 2"
    assert "nothing was imported" in rejected.value.message
    assert fb_counts(rt) == before


def test_file_problems_are_all_reported_together(rt, fb_world):
    cards = [
        make_card("C1", free=[]),
        make_card("C1", first_row=5),
        make_card("C3", free=[("KIB-4", 1), ("KIB-15", 1)], first_row=8),
        make_card("C4", purchases=[("KIB-4", 0)], first_row=12),
    ]
    with pytest.raises(PosReportRejected) as rejected:
        import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, cards)
    assert [(p.row, p.column) for p in rejected.value.problems] == [
        (2, "free good"),
        (5, "key"),
        (8, "free good"),
        (12, "quantity"),
    ]
    assert rejected.value.problems[1].expected == "one card per key; this key is also on row 2"
    assert "KIB-15 and KIB-4" in rejected.value.problems[2].value


def test_store_codes_match_without_leading_zeros_and_a_single_store_needs_none(rt, fb_world):
    import_cards(
        rt,
        fb_world.actors.retailer,
        fb_world.retailer_id,
        [make_card("C1", store="2"), make_card("C2", store=None, phone="1")],
    )
    assert redemption(rt, "C1", fb_world.retailer_id).location_id == fb_world.store_002_id
    assert redemption(rt, "C2", fb_world.retailer_id).location_id is None  # two stores: cannot tell
    import_cards(rt, fb_world.actors.other_retailer, fb_world.other_retailer_id, [make_card("B1", store=None)])
    assert redemption(rt, "B1", fb_world.other_retailer_id).location_id == fb_world.store_b1_id


def test_dry_run_reports_the_same_and_stores_nothing(rt, fb_world):
    cards = [
        make_card("C1"),
        make_card("C2", purchases=[("KIB-4", 3)], phone="2065550999"),
        make_card("C3", purchases=[("TRT-8OZ", 5)], free=[("TRT-8OZ", 1)]),
    ]
    before = fb_counts(rt)
    dry = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, cards, dry_run=True)
    assert fb_counts(rt) == before
    assert dry.dry_run and dry.report_id is None and dry.denials[0].redemption_id is None
    real = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, cards)
    assert {**dry.counts(), "report_id": None, "dry_run": False} == {**real.counts(), "report_id": None}
    assert (real.processed, real.denied, real.quality_check, real.customers_created) == (1, 1, 1, 2)
    assert [(d.pos_key, d.reason, d.detail) for d in dry.denials] == [
        (d.pos_key, d.reason, d.detail) for d in real.denials
    ]


# -- who may upload ------------------------------------------------------------------------------------------


def test_only_the_retailer_itself_or_support_may_upload(rt, fb_world):
    a = fb_world.actors
    report = make_report([make_card()])
    with pytest.raises(NotFoundError):
        import_pos_report(rt, a.other_retailer, fb_world.retailer_id, report, "x.csv")
    for actor in (a.distributor, a.brand_admin, a.viewer):
        with pytest.raises(PermissionDeniedError):
            import_pos_report(rt, actor, fb_world.retailer_id, report, "x.csv")
    with pytest.raises(NotFoundError):
        import_pos_report(rt, a.support, 999_999, report, "x.csv")
    assert fb_counts(rt)["fb_pos_reports"] == 0
    assert import_pos_report(rt, a.platform_admin, fb_world.retailer_id, report, "x.csv").imported == 1


class _Unread(io.RawIOBase):
    """A file that fails the test when anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise AssertionError("the file was read")


def test_upload_parses_with_the_chosen_format_then_imports_under_a_clean_name(rt, fb_world):
    """The one use case both upload routes call: the name loses its folder and control characters, once."""
    data = cards_csv([make_card()])
    retailer = fb_world.actors.retailer
    summary = upload_pos_report(
        rt, retailer, fb_world.retailer_id, "test-cards", io.BytesIO(data), "C:\\exports\\ju\x00ne.csv"
    )
    assert (summary.filename, summary.format, summary.imported) == ("june.csv", "test-cards", 1)
    with rt.sessions() as s:
        assert s.scalars(select(PosReport.filename)).all() == ["june.csv"]
    again = upload_pos_report(rt, retailer, fb_world.retailer_id, "test-cards", io.BytesIO(data), "")
    assert (again.duplicate_of, again.filename) == (summary.report_id, "june.csv")
    assert fb_counts(rt)["fb_pos_reports"] == 1


def test_upload_refuses_another_retailer_a_wrong_role_or_an_unknown_format_before_reading_the_file(rt, fb_world):
    a = fb_world.actors
    with pytest.raises(NotFoundError):
        upload_pos_report(rt, a.other_retailer, fb_world.retailer_id, "test-cards", _Unread(), "x.csv")
    with pytest.raises(PermissionDeniedError):
        upload_pos_report(rt, a.distributor, fb_world.retailer_id, "test-cards", _Unread(), "x.csv")
    with pytest.raises(ValidationError) as err:
        upload_pos_report(rt, a.retailer, fb_world.retailer_id, "nope", _Unread(), "x.csv")
    assert "unknown format 'nope'; available: " in err.value.fields["format"]
    assert fb_counts(rt)["fb_pos_reports"] == 0


def test_find_pos_format_lists_the_installed_formats(rt):
    assert find_pos_format(rt, "test-cards").name == "test-cards"
    with pytest.raises(ValidationError) as err:
        find_pos_format(rt, "nope")
    assert "unknown format 'nope'; available: " in err.value.fields["format"]
    assert "test-cards" in err.value.fields["format"]


def test_a_larger_report_imports_in_chunks(rt, fb_world, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK", 500)
    cards = [
        make_card(f"C{n}", phone=f"206{n % 700:07d}", purchases=[("KIB-4", 10 if n % 10 else 5)]) for n in range(2_500)
    ]
    summary = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, cards)
    assert (summary.imported, summary.processed, summary.denied) == (2_500, 2_250, 250)
    assert (summary.customers_created, summary.customers_matched) == (700, 1_800)
    counts = fb_counts(rt)
    assert counts["fb_pos_redemptions"] == 2_500 and counts["fb_free_goods"] == 2_250
    assert counts["fb_customers"] == 700


def test_text_survives_the_bulk_path_byte_for_byte(rt, fb_world):
    from connector.core.frequent_buyer.pos_types import PosItem

    odd = 'Tab\there, "quoted", back\\slash, newline\nend, Ñandú 🐶'
    card = make_card(
        "K\\1\t",
        name=odd,
        purchases=[PosItem(sku="KIB-4", description=odd, quantity=10, row=2)],
        free=[("KIB-4", 1)],
    )
    import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [card])
    r = redemption(rt, "K\\1", fb_world.retailer_id)
    assert r.card["purchases"][0]["description"] == odd and r.card["customer"]["name"] == odd
    with rt.sessions() as s:
        assert s.get(Customer, r.customer_id).name == odd
