"""The Fulfillments list: tabs, columns, the ERROR tooltip, search, filters, pagination, scope and roles."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import event

from connector.admin import fulfilments as fulfilments_view
from connector.admin import reads
from connector.core import reversal
from connector.core.errors import CATALOG, ProviderError
from connector.core.tables import Redemption
from tests.web.admin.conftest import row, row_ids
from tests.web.admin.dom import parse
from tests.web.admin.stories import (
    SEEDER,
    add_member,
    add_reward,
    day,
    failed,
    fulfilled,
    offsets,
    other_brand_redemption,
    pending,
    redeem,
    ship,
)


@pytest.fixture
def mix(rt, shop, world):
    """One redemption per status, oldest first: fulfilled, error, pending, reversed."""
    ids = {
        "fulfilled": fulfilled(rt, shop, world),
        "error": failed(rt, shop, world),
        "pending": pending(rt, shop, world),
        "reversed": fulfilled(rt, shop, world),
    }
    reversal.reverse_redemption(rt, ids["reversed"], SEEDER)
    return ids


def test_tabs_show_their_statuses_and_mark_the_current_one(signed_in, people, mix):
    browser = signed_in(people.support)
    expected = {
        "unfulfilled": [mix["pending"], mix["error"]],
        "fulfilled": [mix["fulfilled"]],
        "reversed": [mix["reversed"]],
        "all": [mix["reversed"], mix["pending"], mix["error"], mix["fulfilled"]],
    }
    for tab, ids in expected.items():
        page = browser.page(f"/admin/fulfilments?tab={tab}")
        assert row_ids(page) == ids, tab
        current = [a["data-tab"] for a in page.find_all("a", data_tab=True) if a.get("aria-current") == "page"]
        assert current == [tab]
        for rid in ids:
            status = next(k for k, v in mix.items() if v == rid)
            assert row(page, rid)["data-status"] == status
    default = browser.page("/admin/fulfilments")
    assert row_ids(default) == expected["unfulfilled"]
    assert default.one("a", data_tab="unfulfilled")["aria-current"] == "page"
    assert {a["data-tab"] for a in default.find_all("a", data_tab=True)} >= {"unfulfilled", "fulfilled", "reversed"}


def test_tab_counts_are_shown_and_capped(signed_in, people, mix, monkeypatch):
    browser = signed_in(people.support)
    page = browser.page("/admin/fulfilments")
    counts = {a["data-tab"]: a.find("span", class_="count") for a in page.find_all("a", data_tab=True)}
    assert counts["unfulfilled"].text == "2" and counts["fulfilled"].text == "1" and counts["reversed"].text == "1"
    monkeypatch.setattr(reads, "COUNT_CAP", 1)
    page = browser.page("/admin/fulfilments")
    assert page.one("a", data_tab="unfulfilled").one("span", class_="count").text == "1+"


def test_the_list_never_uses_offset_and_counts_read_a_bounded_number_of_rows(signed_in, people, rt, mix, monkeypatch):
    monkeypatch.setattr(fulfilments_view, "PAGE_SIZE", 1)
    browser = signed_in(people.support)
    statements: list[str] = []
    skipped: list[int] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.upper())
        skipped.extend(offsets(statement, parameters))

    event.listen(rt.engine, "before_cursor_execute", capture)
    try:
        first = browser.page("/admin/fulfilments?tab=all")
        browser.page(first.one("a", id="next-page")["href"])
    finally:
        event.remove(rt.engine, "before_cursor_execute", capture)
    assert statements and not any(skipped)  # keyset pages, never a row-skipping OFFSET
    counts = [s for s in statements if "COUNT(" in s]
    assert counts and all("LIMIT" in s for s in counts)


def test_columns_match_the_seed_screen_and_delivery_is_only_for_shop_orders(signed_in, people, rt, shop, world):
    email_reward = add_reward(rt, world, "Gift Card", channel="email", instructions="Code: GIFT-42")
    shop_id = fulfilled(rt, shop, world)
    email_id = redeem(rt, shop, member_id=world.member.id, reward_id=email_reward)
    ship(rt, shop_id, "in_transit")
    page = signed_in(people.brand_admin).page("/admin/fulfilments?tab=fulfilled")
    headers = [th.text for th in page.one("table", id="fulfilments").find_all("th")]
    for name in ("Name", "Date Claimed", "Status", "Offer Name", "Redemption Code", "Instructions", "Delivery"):
        assert name in headers
    shop_row, email_row = row(page, shop_id), row(page, email_id)
    assert "Ada Lovelace" in shop_row.text and "Ambassador T-Shirt" in shop_row.text
    assert "Ships in 5-7 days." in shop_row.one("td", class_="instructions").text
    assert shop_row.one("td", class_="delivery").text == "In transit"
    assert email_row.one("td", class_="delivery").text == ""
    assert "Code: GIFT-42" in email_row.text
    assert shop_row.one("a", class_="action-details")["href"] == f"/admin/redemptions/{shop_id}"
    assert shop_row.find("a", href=f"/admin/members/{world.member.id}")


def test_the_error_label_holds_a_tooltip_with_the_message_and_the_fix(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world, "crm_id_not_found")
    custom = redeem(
        rt,
        shop,
        member_id=world.member.id,
        reward_id=world.reward.id,
        outcome=ProviderError("order_rejected", "Shopify said: address is not deliverable", fix="Fix line 2."),
    )
    page = signed_in(people.support).page("/admin/fulfilments")
    label = row(page, rid).one("span", class_="status-label")
    assert label["data-status"] == "error" and label["tabindex"] == "0"
    assert label.children[0].strip() == "ERROR"
    tooltip = label.one("span", class_="error-tooltip")
    assert tooltip["role"] == "tooltip" and label["aria-describedby"] == tooltip["id"]
    entry = CATALOG["crm_id_not_found"]
    assert tooltip.one("span", class_="error-message").text == entry.message
    assert tooltip.one("span", class_="error-fix").text == entry.fix
    stored = row(page, custom).one("span", class_="error-tooltip")
    assert stored.one("span", class_="error-message").text == "Shopify said: address is not deliverable"
    assert stored.one("span", class_="error-fix").text == "Fix line 2."


def test_the_tooltip_is_hidden_until_hover_or_keyboard_focus(console):
    css = console.get("/admin/static/admin.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    text = css.text.replace("\n", " ")
    assert ".error-tooltip { display: none;" in text
    for trigger in (
        ".status-label:hover .error-tooltip",
        ".status-label:focus .error-tooltip",
        ".status-label:focus-within .error-tooltip",
    ):
        assert trigger in text


def test_a_temporary_error_shows_pending_with_the_next_attempt_and_no_retry(signed_in, people, rt, shop, world):
    rid = pending(rt, shop, world)
    page = signed_in(people.support).page("/admin/fulfilments")
    label = row(page, rid).one("span", class_="status-label")
    assert label["data-status"] == "pending" and label.children[0].strip() == "PENDING"
    tooltip = label.one("span", class_="error-tooltip")
    assert "Shopify answered 503" in tooltip.one("span", class_="error-message").text
    assert "Retrying automatically; next attempt" in tooltip.text
    assert row(page, rid).find("form", class_="action-retry") is None


def test_a_fulfilled_label_has_no_tooltip(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    label = row(signed_in(people.support).page("/admin/fulfilments?tab=fulfilled"), rid).one(
        "span", class_="status-label"
    )
    assert label.text == "FULFILLED" and label.find("span", role="tooltip") is None


def test_search_by_member_name_email_code_and_offer(signed_in, people, rt, shop, world):
    grace = add_member(rt, world, "Grace", "Hopper", "grace@example.com")
    mug = add_reward(rt, world, "Enamel Mug")
    ada_tee = fulfilled(rt, shop, world)
    grace_mug = redeem(rt, shop, member_id=grace, reward_id=mug)
    browser = signed_in(people.support)
    with rt.sessions() as s:
        code = s.get(Redemption, grace_mug).code

    def search(q: str, tab: str = "fulfilled") -> list[int]:
        return row_ids(browser.page(f"/admin/fulfilments?tab={tab}&q={q}"))

    assert search("hopper") == [grace_mug]
    assert search("Ada Lovelace") == [ada_tee]
    assert search("grace@example.com") == [grace_mug]
    assert search(code.lower()) == [grace_mug]
    assert search("enamel") == [grace_mug]
    assert search("nobody-by-that-name") == []
    assert search("hopper", tab="unfulfilled") == []
    page = browser.page("/admin/fulfilments?tab=fulfilled&q=hopper")
    assert page.one("form", id="filters").one("input", name="q")["value"] == "hopper"
    assert page.one("form", id="filters").one("input", name="tab", type="hidden")["value"] == "fulfilled"
    assert "No redemptions match these filters" in browser.page("/admin/fulfilments?q=zzz").text


def test_status_filter_works_within_its_tab_and_says_when_it_does_not_fit(signed_in, people, mix):
    browser = signed_in(people.support)
    assert row_ids(browser.page("/admin/fulfilments?tab=unfulfilled&status=error")) == [mix["error"]]
    assert row_ids(browser.page("/admin/fulfilments?tab=unfulfilled&status=pending")) == [mix["pending"]]
    assert row_ids(browser.page("/admin/fulfilments?tab=all&status=reversed")) == [mix["reversed"]]
    options = browser.page("/admin/fulfilments?tab=unfulfilled").one("select", name="status").find_all("option")
    assert [o["value"] for o in options] == ["", "pending", "error"]
    page = browser.page("/admin/fulfilments?tab=fulfilled&status=error", status=400)
    assert "not a status of this tab" in page.one("main").text and row_ids(page) == []


def test_reward_filter(signed_in, people, rt, shop, world):
    mug = add_reward(rt, world, "Enamel Mug")
    tee_id = fulfilled(rt, shop, world)
    mug_id = redeem(rt, shop, member_id=world.member.id, reward_id=mug)
    browser = signed_in(people.brand_admin)
    assert row_ids(browser.page(f"/admin/fulfilments?tab=fulfilled&reward={mug}")) == [mug_id]
    assert row_ids(browser.page(f"/admin/fulfilments?tab=fulfilled&reward={world.reward.id}")) == [tee_id]
    options = browser.page("/admin/fulfilments").one("select", name="reward").find_all("option")
    assert {o.text for o in options} == {"Any", "Ambassador T-Shirt", "Enamel Mug"}
    assert "pick a reward" in browser.page("/admin/fulfilments?reward=mug", status=400).one("main").text


def test_date_range_includes_both_days_in_utc(signed_in, people, rt, shop, world):
    ids = {d: fulfilled(rt, shop, world, at=day(2026, 7, d, hour=h)) for d, h in ((1, 23), (2, 0), (3, 12), (4, 0))}
    browser = signed_in(people.support)

    def between(start: str = "", end: str = "") -> set[int]:
        return set(row_ids(browser.page(f"/admin/fulfilments?tab=fulfilled&claimed_from={start}&claimed_to={end}")))

    assert between("2026-07-02", "2026-07-03") == {ids[2], ids[3]}
    assert between("2026-07-03") == {ids[3], ids[4]}
    assert between(end="2026-07-01") == {ids[1]}
    page = browser.page("/admin/fulfilments?claimed_from=2026-07-02")
    assert page.one("input", name="claimed_from")["value"] == "2026-07-02"
    for bad in ("claimed_from=07/02/2026", "claimed_to=2026-13-01", "claimed_from=2026-07-03&claimed_to=2026-07-01"):
        page = browser.page(f"/admin/fulfilments?{bad}", status=400)
        assert row_ids(page) == [] and page.find("div", class_="flash", data_kind="error"), bad


def test_pages_follow_a_keyset_cursor_without_gaps_or_repeats(signed_in, people, rt, shop, world, monkeypatch):
    monkeypatch.setattr(fulfilments_view, "PAGE_SIZE", 3)
    ids = [fulfilled(rt, shop, world) for _ in range(7)]
    browser = signed_in(people.support)
    seen, url, pages = [], "/admin/fulfilments?tab=fulfilled&q=lovelace", 0
    while url:
        page = browser.page(url)
        pages += 1
        seen += row_ids(page)
        nxt = page.find("a", id="next-page")
        url = nxt["href"] if nxt else None
        if url:
            assert "q=lovelace" in url and "tab=fulfilled" in url and "cursor=" in url
        if pages > 1:
            assert page.one("a", id="first-page")["href"] == "/admin/fulfilments?tab=fulfilled&q=lovelace"
    assert pages == 3 and seen == list(reversed(ids))


@pytest.mark.parametrize(
    "cursor",
    ["garbage", base64.urlsafe_b64encode(b"2026-07-01T12:00:00|5").decode(), base64.urlsafe_b64encode(b"x|y").decode()],
)
def test_a_broken_cursor_is_a_400_page_not_a_500(signed_in, people, cursor):
    page = signed_in(people.support).page(f"/admin/fulfilments?cursor={cursor}", status=400)
    assert "start again from the first page" in page.one("main").text


def test_brand_scope_in_the_list(signed_in, people, rt, shop, world):
    mine = fulfilled(rt, shop, world)
    theirs = other_brand_redemption(rt, shop, world)
    assert row_ids(signed_in(people.brand_admin).page("/admin/fulfilments?tab=all")) == [mine]
    assert row_ids(signed_in(people.viewer).page("/admin/fulfilments?tab=all")) == [mine]
    assert row_ids(signed_in(people.other_admin).page("/admin/fulfilments?tab=all")) == [theirs]
    assert row_ids(signed_in(people.other_admin).page("/admin/fulfilments?tab=all&q=ada@example.com")) == []
    for person in (people.support, people.platform_admin, people.global_viewer):
        page = signed_in(person).page("/admin/fulfilments?tab=all")
        assert row_ids(page) == [theirs, mine]
        assert "Other Brand" in row(page, theirs).text and "Acme Pets" in row(page, mine).text
    # A brand admin's picker lists only their brand's rewards.
    options = signed_in(people.other_admin).page("/admin/fulfilments").one("select", name="reward").find_all("option")
    assert [o.text for o in options] == ["Any", "Other Mug"]


def test_a_viewer_sees_rows_and_details_links_but_no_action(signed_in, people, mix):
    for person in (people.viewer, people.global_viewer):
        for tab in ("unfulfilled", "fulfilled", "reversed"):
            page = signed_in(person).page(f"/admin/fulfilments?tab={tab}")
            assert row_ids(page)
            assert len(page.find_all("a", class_="action-details")) == len(row_ids(page))
            assert page.find_all("form", class_="action-resend") == []
            assert page.find_all("form", class_="action-retry") == []
            assert page.find_all("a", class_="action-reverse") == []
            assert page.find("form", id="bulk-form") is None and page.find_all("input", name="ids") == []
            assert page.one("a", id="export-csv")


def test_actions_offered_per_row_follow_the_lifecycle(signed_in, people, mix):
    page = signed_in(people.support).page("/admin/fulfilments?tab=all")
    offered = {
        status: (
            bool(row(page, rid).find("form", class_="action-retry")),
            bool(row(page, rid).find("form", class_="action-resend")),
            bool(row(page, rid).find("a", class_="action-reverse")),
        )
        for status, rid in mix.items()
    }
    assert offered == {
        "fulfilled": (False, True, True),
        "error": (True, False, True),  # no confirmation for a blocked order: fix and retry first
        "pending": (False, True, True),
        "reversed": (False, False, False),
    }
    assert (
        row(page, mix["error"]).one("a", class_="action-reverse")["href"]
        == f"/admin/redemptions/{mix['error']}/reverse"
    )
    for form in page.find_all("form", class_="action-retry") + page.find_all("form", class_="action-resend"):
        assert form["method"] == "post"


def test_bulk_form_and_checkboxes_are_on_the_page_for_acting_roles(signed_in, people, mix):
    page = signed_in(people.brand_admin).page("/admin/fulfilments")
    bulk = page.one("form", id="bulk-form")
    assert bulk["method"] == "post" and bulk["action"] == "/admin/fulfilments/bulk"
    assert {b["value"] for b in bulk.find_all("button", name="action")} == {"retry", "resend"}
    boxes = page.find_all("input", name="ids")
    assert {int(b["value"]) for b in boxes} == {mix["error"], mix["pending"]}
    assert all(b["type"] == "checkbox" and b["form"] == "bulk-form" for b in boxes)


def test_the_export_link_carries_the_current_filters(signed_in, people, mix):
    page = signed_in(people.support).page("/admin/fulfilments?tab=fulfilled&q=ada&cursor=")
    href = page.one("a", id="export-csv")["href"]
    assert href == "/admin/fulfilments/export.csv?tab=fulfilled&q=ada"


def test_distributor_and_retailer_users_get_a_403_page_with_the_reason(signed_in, people, mix, world):
    for person in (people.distributor, people.retailer):
        browser = signed_in(person)
        for url in (
            "/admin/fulfilments",
            f"/admin/redemptions/{mix['error']}",
            f"/admin/redemptions/{mix['error']}/reverse",
            f"/admin/members/{world.member.id}",
            "/admin/fulfilments/export.csv",
        ):
            response = browser.get(url)
            assert response.status_code == 403 and response.mimetype == "text/html", url
            assert "works on frequent-buyer credits, not on reward redemptions" in parse(response.text).one("main").text


def test_names_are_escaped_not_run(signed_in, people, rt, shop, world):
    member = add_member(rt, world, "<script>alert(1)</script>", "<b>Bold</b>", "x@example.com")
    redeem(rt, shop, member_id=member, reward_id=world.reward.id)
    html = signed_in(people.support).get("/admin/fulfilments?tab=fulfilled").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Bold</b>" not in html
