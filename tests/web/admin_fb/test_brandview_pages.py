"""Console: Brand Fulfillment (a brand's direct/retailer-fulfilled free goods), the credit memo on mark
fulfilled and the retailer's confirm step when it DOES NOT MATCH, and a program's minimum purchase."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.frequent_buyer import distribution as dist
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.pos_ingest import approve_quality_check
from connector.core.frequent_buyer.tables import Batch, FreeGood
from connector.core.model import Role
from connector.core.users import create_user
from tests.frequent_buyer.conftest import import_cards, make_card
from tests.frequent_buyer.distribution_fixtures import snapshot
from tests.web.admin.conftest import PASSWORD, Person
from tests.web.admin_fb.conftest import flashes, free_goods_for


def _direct_free_good(rt, fb_world) -> int:
    """A processed Acme Treats card (a Direct Fulfillment program) at Paws Corner: its free good, owed."""
    card = make_card("001-T1", purchases=[("TRT-16OZ", 5)], free=[("TRT-8OZ", 1)])
    summary = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [card], filename="treats")
    approve_quality_check(rt, Actor.system("test"), report_id=summary.report_id)
    with rt.sessions() as s:
        return int(s.scalar(select(FreeGood.id).where(FreeGood.program_id == fb_world.treats_id)) or 0)


def _wild_admin(rt, fb_world) -> Person:
    person = Person("willa@wild.example", Role.BRAND_ADMIN)
    with transaction(rt.sessions) as s:
        create_user(
            s,
            email=person.email,
            name="Willa",
            password=PASSWORD,
            role=person.role,
            scrypt_n=rt.settings.password_scrypt_n,
            brand_id=fb_world.other_brand_id,
        )
    return person


def _rows(page) -> list[int]:
    table = page.one("table", id="brand-free-goods")
    return [int(tr["data-free-good-id"]) for tr in table.find_all("tr", data_free_good_id=True)]


# -- Brand Fulfillment -------------------------------------------------------------------------------------------


def test_a_brand_admin_sees_what_is_owed_and_marks_it_credited(signed_in, people, rt, fb_world):
    good = _direct_free_good(rt, fb_world)
    free_goods_for(rt, fb_world, 1)  # a distributor's free good: not listed here
    browser = signed_in(people.brand_admin)
    page = browser.page("/admin/brand-fulfilment")
    assert _rows(page) == [good]
    assert page.one("a", data_section="owed").one("span", class_="count").text == "1"
    page = browser.follow(browser.post("/admin/brand-fulfilment/credit", {"ids": str(good), "note": "ACH 7"}))
    assert flashes(page, "success") == [f"1 free good ({good}) marked credited: they are in Credited."]
    assert _rows(browser.page("/admin/brand-fulfilment?section=credited")) == [good]
    again = browser.follow(browser.post("/admin/brand-fulfilment/credit", {"ids": str(good)}))
    assert flashes(again, "error") == [
        f"Only owed free goods can be marked credited: {good} is credited. Nothing was changed. "
        "Reload the page to see the free goods as they are now."
    ]


def test_another_brand_sees_nothing_and_credits_nothing(signed_in, people, rt, fb_world):
    good = _direct_free_good(rt, fb_world)
    wild = signed_in(_wild_admin(rt, fb_world))
    assert _rows(wild.page("/admin/brand-fulfilment")) == []
    assert wild.get(f"/admin/brand-fulfilment?brand_id={fb_world.brand_id}").status_code == 404
    before = snapshot(rt)
    assert wild.post("/admin/brand-fulfilment/credit", {"ids": str(good)}).status_code == 404
    assert snapshot(rt) == before
    assert signed_in(people.distributor).get("/admin/brand-fulfilment").status_code == 403
    assert signed_in(people.retailer).get("/admin/brand-fulfilment").status_code == 403
    support = signed_in(people.support).page("/admin/brand-fulfilment")
    assert _rows(support) == [good] and support.find("form", id="brand-credit").find("input", type="checkbox") is None


# -- credit memo on mark fulfilled, and the retailer's confirm step --------------------------------------------


def test_the_memo_is_recorded_and_a_mismatch_asks_the_retailer_to_confirm(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 2)  # KIB-4 at 12.50 each: the batch is worth $25.00
    batch = dist.create_batch(rt, fb_world.actors.distributor, goods, "Week 24")
    north = signed_in(people.distributor)
    form = north.page(f"/admin/distribution/batches/{batch.id}").one("form", class_="action-fulfil")
    assert form.one("input", name="credit_memo_number") and form.one("input", name="credit_memo_amount")
    half = north.follow(north.post(form["action"], {"credit_memo_number": "CM-88"}))
    assert "credit memo amount: give the total of credit memo CM-88" in flashes(half, "error")[0]
    done = north.follow(north.post(form["action"], {"credit_memo_number": "CM-88", "credit_memo_amount": "20.00"}))
    assert "marked fulfilled/credited with credit memo CM-88 for $20.00" in flashes(done, "success")[0]
    with rt.sessions() as s:
        assert s.get(Batch, batch.id).credit_memo_amount == Decimal("20.00")

    paws = signed_in(people.retailer)
    page = paws.page(f"/admin/credit-status/batches/{batch.id}")
    assert page.one("dd", id="memo-check")["data-status"] == "DOES NOT MATCH"
    asked = paws.post(f"/admin/credit-status/batches/{batch.id}/reconcile", {"note": "ok"})
    assert asked.status_code == 409
    from tests.web.admin.dom import parse

    confirm = parse(asked.text).one("div", id="confirm-mismatch")
    assert "short by $5.00" in confirm.text
    with rt.sessions() as s:
        assert s.get(Batch, batch.id).reconciled_at is None
    bark = signed_in(people.other_retailer)
    assert bark.post(f"/admin/credit-status/batches/{batch.id}/reconcile", {"confirm": "yes"}).status_code == 404
    form = confirm.one("form", class_="action-reconcile-confirm")
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input") if i["name"] != "csrf_token"}
    page = paws.follow(paws.post(form["action"], fields))
    assert flashes(page, "success")[0].startswith(f'Batch {batch.id} "Week 24" from Northwest Pet Supply reconciled')
    with rt.sessions() as s:
        assert s.get(Batch, batch.id).reconciled_at is not None


# -- the program's minimum purchase --------------------------------------------------------------------------------


def test_a_brand_admin_sets_the_minimum_purchase_and_a_bad_one_changes_nothing(signed_in, people, rt, fb_world):
    browser = signed_in(people.brand_admin)
    page = browser.page(f"/admin/programs/{fb_world.kibble_id}")
    form = page.one("form", id="minimum-purchase-form")
    page = browser.follow(browser.post(form["action"], {"minimum_purchase_amount": "45.50"}))
    assert flashes(page, "success") == ["Minimum purchase for Acme Kibble Buy 10 Get 1 set to $45.50."]
    assert page.one("dd", id="program-minimum").text == "$45.50"
    page = browser.follow(browser.post(form["action"], {"minimum_purchase_amount": "4.555"}))
    assert "has more than 2 decimal places" in flashes(page, "error")[0]
    assert programs.get_program(rt, fb_world.actors.brand_admin, fb_world.kibble_id).minimum_purchase_amount == (
        Decimal("45.50")
    )
    retailer = signed_in(people.retailer)
    assert retailer.page(f"/admin/programs/{fb_world.kibble_id}").find("form", id="minimum-purchase-form") is None
    assert retailer.post(form["action"], {"minimum_purchase_amount": "1"}).status_code == 403
