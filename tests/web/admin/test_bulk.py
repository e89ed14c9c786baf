"""Bulk retry and resend: one outcome per ticked row, each in its own transaction; refusals before anything runs."""

from __future__ import annotations

import pytest

from connector.core import bulk as core_bulk
from connector.core.access import Actor
from connector.core.bulk import MAX_BULK_ITEMS, run_bulk
from connector.core.errors import PermissionDeniedError, ProviderError, ValidationError
from connector.core.model import Role
from tests.web.admin.conftest import flashes
from tests.web.admin.dom import parse
from tests.web.admin.stories import (
    emails_sent,
    events,
    failed,
    fulfilled,
    other_brand_redemption,
    pending,
    snapshot,
    status_of,
)

URL = "/admin/fulfilments/bulk"


def _results(response) -> dict[int, tuple[str, str]]:
    """{redemption id: (outcome, message)} from the result page's table."""
    table = parse(response.text).one("table", id="bulk-results")
    return {
        int(tr["data-redemption-id"]): (tr["data-outcome"], tr.one("td", class_="outcome-message").text)
        for tr in table.find_all("tr", data_redemption_id=True)
    }


def test_bulk_retry_with_mixed_outcomes_reports_each_and_keeps_the_successes(signed_in, people, rt, shop, world):
    first, second = failed(rt, shop, world), failed(rt, shop, world, "crm_id_not_found")
    done = fulfilled(rt, shop, world)
    theirs = other_brand_redemption(rt, shop, world)
    assert shop.script == []  # the causes were "fixed": the fake shop now accepts both orders
    browser = signed_in(people.brand_admin)
    ids = [first, done, second, theirs, 999999]
    response = browser.post(URL, {"action": "retry", "ids": [str(i) for i in ids], "next": "/admin/fulfilments"})
    assert response.status_code == 200
    results = _results(response)
    assert list(results) == ids  # in the order ticked
    assert {rid: outcome for rid, (outcome, _) in results.items()} == {
        first: "ok",
        done: "error",
        second: "ok",
        theirs: "error",
        999999: "error",
    }
    assert "only a redemption in error can be retried" in results[done][1]
    assert results[theirs][1] == f"redemption {theirs} not found"  # another brand's: no different from missing
    assert results[999999][1] == "redemption 999999 not found"
    page = parse(response.text)
    assert "5 selected" in page.one("h1").text
    summary = page.one("div", id="bulk-summary")
    assert summary["data-kind"] == "error"
    assert summary.text == "Of 5 selected: 2 fulfilled, 3 not retried. The reasons and what to do are below."
    assert status_of(rt, first) == status_of(rt, second) == "fulfilled"
    assert status_of(rt, done) == "fulfilled" and status_of(rt, theirs) == "fulfilled"
    assert ("retried", "user:bea@acme.example") in events(rt, first)
    assert "Other Mug" not in response.text and "OTHER" not in response.text
    assert (
        page.one("table", id="bulk-results")
        .one("tr", data_redemption_id=str(first))
        .find("span", data_status="fulfilled")
    )


def test_a_bulk_retry_whose_attempts_fail_again_does_not_claim_success(signed_in, people, rt, shop, world):
    """The retries went through, but each attempt failed again: the rows are ERROR, and the page says so."""
    ids = [failed(rt, shop, world) for _ in range(3)]
    shop.script.extend([ProviderError("product_not_found", field="sku")] * 2)  # not fixed for the first two
    response = signed_in(people.support).post(URL, {"action": "retry", "ids": [str(i) for i in ids]})
    page = parse(response.text)
    summary = page.one("div", id="bulk-summary")
    assert "succeeded" not in summary.text and "All " not in summary.text
    assert summary["data-kind"] == "error"
    assert summary.text == (
        "Of 3 selected: 1 fulfilled, 2 failed again and are still ERROR. The reasons and what to do are below."
    )
    rows = {
        int(tr["data-redemption-id"]): tr
        for tr in page.one("table", id="bulk-results").find_all("tr", data_redemption_id=True)
    }
    for rid in ids[:2]:
        assert status_of(rt, rid) == "error"
        assert rows[rid]["data-outcome"] == "error"
        assert rows[rid].one("td", class_="outcome").text == "Failed again"
        assert rows[rid].one("td", class_="outcome-message").text.startswith("retried, but the attempt failed again: ")
        assert "SKU" in rows[rid].one("td", class_="outcome-fix").text
        assert rows[rid].one("span", class_="status-label").text == "ERROR"
    assert rows[ids[2]].one("td", class_="outcome").text == "Fulfilled" and status_of(rt, ids[2]) == "fulfilled"


def test_a_bulk_retry_that_only_queues_says_the_rows_wait_for_their_attempt(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world)
    shop.script.append(ProviderError("shop_unavailable", "Shopify answered 503", retryable=True))
    response = signed_in(people.support).post(URL, {"action": "retry", "ids": [str(rid)]})
    page = parse(response.text)
    assert (
        page.one("div", id="bulk-summary").text == "Of 1 selected: 1 queued for a new attempt (PENDING until it runs)."
    )
    assert page.one("td", class_="outcome").text == "Queued" and status_of(rt, rid) == "pending"


def test_bulk_resend_sends_each_and_refuses_reversed_ones(signed_in, people, rt, shop, world):
    sent_to = [fulfilled(rt, shop, world), pending(rt, shop, world)]
    reversed_ = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    browser.post(f"/admin/redemptions/{reversed_}/reverse")
    before = {rid: emails_sent(rt, rid) for rid in [*sent_to, reversed_]}
    response = browser.post(URL, {"action": "resend", "ids": [str(i) for i in [*sent_to, reversed_]]})
    results = _results(response)
    assert results[sent_to[0]] == ("ok", "confirmation email sent to ada@example.com")
    assert results[sent_to[1]][0] == "ok"
    assert results[reversed_] == ("error", "this redemption was reversed; there is nothing to confirm")
    assert {rid: emails_sent(rt, rid) - before[rid] for rid in before} == {sent_to[0]: 1, sent_to[1]: 1, reversed_: 0}
    summary = parse(response.text).one("div", id="bulk-summary").text
    assert (
        summary
        == "2 of 3 confirmation emails sent. 1 not sent: the reasons are below; nobody was emailed for those rows."
    )


def test_bulk_resend_refuses_rows_in_error_rather_than_promise_a_blocked_order(signed_in, people, rt, shop, world):
    """A confirmation says the order is being prepared; for a blocked (ERROR) row that would mislead the member."""
    blocked, fine = failed(rt, shop, world), fulfilled(rt, shop, world)
    response = signed_in(people.support).post(URL, {"action": "resend", "ids": [str(blocked), str(fine)]})
    page = parse(response.text)
    row = page.one("tr", data_redemption_id=str(blocked))
    assert row["data-outcome"] == "error" and row.one("td", class_="outcome").text == "Not sent"
    message = row.one("td", class_="outcome-message").text
    assert message.startswith("not sent: this redemption is in error (") and "order is being prepared" in message
    assert row.one("td", class_="outcome-fix").text.startswith("Fix the error and retry")
    assert emails_sent(rt, blocked) == 0 and emails_sent(rt, fine) >= 1
    assert page.one("div", id="bulk-summary")["data-kind"] == "error"


def test_submitting_the_same_bulk_form_again_does_nothing_twice(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    nonce = browser.page("/admin/fulfilments").one("input", name="bulk_nonce")["value"]
    form = {"action": "resend", "ids": [str(rid)], "bulk_nonce": nonce}
    assert browser.post(URL, form).status_code == 200
    sent = emails_sent(rt, rid)
    again = browser.post(URL, form)  # a browser refresh of the result page
    assert again.status_code == 409 and "nothing was done again" in again.text
    assert emails_sent(rt, rid) == sent
    # A fresh page (a new nonce) may of course send again.
    fresh = browser.page("/admin/fulfilments").one("input", name="bulk_nonce")["value"]
    assert fresh != nonce
    assert browser.post(URL, {**form, "bulk_nonce": fresh}).status_code == 200
    assert emails_sent(rt, rid) == sent + 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"action": "retry"}, "select at least one redemption"),
        ({"action": "retry", "ids": [str(i) for i in range(1, MAX_BULK_ITEMS + 2)]}, f"at most {MAX_BULK_ITEMS}"),
        ({"action": "delete", "ids": ["1"]}, "Choose Retry selected or Resend"),
        ({"action": "retry", "ids": ["1", "two"]}, "The selection was not valid"),
        ({"action": "retry", "ids": ["-1"]}, "The selection was not valid"),
    ],
)
def test_a_selection_that_cannot_run_is_refused_whole_with_a_message(signed_in, people, rt, shop, world, form, message):
    failed(rt, shop, world)
    browser = signed_in(people.support)
    before = snapshot(rt)
    response = browser.post(URL, {**form, "next": "/admin/fulfilments?tab=unfulfilled"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/fulfilments?tab=unfulfilled"
    [flash] = flashes(browser.follow(response), "error")
    assert message in flash
    assert snapshot(rt) == before


def test_a_selection_of_exactly_the_cap_runs(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world)
    ids = [str(rid)] + [str(900000 + i) for i in range(MAX_BULK_ITEMS - 1)]
    response = signed_in(people.support).post(URL, {"action": "retry", "ids": ids})
    results = _results(response)
    assert len(results) == MAX_BULK_ITEMS and results[rid][0] == "ok"


def test_viewers_and_party_roles_are_refused_bulk_actions_with_403(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world)
    before = snapshot(rt)
    for person in (people.viewer, people.global_viewer, people.distributor, people.retailer):
        response = signed_in(person).post(URL, {"action": "retry", "ids": [str(rid)]})
        assert response.status_code == 403 and response.mimetype == "text/html", person
    assert snapshot(rt) == before


def test_core_run_bulk_refuses_a_read_only_actor_before_any_item(rt, shop, world):
    rid = failed(rt, shop, world)
    before = snapshot(rt)
    with pytest.raises(PermissionDeniedError):
        run_bulk(rt, Actor("viewer", Role.VIEWER), "retry", [rid])
    with pytest.raises(ValidationError):
        run_bulk(rt, Actor("support", Role.SUPPORT), "retry", [])
    assert snapshot(rt) == before


def test_core_run_bulk_keeps_earlier_items_when_a_later_one_blows_up(rt, shop, world, monkeypatch):
    first, second = failed(rt, shop, world), failed(rt, shop, world)
    real = core_bulk.retry_redemption

    def flaky(rt_, redemption_id, actor, note=""):
        if redemption_id == second:
            raise RuntimeError("database hiccup")
        return real(rt_, redemption_id, actor, note=note)

    monkeypatch.setattr(core_bulk, "retry_redemption", flaky)
    outcomes = run_bulk(rt, Actor("user:sam@support.example", Role.SUPPORT), "retry", [first, second, first])
    assert [(o.redemption_id, o.ok) for o in outcomes] == [(first, True), (second, False)]  # a repeated id runs once
    assert outcomes[1].error_code == "internal_error" and "logged" in outcomes[1].message
    assert status_of(rt, first) == "fulfilled" and status_of(rt, second) == "error"
