"""POS Reports through the pages: upload (preview stores nothing, import updates the dashboard), a refused file
shows every problem and stores nothing, Review shows why a card was denied and its items, the quality check."""

from __future__ import annotations

from sqlalchemy import select

from connector.core.frequent_buyer.tables import PosRedemption, PosReport
from tests.frequent_buyer.conftest import import_cards
from tests.web.admin.dom import parse
from tests.web.admin_fb.conftest import cards_csv, counts, flashes, make_card, upload

#: Two passing cards and one short of purchases (7 of 10): 2 processed, 1 denied.
CARDS = [
    make_card("001-A1", phone="2065550111"),
    make_card("001-A2", phone="2065550112", name="Lee Park"),
    make_card("001-A3", phone="2065550113", name="Jo Kim", purchases=(("KIB-4", 7),)),
]


def _report_row(page, report_id: int):
    return page.one("table", id="pos-reports").one("tr", data_report_id=str(report_id))


def test_a_retailer_previews_a_report_and_nothing_is_stored(signed_in, people, rt, fb_world):
    browser = signed_in(people.retailer)
    dashboard = browser.page("/admin/pos-reports")
    form = dashboard.one("form", id="pos-upload")
    assert form["enctype"] == "multipart/form-data"
    assert form.find("select", name="retailer_id") is None  # a retailer uploads for itself
    assert {o["value"] for o in form.one("select", name="format").find_all("option")} >= {"darts-bxgy", "test-cards"}
    assert {b["value"] for b in form.find_all("button", name="mode")} == {"preview", "import"}
    before = counts(rt)

    response = upload(browser, cards_csv(CARDS), mode="preview")

    assert response.status_code == 200
    page = parse(response.text)
    summary = page.one("dl", id="pos-summary")
    assert {dd["data-count"]: dd.text.split(" ")[0] for dd in summary.find_all("dd")} == {
        "cards": "3",
        "rows": "7",
        "imported": "3",
        "replaced": "0",
        "already_imported": "0",
        "processed": "2",
        "quality_check": "0",
        "denied": "1",
        "customers": "0",
        "free_goods": "2",
    }
    denial = page.one("table", id="pos-preview-denials").one("tr", data_pos_key="001-A3")
    assert denial["data-reason"] == "insufficient_purchase_quantity" and "purchased 7 of 10" in denial.text
    assert "nothing was stored" in page.one("div", id="pos-dry-run").text
    assert counts(rt) == before
    # The form comes back, ready for the same file to be imported.
    assert page.one("form", id="pos-upload")


def test_importing_shows_the_counts_and_the_dashboard_row(signed_in, people, rt, fb_world):
    browser = signed_in(people.retailer)
    before = counts(rt)

    response = upload(browser, cards_csv(CARDS), mode="import", filename="week-24.csv")

    assert response.status_code == 302 and response.headers["Location"] == "/admin/pos-reports"
    page = browser.follow(response)
    [message] = flashes(page, "success")
    assert message.startswith("Imported week-24.csv as report ")
    assert "3 cards — 2 processed, 0 in quality check, 1 denied" in message and "Review the denied cards" in message
    after = counts(rt)
    assert (after["reports"], after["redemptions"], after["free_goods"]) == (
        before["reports"] + 1,
        before["redemptions"] + 3,
        before["free_goods"] + 2,
    )
    with rt.sessions() as s:
        report_id = s.scalar(select(PosReport.id).where(PosReport.filename == "week-24.csv"))
    row = _report_row(page, report_id)
    cells = {td["data-status"]: td.text for td in row.find_all("td", data_status=True)}
    assert cells == {"new": "0", "pending": "0", "denied": "1", "quality_check": "0", "processed": "2"}
    link = row.one("td", data_status="denied").one("a")["href"]
    assert link == f"/admin/pos-reports/{report_id}?status=denied"
    totals = {li["data-status"]: li.one("span").text for li in page.one("ul", id="pos-totals").find_all("li")}
    assert totals["denied"] == "1" and totals["processed"] == "2" and totals["total"] == "3"


def test_the_same_file_again_imports_nothing_and_says_where_it_went(signed_in, people, rt, fb_world):
    browser = signed_in(people.retailer)
    data = cards_csv(CARDS)
    upload(browser, data, mode="import")
    before = counts(rt)
    response = upload(browser, data, mode="import")
    assert response.status_code == 302 and "status=denied" in response.headers["Location"]
    page = browser.follow(response)
    assert "imported before as report" in flashes(page, "error")[0]
    assert counts(rt) == before


def test_a_malformed_file_lists_every_problem_and_stores_nothing(signed_in, people, rt, fb_world):
    browser = signed_in(people.retailer)
    lines = cards_csv(CARDS).decode().splitlines(keepends=True)
    lines[1] = lines[1].replace(",purchase,KIB-4,10,", ",purchase,KIB-4,ten,")  # row 2
    lines[2] = lines[2].replace("2026-06-15", "15/06/2026")  # row 3
    data = "".join(lines).encode()
    before = counts(rt)
    for mode in ("preview", "import"):
        response = upload(browser, data, mode=mode)
        assert response.status_code == 422
        page = parse(response.text)
        rows = page.one("table", id="pos-problems").find_all("tr", data_row=True)
        cells = [[td.text for td in tr.find_all("td")] for tr in rows]
        assert cells == [
            ["2", "quantity", "ten", "a whole number"],
            ["3", "redeemed_on", "15/06/2026", "a date like 2026-06-15"],
        ]
        assert "2 problems in the file; nothing was stored" in page.one("div", id="pos-rejected").text
        assert page.one("form", id="pos-upload")  # to try again
    assert counts(rt) == before


def test_an_unknown_store_code_is_refused_by_the_import_with_its_rows(signed_in, people, rt, fb_world):
    browser = signed_in(people.retailer)
    before = counts(rt)
    response = upload(browser, cards_csv([make_card("999-X", store="999")]), mode="import")
    assert response.status_code == 422
    rows = parse(response.text).one("table", id="pos-problems").find_all("tr", data_row=True)
    assert rows and all("999" in tr.text for tr in rows)
    assert counts(rt) == before


def test_a_garbage_file_in_the_darts_format_is_a_problem_table_not_an_error(signed_in, people, rt, fb_world):
    browser = signed_in(people.retailer)
    before = counts(rt)
    response = upload(browser, b"\x00\xff\xfe not a csv at all", mode="preview", fmt="darts-bxgy", filename="x.csv")
    assert response.status_code == 422
    assert parse(response.text).one("table", id="pos-problems").find_all("tr", data_row=True)
    assert counts(rt) == before


def test_staff_choose_the_retailer_and_cannot_upload_without_one(signed_in, people, rt, fb_world):
    browser = signed_in(people.support)
    form = browser.page("/admin/pos-reports").one("form", id="pos-upload")
    options = [o.text for o in form.one("select", name="retailer_id").find_all("option") if o["value"]]
    assert options == ["Paws Corner", "Bark Avenue"]
    before = counts(rt)
    response = upload(browser, cards_csv(CARDS), mode="import")
    page = browser.follow(response)
    assert "Choose the retailer" in flashes(page, "error")[0]
    assert counts(rt) == before
    response = upload(browser, cards_csv(CARDS), mode="import", retailer_id=str(fb_world.retailer_id))
    assert response.status_code == 302
    assert counts(rt)["reports"] == before["reports"] + 1
    with rt.sessions() as s:
        assert s.scalar(select(PosReport.uploaded_by)) == people.support.actor_name


def test_a_retailer_cannot_upload_for_another_retailer(signed_in, people, rt, fb_world):
    browser = signed_in(people.retailer)
    before = counts(rt)
    # The form has no retailer field for a retailer; a forged one is ignored: the report is its own.
    response = upload(browser, cards_csv(CARDS), mode="import", retailer_id=str(fb_world.other_retailer_id))
    assert response.status_code == 302
    with rt.sessions() as s:
        assert s.scalar(select(PosReport.retailer_id)) == fb_world.retailer_id
    assert counts(rt)["reports"] == before["reports"] + 1


def test_a_distributor_cannot_upload_and_sees_no_pos_pages(signed_in, people, rt, fb_world):
    browser = signed_in(people.distributor)
    assert browser.get("/admin/pos-reports").status_code == 403
    before = counts(rt)
    response = upload(browser, cards_csv(CARDS), mode="import", retailer_id=str(fb_world.retailer_id))
    assert response.status_code == 403
    assert counts(rt) == before


def test_a_report_over_one_mebibyte_reaches_the_upload_but_not_for_a_role_that_cannot_upload(
    signed_in, people, rt, fb_world
):
    """The console's 1 MiB body limit is raised for the upload (a real report is larger), for uploaders only."""
    big = b"not,the,header\n" + b"x" * (1_600_000)
    retailer = signed_in(people.retailer)
    response = upload(retailer, big, mode="preview")
    assert response.status_code == 422  # read and refused by the parser, not 413
    assert parse(response.text).one("table", id="pos-problems")
    distributor = signed_in(people.distributor)
    assert upload(distributor, big, mode="preview").status_code == 413


def test_upload_without_the_csrf_token_is_refused_and_stores_nothing(signed_in, people, rt, fb_world):
    import io

    browser = signed_in(people.retailer)
    before = counts(rt)
    response = browser.client.post(
        "/admin/pos-reports/upload",
        data={"mode": "import", "format": "test-cards", "file": (io.BytesIO(cards_csv(CARDS)), "r.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "nothing was changed" in response.text
    assert counts(rt) == before


def test_review_lists_denied_cards_with_reason_explanation_detail_fix_and_items(signed_in, people, rt, fb_world):
    summary = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, CARDS)
    browser = signed_in(people.retailer)
    page = browser.page(f"/admin/pos-reports/{summary.report_id}?status=denied")
    tabs = {a["data-status"]: a for a in page.one("nav", class_="tabs").find_all("a")}
    assert tabs["denied"].get("aria-current") == "page" and tabs["denied"].one("span").text == "1"
    rows = page.one("table", id="pos-review").find_all("tr", data_pos_redemption_id=True)
    assert [r["data-status"] for r in rows] == ["denied"]
    row = rows[0]
    assert "Jo Kim" in row.one("td", class_="fb-customer").text and "2065550113" in row.text
    why = row.one("div", class_="fb-denial")
    assert why.one("strong", class_="fb-reason")["data-reason"] == "insufficient_purchase_quantity"
    assert "did not reach the program's required number of purchases" in why.one("span", class_="fb-explanation").text
    assert why.one("span", class_="fb-detail").text == "purchased 7 of 10 required (program 'Acme Kibble Buy 10 Get 1')"
    assert "resubmit the corrected row" in why.one("span", class_="fb-fix").text
    purchases = row.one("ul", data_kind="purchases").find_all("li", data_sku=True)
    assert [(li["data-sku"], li.one("strong", class_="fb-qty").text) for li in purchases] == [("KIB-4", "7")]
    # The second Review: the card's purchases and free goods in full, and its timeline.
    second = browser.page(row.one("a", class_="fb-review-card")["href"])
    assert "Denied: Insufficient Purchase Quantity" in second.one("div", id="pos-denial").text
    bought = second.one("table", data_kind="purchases").one("tr", data_sku="KIB-4")
    assert [td.text for td in bought.find_all("td")][1:6] == ["KIB-4", "012345000041", "Acme Kibble 4 lb", "4 lb", "7"]
    assert second.one("table", data_kind="free_goods").one("tr", data_sku="KIB-4")
    events = [tr["data-event"] for tr in second.one("table", id="pos-events").find_all("tr", data_event=True)]
    assert events == ["map_customer", "deny"]
    # The other tabs list the other statuses.
    processed = browser.page(f"/admin/pos-reports/{summary.report_id}?status=processed")
    assert len(processed.one("table", id="pos-review").find_all("tr", data_status="processed")) == 2


def test_support_approves_the_quality_check_and_a_retailer_cannot(signed_in, people, rt, fb_world):
    treats = make_card("001-T1", purchases=(("TRT-8OZ", 5),), free=(("TRT-8OZ", 1),), phone="2065550199")
    summary = import_cards(rt, fb_world.actors.retailer, fb_world.retailer_id, [treats])
    assert summary.quality_check == 1
    url = f"/admin/pos-reports/{summary.report_id}?status=quality_check"
    retailer = signed_in(people.retailer)
    page = retailer.page(url)
    assert page.find("form", class_="action-approve") is None and page.find("form", class_="action-approve-one") is None
    before = counts(rt)
    assert retailer.post(f"/admin/pos-reports/{summary.report_id}/approve").status_code == 403
    assert counts(rt) == before

    support = signed_in(people.support)
    page = support.page(url)
    form = page.one("form", class_="action-approve")
    response = support.post(form["action"], {"next": url})
    page = support.follow(response)
    assert "Quality check passed for 1 redemption" in flashes(page, "success")[0]
    with rt.sessions() as s:
        assert s.scalar(select(PosRedemption.status).where(PosRedemption.report_id == summary.report_id)) == "processed"
    # Approving again: nothing is in Quality Check any more.
    page = support.follow(support.post(form["action"], {"next": url}))
    assert "nothing was processed" in flashes(page, "error")[0]
