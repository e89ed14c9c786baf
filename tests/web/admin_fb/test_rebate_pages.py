"""The Distributor Portal's landing choice and the Rebates Dashboard through the console's forms.

Each move goes through the page to the core and comes back with a flash; a refused move shows the core's
refusal and changes nothing; roles that may not act see no buttons and get the 403 page; the second
distributor sees none of the first's rebates; the retailer reads its Distributor Rebate Credit Batches.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.core.access import Actor
from connector.core.frequent_buyer import rebates as r
from connector.core.frequent_buyer.rebate_tables import Rebate
from connector.core.model import Role
from tests.frequent_buyer.rebate_fixtures import rebate_rows, seed_rebates
from tests.web.admin_fb.conftest import flashes

ACTIONS = "/admin/rebates/actions"


@pytest.fixture
def rw(rt, fb_world):
    return seed_rebates(rt, fb_world)


def _status(rt, ids):
    with rt.sessions() as s:
        return {i: st for i, st in s.execute(select(Rebate.id, Rebate.status).where(Rebate.id.in_(ids)))}


def test_a_distributor_lands_on_the_free_goods_or_rebates_choice(signed_in, people, rw):
    browser = signed_in(people.distributor)
    home = browser.get("/admin")
    assert home.status_code == 302 and home.headers["Location"] == "/admin/distributor"
    page = browser.page("/admin/distributor")
    assert "Free Goods or Rebates Dashboard" in page.one("h1").text
    choice = page.one("ul", id="dashboard-choice")
    assert [li["data-dashboard"] for li in choice.find_all("li")] == ["free-goods", "rebates"]
    assert page.one("a", id="free-goods-dashboard").text == "Free Goods Dashboard"
    assert page.one("a", id="rebates-dashboard")["href"] == "/admin/rebates"
    assert choice.one("strong", data_count="rebates").text == "3"


def test_the_rebate_batch_flow_through_the_forms(signed_in, people, rt, rw):
    browser = signed_in(people.distributor)
    page = browser.page("/admin/rebates")
    tabs = [a["data-section"] for a in page.one("nav", class_="tabs").find_all("a")]
    assert tabs == ["unbatched", "unfulfilled", "fulfilled", "declined"]
    assert [
        int(tr["data-rebate-id"]) for tr in page.one("table", id="section-rebates").find_all("tr", data_rebate_id=True)
    ] == rw.paws[::-1]

    done = browser.follow(
        browser.post(
            ACTIONS,
            {"action": "batch", "ids": [str(i) for i in rw.paws[:2]], "description": "June", "next": "/admin/rebates"},
        )
    )
    assert any("Rebate batch" in f and "$10.00" in f for f in flashes(done, "success"))
    batch_id = r.rebate_section(rt, _admin(), "unfulfilled-batches").batches[0].id

    declined = browser.follow(
        browser.post(
            ACTIONS, {"action": "decline", "ids": [str(rw.paws[2])], "reason": "not redeemed", "next": "/admin/rebates"}
        )
    )
    assert any('reason "not redeemed"' in f for f in flashes(declined, "success"))

    credited = browser.follow(
        browser.post(
            f"/admin/rebate-batches/{batch_id}/credit", {"note": "CM-5", "next": "/admin/rebates?section=unfulfilled"}
        )
    )
    assert any("marked credited" in f for f in flashes(credited, "success"))
    assert _status(rt, rw.paws) == {rw.paws[0]: "credited", rw.paws[1]: "credited", rw.paws[2]: "declined"}

    detail = browser.page(f"/admin/rebate-batches/{batch_id}")
    assert detail.one("dd", data_count="amount").text == "$10.00"
    assert detail.find("form", id="rebate-actions") is None  # a credited batch offers no moves


def _admin():
    """A platform admin acting in the core, to stage batches for the page under test."""
    return Actor("test:platform", Role.PLATFORM_ADMIN)


def test_a_refused_move_flashes_the_reason_and_changes_nothing(signed_in, people, rt, rw):
    browser = signed_in(people.distributor)
    before = rebate_rows(rt)
    page = browser.follow(
        browser.post(ACTIONS, {"action": "release", "ids": [str(rw.paws[0])], "next": "/admin/rebates"})
    )
    [error] = flashes(page, "error")
    assert "Cannot release rebates that are not declined: " in error and "Nothing was changed" in error
    assert rebate_rows(rt) == before
    page = browser.follow(
        browser.post(ACTIONS, {"action": "decline", "ids": [str(rw.paws[0])], "reason": "", "next": "/admin/rebates"})
    )
    assert "reason" in flashes(page, "error")[0]
    assert rebate_rows(rt) == before


@pytest.mark.parametrize("who", ["support", "viewer", "brand_admin"])
def test_readers_see_no_buttons_and_are_refused(signed_in, people, rt, rw, who):
    browser = signed_in(getattr(people, who))
    page = browser.page("/admin/rebates")
    assert page.find("form", id="rebate-actions") is None
    before = rebate_rows(rt)
    res = browser.post(ACTIONS, {"action": "batch", "ids": [str(rw.paws[0])], "description": "x"})
    assert res.status_code == 403
    assert rebate_rows(rt) == before


def test_a_second_distributor_sees_and_moves_none_of_the_first_s_rebates(signed_in, people, rt, rw):
    batch = r.create_rebate_batch(rt, _admin(), rw.paws[:1], "June")
    browser = signed_in(people.other_distributor)
    page = browser.page("/admin/rebates")
    assert [int(tr["data-rebate-id"]) for tr in page.find_all("tr", data_rebate_id=True)] == rw.bark
    assert browser.get(f"/admin/rebate-batches/{batch.id}").status_code == 404
    before = rebate_rows(rt)
    assert browser.post(f"/admin/rebate-batches/{batch.id}/credit", {}).status_code == 404
    res = browser.post(
        ACTIONS, {"action": "decline", "ids": [str(rw.paws[1])], "reason": "x", "next": "/admin/rebates"}
    )
    assert res.status_code == 404
    assert rebate_rows(rt) == before


def test_retailers_read_their_rebate_credit_batches_only(signed_in, people, rt, rw):
    admin = _admin()
    mine = r.create_rebate_batch(rt, admin, rw.paws[:2], "June")
    r.mark_rebate_batch_credited(rt, admin, mine.id)
    theirs = r.create_rebate_batch(rt, admin, rw.bark, "Bark June")
    paws = signed_in(people.retailer)
    status = paws.page("/admin/credit-status")
    assert status.one("a", id="rebate-credit-batches-link")["href"] == "/admin/rebate-credit-batches"
    page = paws.page("/admin/rebate-credit-batches")
    rows = page.one("table", id="rebate-credit-batches").find_all("tr", data_batch_id=True)
    assert [(int(tr["data-batch-id"]), tr["data-status"]) for tr in rows] == [(mine.id, "fulfilled")]
    assert paws.get(f"/admin/rebate-batches/{theirs.id}").status_code == 404
    assert paws.get("/admin/rebates").status_code == 403


def test_the_reports_menu_has_the_two_rebate_reports(signed_in, people, rt, rw):
    admin = _admin()
    batch = r.create_rebate_batch(rt, admin, rw.paws[:1], "June")
    r.mark_rebate_batch_credited(rt, admin, batch.id)
    browser = signed_in(people.distributor)
    menu = browser.page("/admin/distribution/reports")
    listed = [li["data-report"] for li in menu.one("ul", id="report-list").find_all("li")]
    assert listed[-2:] == ["search-rebate-fulfillment", "rebate-credit-fulfillment"]
    page = browser.page("/admin/distribution/reports/rebate-credit-fulfillment")
    assert page.one("table", id="report").find_all("tbody")[0].find_all("tr")
    search = browser.page("/admin/distribution/reports/search-rebate-fulfillment?customer=Paws+Customer+1")
    assert len(search.one("table", id="report").find_all("tbody")[0].find_all("tr")) == 1
    assert browser.get("/admin/distribution/reports/search-rebate-fulfillment.csv").status_code == 200


def test_a_dollars_off_program_shows_its_rebate(signed_in, people, rw):
    browser = signed_in(people.retailer)
    assert (
        browser.page(f"/admin/programs/{rw.program_id}").one("dd", data_rebate_amount=True).text.startswith("$5.00 off")
    )
    listed = browser.page("/admin/programs").find_all("span", data_rebate_amount=True)
    assert [x.text for x in listed] == ["($5.00 rebate)"]
