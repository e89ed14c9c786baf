"""The retailer's reports through the console: Frequent Buyer Participation (each number opens its detail),
Redemption by Date and the transaction export; another retailer's stores and customers stay invisible."""

from __future__ import annotations

import csv
import io

from tests.frequent_buyer.conftest import import_cards, make_card


def _seed(rt, fb_world):
    cards = [
        make_card("001-C1"),
        make_card("002-C2", store="002", name="Lee Park", phone="2065550199"),
        make_card("001-M1", purchases=[("KIB-4", 5), ("WT-5", 5)], name="Mix Up", phone="2065550111"),
    ]
    import_cards(rt, fb_world.actors.platform_admin, fb_world.retailer_id, cards)
    other = make_card("B1-C1", store="B1", name="Other Owner", phone="5035550100")
    import_cards(rt, fb_world.actors.platform_admin, fb_world.other_retailer_id, [other])


def test_participation_numbers_open_their_detail(signed_in, people, rt, fb_world):
    _seed(rt, fb_world)
    browser = signed_in(people.retailer)
    page = browser.page("/admin/retailer-reports/participation")
    total = page.one("tr", data_program_id="total")
    cells = {td["data-metric"]: td.text.strip() for td in total.find_all("td", data_metric=True)}
    assert cells == {"customers": "2", "cards": "2", "items": "20", "earned": "2", "redeemed": "2"}
    link = total.one("td", data_metric="customers").one("a")["href"]
    detail = browser.page(link).one("table", id="participation-detail")
    names = sorted(td.text for td in detail.find_all("td", data_col="customer"))
    assert names == ["Dana Smith", "Lee Park"]  # the denied card's customer counts nowhere
    tacoma = browser.page(f"/admin/retailer-reports/participation?location_id={fb_world.store_002_id}")
    assert tacoma.one("tr", data_program_id="total").one("td", data_metric="cards").text.strip() == "1"


def test_redemption_by_date_and_the_export(signed_in, people, rt, fb_world):
    _seed(rt, fb_world)
    browser = signed_in(people.retailer)
    table = browser.page("/admin/retailer-reports/redemptions").one("table", id="redemptions-by-date")
    assert "Multiple Brands on the Card" in table.text and "Other Owner" not in table.text
    export = browser.get("/admin/retailer-reports/transactions.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert {r["Customer Name"] for r in rows} == {"Dana Smith", "Lee Park", "Mix Up"}


def test_another_retailer_and_other_roles_see_nothing(signed_in, people, rt, fb_world):
    _seed(rt, fb_world)
    other = signed_in(people.other_retailer)
    page = other.page("/admin/retailer-reports/participation")
    assert page.one("tr", data_program_id="total").one("td", data_metric="customers").text.strip() == "1"
    assert other.get(f"/admin/retailer-reports/participation?retailer_id={fb_world.retailer_id}").status_code == 200
    assert other.get(f"/admin/retailer-reports/participation?location_id={fb_world.store_001_id}").status_code == 404
    export = other.get("/admin/retailer-reports/transactions.csv").get_data(as_text=True)
    assert "Dana Smith" not in export and "Other Owner" in export
    for person in (people.distributor, people.brand_admin, people.viewer):
        browser = signed_in(person)
        got = browser.get(f"/admin/retailer-reports/participation?retailer_id={fb_world.retailer_id}")
        assert got.status_code == 403
        assert "Retailer Reports" not in browser.get("/admin/credit-status").get_data(as_text=True)
    support = signed_in(people.support)
    assert support.page("/admin/retailer-reports/participation").one("p", id="pick-retailer")
    picked = support.page(f"/admin/retailer-reports/redemptions?retailer_id={fb_world.retailer_id}")
    assert "Dana Smith" in picked.one("table", id="redemptions-by-date").text
