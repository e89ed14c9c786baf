"""Programs: the list (within each role's scope), a program with its items, and its Product List as CSV."""

from __future__ import annotations

import csv
import io

from connector.core.access import Actor
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.programs import ItemSpec


def _program_ids(page) -> list[int]:
    return [int(tr["data-program-id"]) for tr in page.one("table", id="programs").find_all("tr", data_program_id=True)]


def test_each_role_lists_the_programs_it_may_see(signed_in, people, fb_world):
    every = [fb_world.kibble_id, fb_world.treats_id, fb_world.wild_id]
    assert _program_ids(signed_in(people.support).page("/admin/programs")) == every
    assert _program_ids(signed_in(people.distributor).page("/admin/programs")) == every
    assert _program_ids(signed_in(people.brand_admin).page("/admin/programs")) == [
        fb_world.kibble_id,
        fb_world.treats_id,
    ]
    page = signed_in(people.platform_admin).page(f"/admin/programs?brand_id={fb_world.other_brand_id}")
    assert _program_ids(page) == [fb_world.wild_id]


def test_a_retailer_sees_every_program_and_which_it_runs(signed_in, people, fb_world):
    page = signed_in(people.retailer).page("/admin/programs")
    table = page.one("table", id="programs")
    enrolled = {
        int(tr["data-program-id"]): tr.one("td", data_enrolled=True)
        for tr in table.find_all("tr", data_program_id=True)
    }
    assert {pid: td["data-enrolled"] for pid, td in enrolled.items()} == {
        fb_world.kibble_id: "true",
        fb_world.treats_id: "true",
        fb_world.wild_id: "false",
    }
    assert "Northwest Pet Supply" in enrolled[fb_world.kibble_id].text


def test_a_program_page_lists_its_items_and_the_product_list_csv_defuses_formulas(signed_in, people, rt, fb_world):
    programs.add_program_items(
        rt,
        Actor.system("test"),
        fb_world.kibble_id,
        [
            ItemSpec(
                sku="KIB-EVIL", description='=HYPERLINK("http://x")', size_value="1", size_unit="lb", category="-2+3"
            )
        ],
    )
    browser = signed_in(people.retailer)
    page = browser.page(f"/admin/programs/{fb_world.kibble_id}")
    skus = [tr.find_all("td")[0].text for tr in page.one("table", id="program-items").find_all("tr", data_item_id=True)]
    assert skus == ["KIB-4", "KIB-15", "KIB-28", "KIB-2KG", "KIB-SAMPLE", "KIB-EVIL"]
    assert page.one("ul", id="program-enrollments").one("li", data_retailer_id=str(fb_world.retailer_id))
    response = browser.get(page.one("a", id="product-list-csv")["href"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="acme-kibble-products.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["SKU", "UPC", "Description", "Size", "Unit", "Category"]
    assert rows[-1] == ["KIB-EVIL", "", '\'=HYPERLINK("http://x")', "1", "lb", "'-2+3"]


def test_a_brand_admin_cannot_open_another_brands_program(signed_in, people, fb_world):
    browser = signed_in(people.brand_admin)
    assert browser.get(f"/admin/programs/{fb_world.wild_id}").status_code == 404
    assert browser.get(f"/admin/programs/{fb_world.wild_id}/products.csv").status_code == 404
    assert browser.get(f"/admin/programs/{fb_world.kibble_id}").status_code == 200
