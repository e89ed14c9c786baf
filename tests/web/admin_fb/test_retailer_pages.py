"""Distributor Free Goods Credit Status through the pages: the four views with quantities, costs and totals,
reconciling a credited batch, and a credit memo compared line by line; others' batches stay invisible."""

from __future__ import annotations

import io

from sqlalchemy import select

from connector.core.frequent_buyer import distribution as dist
from connector.core.frequent_buyer.tables import Batch, CreditMemo
from tests.frequent_buyer.distribution_fixtures import snapshot
from tests.web.admin.dom import parse
from tests.web.admin_fb.conftest import credited_batch, flashes, free_goods_for


def _memo(browser, batch_id: int, text: str, *, filename: str = "memo.csv", **fields: str):
    """Submit form.credit-memo-upload as the page does."""
    data = {"csrf_token": browser.csrf(), "file": (io.BytesIO(text.encode()), filename), **fields}
    return browser.client.post(
        f"/admin/credit-status/batches/{batch_id}/credit-memos", data=data, content_type="multipart/form-data"
    )


def test_credit_status_shows_each_view_with_quantities_costs_and_totals(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 5)
    actor = fb_world.actors.distributor
    reconciled = credited_batch(rt, fb_world, goods[:1], "Reconciled one")
    credited = credited_batch(rt, fb_world, goods[1:3], "Credited two")
    dist.decline(rt, actor, goods[3:4], "card not found")
    from connector.core.frequent_buyer.credit_status import reconcile_batch

    reconcile_batch(rt, fb_world.actors.retailer, reconciled)
    browser = signed_in(people.retailer)
    page = browser.page("/admin/credit-status")
    totals = {
        tr["data-view"]: [td.text for td in tr.find_all("td")[1:]]
        for tr in page.one("table", id="credit-totals").find_all("tr", data_view=True)
    }
    assert totals == {
        "uncredited": ["1", "1", "$12.50"],
        "credited": ["2", "2", "$25.00"],
        "reconciled": ["1", "1", "$12.50"],
        "declined": ["1", "1", "$12.50"],
    }
    table = page.one("table", id="credit-status")
    views = {tb["data-view"]: tb for tb in table.find_all("tbody")}
    assert list(views) == ["uncredited", "credited", "reconciled", "declined"]
    by_view = {
        v: {int(tr["data-free-good-id"]) for tr in tb.find_all("tr", data_free_good_id=True)} for v, tb in views.items()
    }
    assert by_view == {
        "uncredited": {goods[4]},
        "credited": set(goods[1:3]),
        "reconciled": {goods[0]},
        "declined": {goods[3]},
    }
    declined = views["declined"].one("tr", data_free_good_id=str(goods[3]))
    assert "card not found" in declined.text and "$12.50" in declined.text
    # Only the credited, not yet reconciled batch waits for reconciling, with its two forms.
    batches = page.one("table", id="credit-batches").find_all("tr", data_batch_id=True)
    assert [int(tr["data-batch-id"]) for tr in batches] == [credited]
    assert batches[0].one("form", class_="action-reconcile")
    memo_form = batches[0].one("form", class_="credit-memo-upload")
    assert memo_form["enctype"] == "multipart/form-data" and memo_form.one("input", name="file")


def test_a_retailer_reconciles_a_credited_batch_once(signed_in, people, rt, fb_world):
    batch_id = credited_batch(rt, fb_world, free_goods_for(rt, fb_world, 2))
    browser = signed_in(people.retailer)
    form = browser.page("/admin/credit-status").one("form", class_="action-reconcile")
    page = browser.follow(browser.post(form["action"], {"next": "/admin/credit-status"}))
    assert flashes(page, "success") == [
        f'Batch {batch_id} "Week 24" from Northwest Pet Supply reconciled: 2 free goods now show as Reconciled.'
    ]
    with rt.sessions() as s:
        batch = s.get(Batch, batch_id)
        assert batch.reconciled_by == people.retailer.actor_name and batch.reconciled_at is not None
    assert page.find("table", id="credit-batches") is None  # nothing left to reconcile
    before = snapshot(rt)
    page = browser.follow(browser.post(form["action"], {"next": "/admin/credit-status"}))
    assert "was already reconciled by user:rita@paws.example" in flashes(page, "error")[0]
    assert snapshot(rt) == before


def test_an_unfulfilled_batch_cannot_be_reconciled_and_shows_no_button(signed_in, people, rt, fb_world):
    batch = dist.create_batch(rt, fb_world.actors.distributor, free_goods_for(rt, fb_world, 1), "Open")
    browser = signed_in(people.retailer)
    page = browser.page(f"/admin/credit-status/batches/{batch.id}")
    assert (
        page.find("form", class_="action-reconcile") is None and page.find("form", class_="credit-memo-upload") is None
    )
    before = snapshot(rt)
    page = browser.follow(browser.post(f"/admin/credit-status/batches/{batch.id}/reconcile", {}))
    [message] = flashes(page, "error")
    assert message.startswith("Cannot reconcile a batch that is unfulfilled") and message.endswith(
        "Nothing was changed."
    )
    assert snapshot(rt) == before


def test_a_retailer_cannot_reconcile_or_open_another_retailers_batch(signed_in, people, rt, fb_world):
    batch_id = credited_batch(rt, fb_world, free_goods_for(rt, fb_world, 1))
    bark = signed_in(people.other_retailer)
    before = snapshot(rt)
    assert bark.get(f"/admin/credit-status/batches/{batch_id}").status_code == 404
    assert bark.post(f"/admin/credit-status/batches/{batch_id}/reconcile", {}).status_code == 404
    assert _memo(bark, batch_id, "SKU,Qty\nKIB-4,1\n").status_code == 404
    assert snapshot(rt) == before
    assert bark.page("/admin/credit-status").find("table", id="credit-batches") is None


def test_support_reads_credit_status_without_buttons_and_cannot_reconcile(signed_in, people, rt, fb_world):
    batch_id = credited_batch(rt, fb_world, free_goods_for(rt, fb_world, 1))
    browser = signed_in(people.support)
    prompt = browser.page("/admin/credit-status")
    assert prompt.one("p", id="pick-retailer") and prompt.one("select", name="retailer_id")
    page = browser.page(f"/admin/credit-status?retailer_id={fb_world.retailer_id}")
    assert page.one("table", id="credit-batches").one("tr", data_batch_id=str(batch_id))
    assert (
        page.find("form", class_="action-reconcile") is None and page.find("form", class_="credit-memo-upload") is None
    )
    before = snapshot(rt)
    assert browser.post(f"/admin/credit-status/batches/{batch_id}/reconcile", {}).status_code == 403
    assert _memo(browser, batch_id, "SKU,Qty\nKIB-4,1\n").status_code == 403
    assert snapshot(rt) == before


def test_a_platform_admin_reconciles_on_a_retailers_behalf_by_name(signed_in, people, rt, fb_world):
    batch_id = credited_batch(rt, fb_world, free_goods_for(rt, fb_world, 1))
    browser = signed_in(people.platform_admin)
    page = browser.page(f"/admin/credit-status?retailer_id={fb_world.retailer_id}")
    form = page.one("form", class_="action-reconcile")
    browser.follow(browser.post(form["action"], {}))
    with rt.sessions() as s:
        assert s.get(Batch, batch_id).reconciled_by == people.platform_admin.actor_name


def test_a_credit_memo_is_compared_line_by_line(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 3)
    batch_id = credited_batch(rt, fb_world, goods)  # 3 × KIB-4 at 12.50
    browser = signed_in(people.retailer)
    memo = "SKU,Description,Qty,Amount\nKIB-4,Acme Kibble 4 lb,2,25.00\nZZZ-1,Mystery,1,3.00\n"
    response = _memo(browser, batch_id, memo, filename="CM-1042.csv")
    assert response.status_code == 302
    with rt.sessions() as s:
        memo_id = s.scalar(select(CreditMemo.id))
    assert response.headers["Location"] == f"/admin/credit-status/batches/{batch_id}?memo={memo_id}"
    page = browser.follow(response)
    [message] = flashes(page, "error")
    assert message.startswith(
        f"Credit memo CM-1042.csv compared with batch {batch_id}: 1 quantity differs, 1 not in batch"
    )
    section = page.one("section", id="memo-comparison")
    assert section["data-matches"] == "false"
    lines = page.one("table", id="memo-lines").find_all("tr", data_outcome=True)
    assert [(tr["data-sku"], tr["data-outcome"]) for tr in lines] == [
        ("KIB-4", "quantity_differs"),
        ("ZZZ-1", "not_in_batch"),
    ]
    assert [td.text for td in lines[0].find_all("td")[:6]] == ["2", "KIB-4", "2", "3", "$25.00", "$37.50"]
    with rt.sessions() as s:
        assert s.get(Batch, batch_id).reconciled_at is None


def test_a_matching_memo_can_reconcile_the_batch_in_the_same_step(signed_in, people, rt, fb_world):
    batch_id = credited_batch(rt, fb_world, free_goods_for(rt, fb_world, 2))
    browser = signed_in(people.retailer)
    response = _memo(browser, batch_id, "SKU,Qty,Amount\nKIB-4,2,$25.00\n", reconcile_if_matched="true")
    page = browser.follow(response)
    assert flashes(page, "success")[0].endswith("1 matched. It matches the batch, which is now reconciled.")
    assert [tr["data-outcome"] for tr in page.one("table", id="memo-lines").find_all("tr", data_outcome=True)] == [
        "matched"
    ]
    assert "by user:rita@paws.example" in page.one("dd", id="reconciled").text


def test_a_malformed_memo_lists_its_problems_and_stores_nothing(signed_in, people, rt, fb_world):
    batch_id = credited_batch(rt, fb_world, free_goods_for(rt, fb_world, 1))
    browser = signed_in(people.retailer)
    before = snapshot(rt)
    response = _memo(browser, batch_id, "SKU,Qty,Ammount\nKIB-4,two,1\n")
    assert response.status_code == 422
    page = parse(response.text)
    rows = page.one("table", id="memo-problems").find_all("tr", data_row=True)
    assert rows and any("Ammount" in tr.text for tr in rows)
    assert "nothing was stored" in page.one("div", id="memo-rejected").text
    assert page.one("form", class_="credit-memo-upload")  # to try again
    assert snapshot(rt) == before


def test_a_memo_for_an_uncredited_batch_is_refused_with_a_flash(signed_in, people, rt, fb_world):
    batch = dist.create_batch(rt, fb_world.actors.distributor, free_goods_for(rt, fb_world, 1), "Open")
    browser = signed_in(people.retailer)
    before = snapshot(rt)
    page = browser.follow(_memo(browser, batch.id, "SKU,Qty\nKIB-4,1\n"))
    assert "a credit memo is compared with a credited batch" in flashes(page, "error")[0]
    assert snapshot(rt) == before


def test_reconcile_without_the_csrf_token_is_400_and_changes_nothing(signed_in, people, rt, fb_world):
    batch_id = credited_batch(rt, fb_world, free_goods_for(rt, fb_world, 1))
    browser = signed_in(people.retailer)
    before = snapshot(rt)
    response = browser.post(f"/admin/credit-status/batches/{batch_id}/reconcile", {}, csrf=None)
    assert response.status_code == 400
    assert snapshot(rt) == before
