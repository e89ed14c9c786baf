"""The member page: details, points balance, every ledger entry (earned, spent, returned) and their redemptions."""

from __future__ import annotations

from tests.web.admin.dom import parse
from tests.web.admin.stories import balance, failed, fulfilled, other_brand_redemption


def test_member_page_shows_balance_ledger_and_redemptions(signed_in, people, rt, shop, world):
    kept = fulfilled(rt, shop, world)
    returned = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    browser.post(f"/admin/redemptions/{returned}/reverse", {"reason": "wrong size"})
    page = browser.page(f"/admin/members/{world.member.id}")
    assert page.one("h1").text == "Ada Lovelace"
    assert page.one("span", id="points-balance").text == "4,500" and balance(rt, world.member.id) == 4500
    ledger = page.one("section", id="ledger").one("table")
    entries = [(tr["data-kind"], tr.find_all("td")[2].text) for tr in ledger.find_all("tr", data_kind=True)]
    assert sorted(entries) == sorted([("earned", "+5,000"), ("spent", "-500"), ("spent", "-500"), ("returned", "+500")])
    returned_row = ledger.one("tr", data_kind="returned")
    assert "wrong size" in returned_row.text and "user:sam@support.example" in returned_row.text
    assert returned_row.one("a")["href"] == f"/admin/redemptions/{returned}"
    redemptions = page.one("section", id="member-redemptions")
    statuses = {int(tr["data-redemption-id"]): tr["data-status"] for tr in redemptions.find_all("tr", data_status=True)}
    assert statuses == {kept: "fulfilled", returned: "reversed"}
    details = page.one("section", id="member-details").text
    assert "ada@example.com" in details and "+16135550142" in details and "Ottawa" in details


def test_member_page_is_scoped_to_the_brand(signed_in, people, rt, shop, world):
    other_brand_redemption(rt, shop, world)
    foreign = signed_in(people.brand_admin).get(f"/admin/members/{world.other_member.id}")
    missing = signed_in(people.brand_admin).get("/admin/members/999999")
    assert foreign.status_code == missing.status_code == 404
    assert parse(foreign.text).one("main").text == parse(missing.text).one("main").text
    assert "Bob" not in foreign.text
    for person in (people.support, people.other_admin, people.global_viewer, people.platform_admin):
        assert signed_in(person).get(f"/admin/members/{world.other_member.id}").status_code == 200
    assert signed_in(people.viewer).get(f"/admin/members/{world.member.id}").status_code == 200
    for person in (people.distributor, people.retailer):
        assert signed_in(person).get(f"/admin/members/{world.member.id}").status_code == 403


def test_an_error_redemption_links_from_the_member_page_and_shows_its_error_label(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world)
    page = signed_in(people.viewer).page(f"/admin/members/{world.member.id}")
    tr = page.one("section", id="member-redemptions").one("tr", data_redemption_id=str(rid))
    assert tr.one("a", class_="action-details")["href"] == f"/admin/redemptions/{rid}"
    assert tr.one("span", class_="status-label").find("span", class_="error-fix")
