"""The Distributor Portal through its forms: each move goes through the page to the core, lands in the database
with an event naming the signed-in user, and comes back with a flash saying what moved; an illegal move shows the
core's refusal and changes nothing; roles that may not act see no buttons and are refused anyway."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from connector.core.frequent_buyer import distribution as dist
from connector.core.frequent_buyer import programs
from connector.core.frequent_buyer.credit_status import reconcile_batch
from connector.core.frequent_buyer.tables import Batch, CreditGroup, FbEvent, FreeGood
from tests.frequent_buyer.distribution_fixtures import snapshot
from tests.web.admin.dom import parse
from tests.web.admin_fb.conftest import bark_free_good, credited_batch, flashes, free_goods_for

ACTIONS = "/admin/distribution/actions"


def _goods(rt, ids):
    """Each free good's (status, batch id, reason)."""
    with rt.sessions() as s:
        rows = s.execute(
            select(FreeGood.id, FreeGood.status, FreeGood.batch_id, FreeGood.reason).where(FreeGood.id.in_(ids))
        )
        return {r.id: (r.status, r.batch_id, r.reason) for r in rows}


def _events(rt, subject_type, subject_id):
    with rt.sessions() as s:
        return [
            (e.event, e.from_status, e.to_status, e.actor)
            for e in s.scalars(
                select(FbEvent)
                .where(FbEvent.subject_type == subject_type, FbEvent.subject_id == subject_id)
                .order_by(FbEvent.id)
            )
        ]


def _act(browser, action, ids, **fields):
    """Tick ``ids`` in form#distribution-actions and press the ``action`` button, as the page does."""
    return browser.post(
        ACTIONS, {"action": action, "ids": [str(i) for i in ids], "next": "/admin/distribution", **fields}
    )


def test_the_dashboard_shows_five_tabs_with_counts_and_the_action_form(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 3)
    credited_batch(rt, fb_world, goods[:1])
    browser = signed_in(people.distributor)
    page = browser.page("/admin/distribution")
    tabs = {a["data-section"]: a for a in page.one("nav", class_="tabs").find_all("a")}
    assert list(tabs) == ["unbatched", "unfulfilled", "fulfilled", "grouped", "declined_held"]
    assert {k: a.one("span", class_="count").text for k, a in tabs.items()} == {
        "unbatched": "2",
        "unfulfilled": "0",
        "fulfilled": "1",
        "grouped": "0",
        "declined_held": "0",
    }
    assert tabs["unbatched"].get("aria-current") == "page"
    assert tabs["unbatched"]["data-core-section"] == "unbatched-free-goods"
    form = page.one("form", id="distribution-actions")
    boxes = form.find_all("input", name="ids")
    assert sorted(int(b["value"]) for b in boxes) == goods[1:]
    assert {b["value"] for b in form.find_all("button", name="action")} == {"batch", "add", "decline", "hold"}
    # The core's section names work in the link too.
    page = browser.page("/admin/distribution?section=fulfilled-batches")
    assert page.one("a", data_section="fulfilled").get("aria-current") == "page"


def test_batching_the_ticked_free_goods_creates_a_batch_and_says_so(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 3)
    browser = signed_in(people.distributor)
    response = _act(browser, "batch", goods[:2], description="Paws week 24")
    page = browser.follow(response)
    [message] = flashes(page, "success")
    with rt.sessions() as s:
        batch = s.scalars(select(Batch)).one()
    assert message == (
        f'Batch {batch.id} "Paws week 24" created for Paws Corner with 2 free goods ({goods[0]}, {goods[1]}): it is '
        "in Unfulfilled Batches."
    )
    assert (batch.status, batch.created_by) == ("unfulfilled", people.distributor.actor_name)
    assert _goods(rt, goods) == {
        goods[0]: ("batched", batch.id, None),
        goods[1]: ("batched", batch.id, None),
        goods[2]: ("unbatched", None, None),
    }
    assert _events(rt, "free_good", goods[0])[-1] == ("batch", "unbatched", "batched", people.distributor.actor_name)
    assert _events(rt, "batch", batch.id) == [("create", None, "unfulfilled", people.distributor.actor_name)]


def test_adding_to_an_existing_batch_and_unbatching_from_the_batch_page(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 3)
    batch = dist.create_batch(rt, fb_world.actors.distributor, goods[:1], "Open batch")
    browser = signed_in(people.distributor)
    options = browser.page("/admin/distribution").one("select", name="batch_id").find_all("option")
    assert str(batch.id) in [o["value"] for o in options]
    page = browser.follow(_act(browser, "add", goods[1:], batch_id=str(batch.id)))
    assert flashes(page, "success")[0].startswith(f"Added 2 free goods ({goods[1]}, {goods[2]}) to batch {batch.id}")
    assert {g[1] for g in _goods(rt, goods).values()} == {batch.id}
    assert _events(rt, "free_good", goods[1])[-1] == ("batch", "unbatched", "batched", people.distributor.actor_name)
    assert _events(rt, "batch", batch.id)[-1] == ("add", "unfulfilled", "unfulfilled", people.distributor.actor_name)

    batch_page = browser.page(f"/admin/distribution/batches/{batch.id}")
    form = batch_page.one("form", id="distribution-actions")
    assert {b["value"] for b in form.find_all("button", name="action")} == {"unbatch", "decline", "hold"}
    assert batch_page.one("form", class_="action-fulfil")
    response = browser.post(
        ACTIONS, {"action": "unbatch", "ids": [str(goods[0])], "next": f"/admin/distribution/batches/{batch.id}"}
    )
    assert response.headers["Location"] == f"/admin/distribution/batches/{batch.id}"
    page = browser.follow(response)
    assert flashes(page, "success") == [
        f"Unbatched 1 free good ({goods[0]}) (taken out of batch {batch.id}): they are back in Unbatched Free Goods."
    ]
    assert _goods(rt, [goods[0]])[goods[0]] == ("unbatched", None, None)
    assert _events(rt, "free_good", goods[0])[-1] == ("unbatch", "batched", "unbatched", people.distributor.actor_name)
    assert [e[0] for e in _events(rt, "batch", batch.id)] == ["create", "add", "remove"]
    history = page.one("table", id="batch-events").find_all("tr", data_event=True)
    assert [tr["data-event"] for tr in history] == ["create", "add", "remove"]


def test_decline_needs_a_reason_hold_and_release_round_trip(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 2)
    browser = signed_in(people.distributor)
    before = snapshot(rt)
    page = browser.follow(_act(browser, "decline", goods[:1], reason="  "))
    assert "Reason is required" in flashes(page, "error")[0]
    assert snapshot(rt) == before

    page = browser.follow(_act(browser, "decline", goods[:1], reason="not on our invoices"))
    assert flashes(page, "success") == [
        f'Declined 1 free good ({goods[0]}) with the reason "not on our invoices": they are in Declined/Held Credits.'
    ]
    assert _events(rt, "free_good", goods[0])[-1] == ("decline", "unbatched", "declined", people.distributor.actor_name)
    page = browser.follow(_act(browser, "hold", goods[1:], reason="checking the card"))
    assert _goods(rt, goods) == {
        goods[0]: ("declined", None, "not on our invoices"),
        goods[1]: ("held", None, "checking the card"),
    }
    held = browser.page("/admin/distribution?section=declined_held")
    rows = held.one("table", id="section-free-goods").find_all("tr", data_free_good_id=True)
    assert {r["data-status"] for r in rows} == {"declined", "held"}
    assert {b["value"] for b in held.one("form", id="distribution-actions").find_all("button", name="action")} == {
        "release"
    }
    page = browser.follow(_act(browser, "release", goods))
    assert flashes(page, "success") == [f"Released 2 free goods ({goods[0]}, {goods[1]}) back to Unbatched Free Goods."]
    assert {v[0] for v in _goods(rt, goods).values()} == {"unbatched"}
    actor = people.distributor.actor_name
    assert _events(rt, "free_good", goods[1])[-2:] == [
        ("hold", "unbatched", "held", actor),
        ("release", "held", "unbatched", actor),
    ]


@pytest.mark.parametrize(
    ("action", "fields", "fix"),
    [
        ("batch", {"description": "again"}, "Only Unbatched free goods can be batched"),
        ("release", {}, "Only Declined or Held free goods can be released"),
    ],
)
def test_an_illegal_move_shows_the_cores_refusal_and_changes_nothing(
    signed_in, people, rt, fb_world, action, fields, fix
):
    goods = free_goods_for(rt, fb_world, 2)
    dist.create_batch(rt, fb_world.actors.distributor, goods[:1], "Already batched")
    browser = signed_in(people.distributor)
    before = snapshot(rt)
    page = browser.follow(_act(browser, action, goods, **fields))
    [message] = flashes(page, "error")
    assert f"{goods[0]} is batched" in message and "Nothing was changed." in message and fix in message
    assert flashes(page, "success") == []
    assert snapshot(rt) == before


def test_marking_a_batch_fulfilled_credits_its_free_goods(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 2)
    batch = dist.create_batch(rt, fb_world.actors.distributor, goods, "To credit")
    empty = dist.create_batch(rt, fb_world.actors.distributor, [free_goods_for(rt, fb_world, 1, start=9)[0]], "Empty")
    dist.unbatch(
        rt,
        fb_world.actors.distributor,
        [g.id for g in dist.get_batch(rt, fb_world.actors.distributor, empty.id).free_goods],
    )
    browser = signed_in(people.distributor)
    page = browser.page("/admin/distribution?section=unfulfilled")
    row = page.one("table", id="section-batches").one("tr", data_batch_id=str(batch.id))
    assert row["data-status"] == "unfulfilled"
    form = row.one("form", class_="action-fulfil")
    page = browser.follow(browser.post(form["action"], {"next": "/admin/distribution?section=unfulfilled"}))
    assert flashes(page, "success") == [
        f'Batch {batch.id} "To credit" marked fulfilled/credited: 2 free goods (quantity 2) credited to Paws Corner. '
        "It is in Fulfilled Batches; the retailer can now reconcile it."
    ]
    with rt.sessions() as s:
        assert s.get(Batch, batch.id).status == "fulfilled"
    assert {v[0] for v in _goods(rt, goods).values()} == {"credited"}
    assert _events(rt, "batch", batch.id)[-1] == ("fulfil", "unfulfilled", "fulfilled", people.distributor.actor_name)

    # An empty batch cannot be fulfilled; fulfilling twice is refused too. Nothing changes either time.
    before = snapshot(rt)
    for target in (empty.id, batch.id):
        page = browser.follow(browser.post(f"/admin/distribution/batches/{target}/fulfil", {}))
        [message] = flashes(page, "error")
        assert message.startswith("Cannot fulfil ") and message.endswith("Nothing was changed.")
    assert snapshot(rt) == before


def test_grouping_fulfilled_batches_for_mfg_credit(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 3)
    first, second = credited_batch(rt, fb_world, goods[:1], "A"), credited_batch(rt, fb_world, goods[1:2], "B")
    open_batch = dist.create_batch(rt, fb_world.actors.distributor, goods[2:], "Still open").id
    browser = signed_in(people.distributor)
    page = browser.page("/admin/distribution?section=fulfilled")
    form = page.one("form", id="group-form")
    assert sorted(int(i["value"]) for i in form.find_all("input", name="batch_ids")) == [first, second]

    before = snapshot(rt)  # an unfulfilled batch cannot be grouped: refused, nothing changed
    page = browser.follow(
        browser.post(form["action"], {"batch_ids": [str(first), str(open_batch)], "description": "x"})
    )
    assert f"{open_batch} is unfulfilled" in flashes(page, "error")[0]
    assert snapshot(rt) == before

    response = browser.post(form["action"], {"batch_ids": [str(first), str(second)], "description": "Acme June claim"})
    page = browser.follow(response)
    with rt.sessions() as s:
        group = s.scalars(select(CreditGroup)).one()
        assert {b.status for b in s.scalars(select(Batch).where(Batch.id.in_([first, second])))} == {"grouped"}
    assert flashes(page, "success")[0].startswith(
        f'Grouped 2 batches ({first}, {second}) for MFG credit as credit group {group.id} "Acme June claim"'
    )
    assert _events(rt, "batch", first)[-1] == ("group", "fulfilled", "grouped", people.distributor.actor_name)
    grouped = browser.page("/admin/distribution?section=grouped")
    assert {
        r["data-batch-id"] for r in grouped.one("table", id="section-batches").find_all("tr", data_batch_id=True)
    } == {
        str(first),
        str(second),
    }


def test_taking_credits_back_from_a_fulfilled_batch_through_its_page(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 2)
    batch = credited_batch(rt, fb_world, goods, "Credited week")
    browser = signed_in(people.distributor)
    actor = people.distributor.actor_name

    # The Fulfilled Batches section links to the batch page, where the controls are.
    section = browser.page("/admin/distribution?section=fulfilled")
    row = section.one("table", id="section-batches").one("tr", data_batch_id=str(batch))
    assert row.one("a", class_="fb-take-back")["href"] == f"/admin/distribution/batches/{batch}"
    batch_url = f"/admin/distribution/batches/{batch}"
    page = browser.page(batch_url)
    form = page.one("form", id="distribution-actions")
    assert form["data-moves"] == "take_back"
    assert {b["value"] for b in form.find_all("button", name="action")} == {"unbatch", "decline"}  # no hold
    assert sorted(int(i["value"]) for i in form.find_all("input", name="ids")) == goods
    assert page.one(id="take-back-note")

    # Decline one with a reason, from the batch page: back on the batch page with what moved.
    response = browser.post(
        ACTIONS, {"action": "decline", "ids": [str(goods[0])], "reason": "not on our credit memo", "next": batch_url}
    )
    assert response.headers["Location"] == batch_url
    page = browser.follow(response)
    assert flashes(page, "success") == [
        f'Declined 1 free good ({goods[0]}) (taken out of batch {batch}) with the reason "not on our credit memo": '
        "they are in Declined/Held Credits."
    ]
    assert _goods(rt, goods) == {
        goods[0]: ("declined", None, "not on our credit memo"),
        goods[1]: ("credited", batch, None),
    }
    assert _events(rt, "free_good", goods[0])[-1] == ("decline", "credited", "declined", actor)
    assert _events(rt, "batch", batch)[-1] == ("remove", "fulfilled", "fulfilled", actor)
    assert page.one("dd", data_count="free_goods").text == "1"

    # Unbatch the other from its own free-good page: the batch is left empty but stays, and cannot be grouped.
    good_page = browser.page(f"/admin/distribution/free-goods/{goods[1]}")
    form = good_page.one("form", id="distribution-actions")
    assert {b["value"] for b in form.find_all("button", name="action")} == {"unbatch", "decline"}
    browser.follow(browser.post(ACTIONS, {"action": "unbatch", "ids": [str(goods[1])], "next": batch_url}))
    assert _goods(rt, [goods[1]])[goods[1]] == ("unbatched", None, None)
    assert _events(rt, "free_good", goods[1])[-1] == ("unbatch", "credited", "unbatched", actor)
    page = browser.page(batch_url)
    assert page.one("h1")["data-status"] == "fulfilled" and page.find("form", id="distribution-actions") is None
    assert page.one(id="batch-emptied")
    row = browser.page("/admin/distribution?section=fulfilled").one("tr", data_batch_id=str(batch))
    assert "disabled" in row.one("input", name="batch_ids").attrs and row.find("a", class_="fb-take-back") is None
    before = snapshot(rt)
    page = browser.follow(
        browser.post("/admin/distribution/credit-groups", {"batch_ids": [str(batch)], "description": "claim"})
    )
    [message] = flashes(page, "error")
    assert "no free goods are left in it" in message and "still hold free goods" in message
    assert snapshot(rt) == before


def test_take_back_controls_are_hidden_for_reconciled_and_grouped_batches(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 2)
    reconciled = credited_batch(rt, fb_world, goods[:1], "Reconciled")
    grouped = credited_batch(rt, fb_world, goods[1:], "Grouped")
    reconcile_batch(rt, fb_world.actors.retailer, reconciled)
    group = dist.group_for_mfg_credit(rt, fb_world.actors.distributor, [grouped], "Acme claim")
    browser = signed_in(people.distributor)

    row = browser.page("/admin/distribution?section=fulfilled").one("tr", data_batch_id=str(reconciled))
    assert row.find("a", class_="fb-take-back") is None
    for batch, why in (
        (reconciled, f"batch {reconciled} was reconciled by the retailer on "),
        (grouped, f"batch {grouped} is grouped for MFG credit (credit group {group.id})"),
    ):
        page = browser.page(f"/admin/distribution/batches/{batch}")
        assert page.find("form", id="distribution-actions") is None and page.find("input", name="ids") is None
        assert why in page.one(id="batch-locked").text
    good_page = browser.page(f"/admin/distribution/free-goods/{goods[0]}")
    assert good_page.find("form", id="distribution-actions") is None

    # Posting anyway is refused by the core, naming the batch and why; nothing changes.
    before = snapshot(rt)
    page = browser.follow(_act(browser, "decline", goods[:1], reason="late"))
    [message] = flashes(page, "error")
    assert f"batch {reconciled} was reconciled by the retailer on " in message
    assert "a credit the retailer has confirmed cannot be taken back here" in message
    assert "Nothing was changed." in message
    page = browser.follow(_act(browser, "unbatch", goods[1:]))
    assert f"batch {grouped} is grouped for MFG credit" in flashes(page, "error")[0]
    assert snapshot(rt) == before


def test_support_reads_the_portal_without_buttons_and_its_posts_are_refused(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 2)
    batch = dist.create_batch(rt, fb_world.actors.distributor, goods[:1], "Open")
    browser = signed_in(people.support)
    for url in (
        "/admin/distribution",
        "/admin/distribution?section=unfulfilled",
        f"/admin/distribution/batches/{batch.id}",
    ):
        page = browser.page(url)
        assert page.find("form", id="distribution-actions") is None
        assert page.find("form", class_="action-fulfil") is None
        assert page.find("input", name="ids") is None
    assert browser.page("/admin/distribution?section=fulfilled").find("form", id="group-form") is None
    before = snapshot(rt)
    assert _act(browser, "batch", goods[1:], description="x").status_code == 403
    assert browser.post(f"/admin/distribution/batches/{batch.id}/fulfil", {}).status_code == 403
    assert (
        browser.post(
            "/admin/distribution/credit-groups", {"batch_ids": [str(batch.id)], "description": "x"}
        ).status_code
        == 403
    )
    assert snapshot(rt) == before


def test_a_distributor_cannot_see_or_move_another_distributors_free_goods(signed_in, people, rt, fb_world):
    mine = free_goods_for(rt, fb_world, 1)
    theirs = bark_free_good(rt, fb_world)
    their_batch = dist.create_batch(rt, fb_world.actors.other_distributor, [theirs], "Columbia's").id
    browser = signed_in(people.distributor)
    assert browser.get(f"/admin/distribution/batches/{their_batch}").status_code == 404
    assert browser.get(f"/admin/distribution/free-goods/{theirs}").status_code == 404
    page = browser.page("/admin/distribution")
    assert [int(b["value"]) for b in page.find_all("input", name="ids")] == mine
    before = snapshot(rt)
    assert _act(browser, "decline", [theirs], reason="not mine").status_code == 404
    assert browser.post(f"/admin/distribution/batches/{their_batch}/fulfil", {}).status_code == 404
    assert snapshot(rt) == before


def test_a_move_without_the_csrf_token_is_400_and_changes_nothing(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 2)
    browser = signed_in(people.distributor)
    before = snapshot(rt)
    for token in (None, "forged"):
        response = browser.post(
            ACTIONS, {"action": "batch", "ids": [str(g) for g in goods], "description": "x"}, csrf=token
        )
        assert response.status_code == 400
        assert "did not come from this console, so nothing was changed" in parse(response.text).one("main").text
    assert snapshot(rt) == before


def test_a_platform_admin_acts_on_a_distributors_behalf_by_name(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 1)
    browser = signed_in(people.platform_admin)
    page = browser.page("/admin/distribution")
    assert page.one("form", id="distribution-actions")
    browser.follow(_act(browser, "hold", goods, reason="on behalf of Northwest"))
    assert _events(rt, "free_good", goods[0])[-1] == ("hold", "unbatched", "held", people.platform_admin.actor_name)


def test_a_brand_admin_reads_its_brands_free_goods_only_and_has_no_buttons(signed_in, people, rt, fb_world):
    free_goods_for(rt, fb_world, 2)
    page = signed_in(people.brand_admin).page("/admin/distribution")
    rows = page.one("table", id="section-free-goods").find_all("tr", data_free_good_id=True)
    assert len(rows) == 2 and page.find("form", id="distribution-actions") is None


# -- reports ---------------------------------------------------------------------------------------------------


REPORTS = [
    "participating-retailers",
    "account-number-changes",
    "enrolled-programs",
    "associated-programs",
    "free-goods-fulfillment",
    "free-goods-fulfillment-history",
    "search-free-goods-fulfillment",
]


def test_the_reports_menu_lists_the_reports(signed_in, people, fb_world):
    page = signed_in(people.distributor).page("/admin/distribution/reports")
    listed = [li["data-report"] for li in page.one("ul", id="report-list").find_all("li")]
    assert listed == [*REPORTS, "search-rebate-fulfillment", "rebate-credit-fulfillment"]


@pytest.mark.parametrize("name", REPORTS)
def test_each_report_page_has_its_filters_rows_and_a_csv_link(signed_in, people, rt, fb_world, name):
    goods = free_goods_for(rt, fb_world, 2, name='=HYPERLINK("http://evil")')
    credited_batch(rt, fb_world, goods[:1])
    programs.set_account_number(rt, fb_world.actors.retailer, fb_world.kibble_enrollment_id, "NW-1")
    browser = signed_in(people.distributor)
    page = browser.page(f"/admin/distribution/reports/{name}")
    filters = {el["name"] for el in page.one("form", id="report-filters").find_all(name=True)}
    assert "distributor_id" not in filters  # a distributor sees its own only
    assert ("customer" in filters) == (name == "search-free-goods-fulfillment")
    table = page.one("table", id="report")
    assert table.find_all("tbody")[0].find_all("tr")
    link = page.one("a", id="report-csv")["href"]
    response = browser.get(link)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="{name}-')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header = [th.text for th in table.find_all("th")]
    assert rows[0] == header
    if "customer" in (c.lower() for c in header):
        customers = {r[header.index("Customer")] for r in rows[1:]}
        assert customers == {'\'=HYPERLINK("http://evil")'}  # defused, as a spreadsheet must not run it


def test_report_filters_narrow_the_rows_and_the_csv_follows_them(signed_in, people, rt, fb_world):
    goods = free_goods_for(rt, fb_world, 3)
    dist.create_batch(rt, fb_world.actors.distributor, goods[:1], "One")
    browser = signed_in(people.distributor)
    url = "/admin/distribution/reports/free-goods-fulfillment?status=batched"
    page = browser.page(url)
    ids = [td.text for td in page.one("table", id="report").find_all("td", data_column="free_good_id")]
    assert ids == [str(goods[0])]
    link = page.one("a", id="report-csv")["href"]
    assert "status=batched" in link
    rows = list(csv.reader(io.StringIO(browser.get(link).get_data(as_text=True))))
    assert [r[0] for r in rows[1:]] == [str(goods[0])]


def test_a_bad_report_filter_is_named_on_the_page_and_the_csv_refuses_it(signed_in, people, rt, fb_world):
    browser = signed_in(people.distributor)
    response = browser.get("/admin/distribution/reports/free-goods-fulfillment?date_from=2026-13-01")
    assert response.status_code == 400
    page = parse(response.text)
    assert "use a date like" in page.one("div", class_="flash").text and page.find("table", id="report") is None
    response = browser.get("/admin/distribution/reports/free-goods-fulfillment.csv?status=nonsense")
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert browser.get("/admin/distribution/reports/no-such-report").status_code == 404
