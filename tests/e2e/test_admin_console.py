"""The admin console in a real browser: what support staff rely on, end to end.

Each test drives headless Chromium against the live app (real templates, real sessions and
forms, the real database) and checks the page as a person sees it, then the database where
a click must have changed something (points, ledger rows, the shop's cancelled orders).
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from connector.core.errors import CATALOG
from connector.core.runtime import Runtime
from connector.core.tables import OutboundMessage, Redemption
from tests.e2e.pages import (
    TABS,
    click_and_wait,
    current_tab,
    flash,
    log_in,
    log_in_to_fulfilments,
    open_tab,
    row,
    row_ids,
    row_statuses,
    rows,
    set_field,
    submit,
    url_path,
    wait_until_seen,
)
from tests.e2e.seed import FORMULA_NAME, Console
from tests.fakes import FakeShopPlugin
from tests.web.admin.stories import balance as points_of
from tests.web.admin.stories import returned_entries

TAB_STATUSES = {"unfulfilled": {"pending", "error"}, "fulfilled": {"fulfilled"}, "reversed": {"reversed"}}
ACTION_SELECTORS = (
    ".action-reverse",
    "form.action-resend",
    "form.action-retry",
    '#bulk-form button[name="action"]',
)


def _redemption(rt: Runtime, redemption_id: int) -> Redemption:
    with rt.sessions() as s:
        r = s.get(Redemption, redemption_id)
        assert r is not None
        return r


def _codes(rt: Runtime, ids: set[int]) -> set[str]:
    with rt.sessions() as s:
        return set(s.scalars(select(Redemption.code).where(Redemption.id.in_(ids))))


def query_tab(page: Page) -> str:
    """The tab the URL asks for (the Unfulfilled tab when it names none)."""
    return parse_qs(urlparse(page.url).query).get("tab", ["unfulfilled"])[0]


def _tab_ids(console: Console, rt: Runtime, tab: str, brand_id: int | None = None) -> set[int]:
    return console.ids_with_status(rt, *TAB_STATUSES[tab], brand_id=brand_id)


# -- signing in and out ---------------------------------------------------------------------------------------


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(page: Page, console: Console) -> None:
    log_in(page, console.support, password="not-the-password")

    expect(page).to_have_url(url_path("/admin/login"))
    expect(flash(page, "error")).to_be_visible()
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#fulfilments")).to_have_count(0)


def test_right_password_lands_on_the_unfulfilled_fulfilments(page: Page, console: Console, rt: Runtime) -> None:
    log_in(page, console.support)

    expect(page).to_have_url(url_path("/admin/fulfilments"))
    expect(page.locator("#fulfilments")).to_be_visible()
    assert current_tab(page) == ["unfulfilled"]
    assert row_ids(page) == _tab_ids(console, rt, "unfulfilled")


def test_logout_returns_to_login_and_the_console_then_asks_to_log_in_again(page: Page, console: Console) -> None:
    log_in_to_fulfilments(page, console.support)

    submit(page.locator("#logout-form"))
    expect(page).to_have_url(url_path("/admin/login"))

    page.goto("/admin/fulfilments")
    expect(page).to_have_url(url_path("/admin/login"))
    expect(page.locator("#fulfilments")).to_have_count(0)
    page.goto(f"/admin/redemptions/{console.redemptions['fresh']}")
    expect(page).to_have_url(url_path("/admin/login"))


def test_each_page_has_the_logout_form_in_its_header(page: Page, console: Console) -> None:
    log_in_to_fulfilments(page, console.support)
    rid = console.redemptions["fresh"]
    for url in (
        "/admin/fulfilments",
        f"/admin/redemptions/{rid}",
        f"/admin/redemptions/{rid}/reverse",
        f"/admin/members/{console.members['ada']}",
    ):
        page.goto(url)
        expect(page.locator('header #logout-form[action="/admin/logout"]'), url).to_have_count(1)


# -- tabs, tooltips, search and filters -----------------------------------------------------------------------


def test_tabs_switch_rows_to_their_statuses_and_move_aria_current(page: Page, console: Console, rt: Runtime) -> None:
    log_in_to_fulfilments(page, console.support)

    for tab in ("unfulfilled", "fulfilled", "reversed"):
        open_tab(page, tab)
        assert current_tab(page) == [tab], f"exactly one tab should be current on {page.url}"
        assert query_tab(page) == tab
        assert row_ids(page) == _tab_ids(console, rt, tab), f"rows of the {tab} tab"
        assert set(row_statuses(page)) == TAB_STATUSES[tab]
        labels = page.locator("#fulfilments tr[data-redemption-id] .status-label")
        expect(labels).to_have_count(rows(page).count())
        for status in TAB_STATUSES[tab]:
            label = page.locator(f'#fulfilments .status-label[data-status="{status}"]').first
            expect(label).to_have_text(re.compile(rf"^\s*{status.upper()}\b"), use_inner_text=True)


def test_hovering_an_error_label_shows_the_message_and_fix_and_focus_does_too(page: Page, console: Console) -> None:
    log_in_to_fulfilments(page, console.support)
    entry = CATALOG["product_not_found"]
    label = row(page, console.redemptions["product_not_found"]).locator('.status-label[data-status="error"]')
    tooltip = label.locator('[role="tooltip"].error-tooltip')
    expect(label).to_have_attribute("tabindex", "0")
    expect(tooltip).to_have_count(1)
    expect(tooltip.locator(".error-message")).to_have_text(entry.message)
    expect(tooltip.locator(".error-fix")).to_have_text(entry.fix)

    page.mouse.move(1, 1)
    share, why = wait_until_seen(tooltip, seen=False)
    assert share == 0, f"the tooltip shows before any hover: {share:.0%} seen ({why})"

    label.hover()
    share, why = wait_until_seen(tooltip, seen=True)
    assert share >= 0.95, f"after hover only {share:.0%} of the tooltip can be seen: {why}"
    expect(tooltip).to_contain_text(entry.message)
    expect(tooltip).to_contain_text(entry.fix)

    page.mouse.move(1, 1)
    share, why = wait_until_seen(tooltip, seen=False)
    assert share == 0, f"the tooltip stays after the mouse left: {share:.0%} seen ({why})"

    label.focus()  # keyboard users reach it with Tab
    share, why = wait_until_seen(tooltip, seen=True)
    assert share >= 0.95, f"after keyboard focus only {share:.0%} of the tooltip can be seen: {why}"

    other = row(page, console.redemptions["crm_id_not_found"]).locator(".error-tooltip .error-fix")
    expect(other).to_have_text(CATALOG["crm_id_not_found"].fix)


def test_search_narrows_the_rows_and_keeps_the_tab(page: Page, console: Console, rt: Runtime) -> None:
    log_in_to_fulfilments(page, console.support)
    open_tab(page, "fulfilled")

    filters = page.locator("#filters")
    set_field(filters, "q", "Hopper")
    submit(filters)

    assert current_tab(page) == ["fulfilled"], "searching must not jump to another tab"
    assert row_ids(page) == {console.redemptions["shipped"]}
    expect(page.locator('#filters [name="q"]')).to_have_value("Hopper")

    code = _redemption(rt, console.redemptions["crm_id_not_found"]).code
    open_tab(page, "unfulfilled")
    set_field(page.locator("#filters"), "q", code.lower())
    submit(page.locator("#filters"))
    assert row_ids(page) == {console.redemptions["crm_id_not_found"]}

    set_field(page.locator("#filters"), "q", "nobody-by-that-name")
    submit(page.locator("#filters"))
    expect(rows(page)).to_have_count(0)


def test_status_reward_and_date_filters_narrow_the_rows(page: Page, console: Console, rt: Runtime) -> None:
    log_in_to_fulfilments(page, console.support)
    filters = page.locator("#filters")

    set_field(filters, "status", "error")
    submit(filters)
    assert row_ids(page) == console.ids_with_status(rt, "error")
    assert set(row_statuses(page)) == {"error"}

    page.goto("/admin/fulfilments?tab=fulfilled")
    set_field(page.locator("#filters"), "reward", str(console.rewards["mug"]), option_text="Enamel Mug")
    submit(page.locator("#filters"))
    assert row_ids(page) == {console.redemptions["shipped"], console.redemptions["fresh"]}

    page.goto("/admin/fulfilments?tab=fulfilled")
    on = console.claimed_on
    filters = page.locator("#filters")
    # Both ends are days a claim was made on, and both days count, as a person reading "from … to …" expects:
    # "shipped" (D-15) and "formula" (D-12) are in; "delivered" (D-20) and "fresh" (D-2) are out.
    set_field(filters, "claimed_from", on["shipped"].isoformat())
    set_field(filters, "claimed_to", on["formula"].isoformat())
    submit(filters)
    assert row_ids(page) == {console.redemptions["shipped"], console.redemptions["formula"]}


# -- reversing ------------------------------------------------------------------------------------------------


def test_reverse_through_the_confirmation_page_returns_the_points_once(
    page: Page, console: Console, rt: Runtime, shop: FakeShopPlugin
) -> None:
    rid = console.redemptions["fresh"]
    before = _redemption(rt, rid)
    balance_before = points_of(rt, before.member_id)
    log_in_to_fulfilments(page, console.support)
    open_tab(page, "fulfilled")

    click_and_wait(row(page, rid).locator(".action-reverse"))
    expect(page).to_have_url(url_path(f"/admin/redemptions/{rid}/reverse"))
    form = page.locator("#reverse-form")
    expect(form).to_be_visible()
    expect(form.locator('input[name="order"][value="keep"]')).to_be_checked()  # nothing is cancelled unasked
    form.get_by_label("Cancel it and put its items back in stock").check()
    submit(form)

    expect(page).to_have_url(url_path(f"/admin/redemptions/{rid}"))
    expect(flash(page, "success")).to_contain_text("its items go back in stock")
    expect(page.locator("main, body").first).to_contain_text("REVERSED")

    assert _redemption(rt, rid).status == "reversed"
    assert points_of(rt, before.member_id) == balance_before + before.points_cost
    assert returned_entries(rt, rid) == 1
    assert shop.cancelled.count(before.external_order_id) == 1, "the chosen cancel cancels the shop order once"

    page.goto("/admin/fulfilments?tab=reversed")
    expect(row(page, rid)).to_have_attribute("data-status", "reversed")
    page.goto("/admin/fulfilments?tab=fulfilled")
    expect(row(page, rid)).to_have_count(0)


def test_a_second_reversal_from_a_stale_tab_is_refused_and_returns_nothing(
    page: Page, console: Console, rt: Runtime
) -> None:
    rid = console.redemptions["shipped"]
    before = _redemption(rt, rid)
    balance_before = points_of(rt, before.member_id)
    log_in_to_fulfilments(page, console.support)
    stale = page.context.new_page()  # the same agent, a second tab left open on the confirmation page
    page.goto(f"/admin/redemptions/{rid}/reverse")
    stale.goto(f"/admin/redemptions/{rid}/reverse")

    submit(page.locator("#reverse-form"))
    expect(flash(page, "success")).to_be_visible()
    submit(stale.locator("#reverse-form"))
    expect(flash(stale, "error")).to_be_visible()
    expect(flash(stale, "success")).to_have_count(0)

    assert points_of(rt, before.member_id) == balance_before + before.points_cost
    assert returned_entries(rt, rid) == 1


def test_member_page_shows_the_ledger_and_thebalance(page: Page, console: Console, rt: Runtime) -> None:
    member_id = console.members["alan"]  # welcome points, a reversed mug, a pending tee
    log_in_to_fulfilments(page, console.support)
    page.goto(f"/admin/members/{member_id}")

    ledger = page.locator("#ledger table tr[data-kind]")
    kinds = sorted(ledger.evaluate_all("rs => rs.map(r => r.dataset.kind)"))
    assert kinds == ["earned", "returned", "spent", "spent"]
    balance = page.locator("#points-balance").inner_text()
    assert int(re.sub(r"[^\d-]", "", balance)) == points_of(rt, member_id) == 3000 - 300 - 500 + 300


# -- retry, resend, bulk --------------------------------------------------------------------------------------


def test_retry_after_the_cause_is_fixed_fulfils_the_redemption(page: Page, console: Console, rt: Runtime) -> None:
    rid = console.redemptions["crm_id_not_found"]  # the fake shop now accepts the order: the "fix"
    log_in_to_fulfilments(page, console.support)

    submit(row(page, rid).locator("form.action-retry"))

    expect(flash(page, "success")).to_be_visible()
    assert _redemption(rt, rid).status == "fulfilled"
    page.goto("/admin/fulfilments?tab=fulfilled")
    expect(row(page, rid)).to_have_attribute("data-status", "fulfilled")


def test_resend_sends_the_confirmation_again(page: Page, console: Console, rt: Runtime) -> None:
    rid = console.redemptions["shipped"]

    def sent() -> int:
        with rt.sessions() as s:
            return int(
                s.scalar(select(func.count()).select_from(OutboundMessage).where(OutboundMessage.redemption_id == rid))
                or 0
            )

    before = sent()
    log_in_to_fulfilments(page, console.support)
    open_tab(page, "fulfilled")

    submit(row(page, rid).locator("form.action-resend"))

    expect(flash(page, "success")).to_be_visible()
    assert sent() == before + 1


def test_bulk_retry_reports_each_redemption_and_retries_only_errors(page: Page, console: Console, rt: Runtime) -> None:
    picked = {
        console.redemptions["product_not_found"]: "ok",
        console.redemptions["missing_info"]: "ok",
        console.redemptions["pending"]: "error",  # not in error: nothing to retry
    }
    log_in_to_fulfilments(page, console.support)
    bulk = page.locator("#bulk-form")
    for rid in picked:
        bulk.locator(f'input[type="checkbox"][name="ids"][value="{rid}"]').check()

    click_and_wait(bulk.locator('button[name="action"][value="retry"]'))

    results = page.locator("#bulk-results tr[data-redemption-id]")
    expect(results).to_have_count(len(picked))
    outcomes = dict(results.evaluate_all("rs => rs.map(r => [Number(r.dataset.redemptionId), r.dataset.outcome])"))
    assert outcomes == picked
    assert {rid: _redemption(rt, rid).status for rid in picked} == {
        console.redemptions["product_not_found"]: "fulfilled",
        console.redemptions["missing_info"]: "fulfilled",
        console.redemptions["pending"]: "pending",
    }


# -- export ---------------------------------------------------------------------------------------------------


def _download_csv(page: Page) -> list[list[str]]:
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    path = download.value.path()
    assert download.value.failure() is None, download.value.failure()
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _codes_in(table: list[list[str]]) -> list[str]:
    codes = [cell for line in table[1:] for cell in line if re.fullmatch(r"R-[A-Z0-9]{10}", cell)]
    assert len(codes) == len(table) - 1, f"every data row carries one redemption code: {table}"
    return codes


def test_csv_export_has_exactly_the_rows_of_the_filtered_view(page: Page, console: Console, rt: Runtime) -> None:
    log_in_to_fulfilments(page, console.support)
    open_tab(page, "fulfilled")
    set_field(page.locator("#filters"), "q", "Hopper")
    submit(page.locator("#filters"))
    shown = row_ids(page)
    assert shown == {console.redemptions["shipped"]}

    href = page.locator("#export-csv").get_attribute("href") or ""
    assert urlparse(href).path == "/admin/fulfilments/export.csv"
    assert parse_qs(urlparse(href).query).get("q") == ["Hopper"], f"the export link drops the search: {href}"

    table = _download_csv(page)
    assert sorted(_codes_in(table)) == sorted(_codes(rt, shown))

    page.goto("/admin/fulfilments?tab=unfulfilled")
    table = _download_csv(page)
    assert sorted(_codes_in(table)) == sorted(_codes(rt, row_ids(page)))


def test_csv_export_defuses_a_member_name_that_is_a_formula(page: Page, console: Console) -> None:
    log_in_to_fulfilments(page, console.support)
    open_tab(page, "fulfilled")
    expect(row(page, console.redemptions["formula"])).to_contain_text(FORMULA_NAME)  # shown as text in the page

    table = _download_csv(page)
    cells = [cell for line in table for cell in line]
    assert any(cell.startswith("'" + FORMULA_NAME) for cell in cells), f"no defused formula cell in {table}"
    assert not [cell for cell in cells if cell.startswith("=")], "a cell starting with = runs as a formula"


# -- roles ----------------------------------------------------------------------------------------------------


def test_a_viewer_sees_rows_and_details_but_no_action_buttons(page: Page, console: Console, rt: Runtime) -> None:
    log_in_to_fulfilments(page, console.viewer)

    for tab in TABS:
        page.goto(f"/admin/fulfilments?tab={tab}")
        assert row_ids(page) == _tab_ids(console, rt, tab, console.world.brand.id), f"the viewer's {tab} rows"
        expect(page.locator("#fulfilments .action-details")).to_have_count(rows(page).count())
        for selector in ACTION_SELECTORS:
            expect(page.locator(selector), f"{selector} on the {tab} tab").to_have_count(0)

    for story in ("fresh", "crm_id_not_found"):
        page.goto(f"/admin/redemptions/{console.redemptions[story]}")
        for selector in (*ACTION_SELECTORS, "#reverse-form"):
            expect(page.locator(selector), f"{selector} on the {story} details page").to_have_count(0)

    page.goto(f"/admin/redemptions/{console.redemptions['fresh']}/reverse")
    expect(page.locator("#reverse-form")).to_have_count(0)
    assert _redemption(rt, console.redemptions["fresh"]).status == "fulfilled"


def test_a_brand_admin_sees_and_exports_only_their_brand(page: Page, console: Console, rt: Runtime) -> None:
    acme, other = console.world.brand.id, console.redemptions["other_brand"]
    log_in_to_fulfilments(page, console.brand_admin)
    open_tab(page, "fulfilled")

    assert row_ids(page) == _tab_ids(console, rt, "fulfilled", acme)
    assert other not in row_ids(page)
    exported = _codes_in(_download_csv(page))
    assert sorted(exported) == sorted(_codes(rt, _tab_ids(console, rt, "fulfilled", acme)))

    response = page.goto(f"/admin/redemptions/{other}")
    assert response is not None and response.status == 404, "another brand's redemption is reported missing"
    page.goto(f"/admin/redemptions/{console.redemptions['fresh']}")
    expect(page.locator(".action-reverse")).to_have_count(1)  # a brand admin acts on their own brand


def test_a_platform_admin_sees_every_brand(page: Page, console: Console, rt: Runtime) -> None:
    log_in_to_fulfilments(page, console.admin)
    open_tab(page, "fulfilled")
    assert console.redemptions["other_brand"] in row_ids(page)
    assert row_ids(page) == _tab_ids(console, rt, "fulfilled")


def test_every_tab_fits_a_1280_pixel_window_without_sideways_scrolling(page: Page, console: Console) -> None:
    # Support sees the widest table (the Brand column); a page wider than the window hides the row actions.
    log_in_to_fulfilments(page, console.support)
    for tab in ("unfulfilled", "fulfilled", "reversed"):
        open_tab(page, tab)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, f"the {tab} tab is {width} px wide in a 1280 px window"


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_an_open_error_tooltip_never_covers_the_status_label_of_another_row(page: Page, console: Console) -> None:
    """A support agent hovering down a column of ERROR labels must still read the next row's label."""
    log_in_to_fulfilments(page, console.support)
    for tab in ("unfulfilled", "all"):  # a column of errors, and errors between labels of every status
        open_tab(page, tab)
        _hover_down_the_error_labels(page)


def _hover_down_the_error_labels(page: Page) -> None:
    labels = page.locator("#fulfilments tr[data-redemption-id] .status-label")
    count = labels.count()
    errors = [i for i in range(count) if labels.nth(i).get_attribute("data-status") == "error"]
    assert len(errors) >= 2 and count >= 3, "the seed has several error rows to hover down"
    widths = {round(labels.nth(i).bounding_box()["width"]) for i in range(count)}  # type: ignore[index]
    assert len(widths) == 1, f"the labels of the column differ in width: {widths}"
    for i in errors:
        label = labels.nth(i)
        tooltip = label.locator(".error-tooltip")
        for open_it in (label.hover, label.focus):
            page.mouse.move(1, 1)
            page.locator("body").focus()
            open_it()
            expect(tooltip).to_be_visible()
            tip = tooltip.bounding_box()
            assert tip is not None
            for j in (i - 1, i + 1):  # the row above (a tooltip flipped up) and the row below
                if 0 <= j < count:
                    other = labels.nth(j).bounding_box()
                    assert other is not None
                    assert not _overlap(tip, other), f"row {i}'s tooltip {tip} covers row {j}'s label {other}"
