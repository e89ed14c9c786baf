"""Row actions (resend, retry, reverse) through the core use cases: each role, each scope, each refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.core.tables import Redemption, RedemptionEventRow
from tests.web.admin.conftest import flashes
from tests.web.admin.dom import parse
from tests.web.admin.stories import (
    add_member,
    add_reward,
    balance,
    emails_sent,
    events,
    failed,
    fulfilled,
    other_brand_redemption,
    redeem,
    returned_entries,
    ship,
    snapshot,
    status_of,
)


def _after(browser, response):
    """The page a post/redirect/get lands on."""
    return browser.follow(response)


# -- resend --------------------------------------------------------------------------------------------------------


def test_resend_sends_the_email_logs_who_and_comes_back_with_a_flash(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    before = emails_sent(rt, rid)
    response = browser.post(f"/admin/redemptions/{rid}/resend", {"next": "/admin/fulfilments?tab=fulfilled"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/fulfilments?tab=fulfilled"
    assert flashes(_after(browser, response), "success") == ["Confirmation email sent to ada@example.com."]
    assert emails_sent(rt, rid) == before + 1
    assert ("confirmation_queued", "user:sam@support.example") in events(rt, rid)
    assert list(rt.settings.outbox_dir.glob("*.eml"))


def test_resend_of_a_reversed_redemption_is_an_error_flash(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    browser.post(f"/admin/redemptions/{rid}/reverse")
    before = emails_sent(rt, rid)
    page = _after(browser, browser.post(f"/admin/redemptions/{rid}/resend"))
    assert flashes(page, "error") == ["This redemption was reversed; there is nothing to confirm."]
    assert emails_sent(rt, rid) == before


def test_resend_to_a_member_without_email_says_what_to_do(signed_in, people, rt, shop, world):
    member = add_member(rt, world, "No", "Email", "", points=1000)
    rid = redeem(rt, shop, member_id=member, reward_id=world.reward.id)
    browser = signed_in(people.support)
    page = _after(browser, browser.post(f"/admin/redemptions/{rid}/resend"))
    assert flashes(page, "error") == ["The member has no email address: add the member's email address, then resend."]


def test_a_failed_send_is_reported_not_hidden(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)

    class DownMailer:
        def send(self, to: str, subject: str, body: str) -> None:
            raise ConnectionRefusedError("smtp.example:587 refused the connection")

    rt.mailer = DownMailer()
    browser = signed_in(people.support)
    page = _after(browser, browser.post(f"/admin/redemptions/{rid}/resend"))
    [message] = flashes(page, "error")
    assert "could not be sent" in message and "refused the connection" in message
    assert events(rt, rid)[-1][0] == "confirmation_failed"


# -- retry ---------------------------------------------------------------------------------------------------------


def test_retry_of_an_error_fulfils_it_and_records_the_user_and_the_note(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world)
    browser = signed_in(people.brand_admin)
    response = browser.post(f"/admin/redemptions/{rid}/retry", {"note": "SKU fixed"})
    assert response.headers["Location"] == f"/admin/redemptions/{rid}"
    page = _after(browser, response)
    [message] = flashes(page, "success")
    assert message.endswith("was retried; it is now FULFILLED.")
    assert status_of(rt, rid) == "fulfilled" and len(shop.orders) == 1
    assert ("retried", "user:bea@acme.example") in events(rt, rid)
    assert page.one("span", class_="status-label")["data-status"] == "fulfilled"


def test_retry_of_a_redemption_not_in_error_is_refused_with_the_reason(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    before = snapshot(rt)
    page = _after(browser, browser.post(f"/admin/redemptions/{rid}/retry"))
    assert flashes(page, "error") == [
        "Cannot retry a redemption that is fulfilled: only a redemption in error can be retried; "
        "fix the cause shown on it first."
    ]
    assert snapshot(rt) == before


# -- reverse -------------------------------------------------------------------------------------------------------


def test_the_reverse_page_says_what_it_does_and_does_not_and_offers_to_cancel_an_unshipped_order(
    signed_in, people, rt, shop, world
):
    rid = fulfilled(rt, shop, world)
    page = signed_in(people.support).page(f"/admin/redemptions/{rid}/reverse")
    does, does_not = page.one("section", id="reverse-does").text, page.one("section", id="reverse-does-not").text
    assert "Returns 500 points to Ada Lovelace" in does and "from 4,500 to 5,000" in does
    assert "does not cancel the shop order #1001, nor put its items back in stock, unless you choose" in does_not
    assert "restock" not in does  # reversing alone never restocks, and the page does not claim it does
    form = page.one("form", id="reverse-form")
    assert form["method"] == "post" and form.one("button", type="submit")
    # One explicit choice for the order: left alone unless the user picks a cancel, with or without restocking.
    choices = {box["value"]: box for box in form.one("fieldset", id="order-choice").find_all("input", type="radio")}
    assert list(choices) == ["keep", "cancel_restock", "cancel_only"]
    assert [value for value, box in choices.items() if "checked" in box.attrs] == ["keep"]
    labels = form.one("fieldset", id="order-choice").text
    assert "Cancel it and put its items back in stock" in labels and "Cancel it without restocking" in labels
    assert status_of(rt, rid) == "fulfilled"  # showing the page changed nothing


def test_a_shipped_or_delivered_order_is_not_offered_for_cancelling(signed_in, people, rt, shop, world):
    browser = signed_in(people.support)
    for shipment in ("in_transit", "delivered"):
        rid = fulfilled(rt, shop, world)
        ship(rt, rid, shipment)
        page = browser.page(f"/admin/redemptions/{rid}/reverse")
        assert page.one("form", id="reverse-form").find("fieldset", id="order-choice") is None
        does_not = page.one("section", id="reverse-does-not").text
        assert "cannot be cancelled" in does_not and "reversing restocks nothing" in does_not


def test_an_email_reward_and_a_failed_order_have_nothing_to_cancel(signed_in, people, rt, shop, world):
    browser = signed_in(people.support)
    email_id = redeem(
        rt,
        shop,
        member_id=world.member.id,
        reward_id=add_reward(rt, world, "Card", channel="email", instructions="Code: X"),
    )
    error_id = failed(rt, shop, world)
    for rid, says in ((email_id, "sent by email"), (error_id, "No shop order is recorded")):
        page = browser.page(f"/admin/redemptions/{rid}/reverse")
        assert page.one("form", id="reverse-form").find("fieldset", id="order-choice") is None
        assert says in page.one("section", id="reverse-does-not").text


def test_reverse_returns_the_points_leaves_the_order_and_lands_on_the_details(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    response = browser.post(f"/admin/redemptions/{rid}/reverse", {"reason": "wrong size"})
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/redemptions/{rid}"
    page = _after(browser, response)
    assert page.one("h1").one("span", class_="status-label").text == "REVERSED"
    [message] = flashes(page, "success")
    assert "500 points returned to Ada Lovelace" in message and "left as it is" in message
    assert balance(rt, world.member.id) == 5000 and returned_entries(rt, rid) == 1
    assert shop.cancelled == []
    assert ("reversed", "user:sam@support.example") in events(rt, rid)
    reversed_row = page.one("section", id="timeline").one("tr", data_kind="reversed")
    assert "wrong size" in reversed_row.text


def _timeline_messages(rt, rid: int) -> dict[str, str]:
    with rt.sessions() as s:
        rows = s.execute(
            select(RedemptionEventRow.kind, RedemptionEventRow.message).where(RedemptionEventRow.redemption_id == rid)
        )
        return {kind: message for kind, message in rows}


def test_reverse_with_cancel_order_also_cancels_the_unfulfilled_shop_order(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.brand_admin)
    page = _after(browser, browser.post(f"/admin/redemptions/{rid}/reverse", {"order": "cancel_restock"}))
    assert "is being cancelled; its items go back in stock" in flashes(page, "success")[0]
    said = _timeline_messages(rt, rid)
    assert "will be cancelled and its items put back in stock" in said["reversed"]
    assert "cancelled, its items put back in stock" in said["order_cancelled"]
    assert shop.cancelled == ["gid://shopify/Order/1"]
    assert balance(rt, world.member.id) == 5000
    with rt.sessions() as s:
        assert s.get(Redemption, rid).delivery_status == "cancelled"
    assert page.one("ol", id="delivery-progress")["data-delivery"] == "cancelled"


@pytest.mark.parametrize("form", [{"order": "cancel_only"}, {"cancel_order": "on"}])
def test_cancel_without_restocking_says_so_everywhere(signed_in, people, rt, shop, world, form):
    """The "cancel only" choice, and a form from before the choice (whose page said reversing does not restock)."""
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    page = _after(browser, browser.post(f"/admin/redemptions/{rid}/reverse", form))
    assert "is being cancelled; its items are not restocked" in flashes(page, "success")[0]
    assert shop.cancelled == ["gid://shopify/Order/1"]
    said = _timeline_messages(rt, rid)
    assert "will be cancelled without restocking its items" in said["reversed"]
    assert "cancelled, its items not restocked" in said["order_cancelled"]
    assert "without restocking" in page.one("section", id="timeline").one("tr", data_kind="reversed").text


def test_leaving_the_order_neither_cancels_nor_restocks(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    page = _after(browser, browser.post(f"/admin/redemptions/{rid}/reverse", {"order": "keep"}))
    assert "left as it is" in flashes(page, "success")[0] and shop.cancelled == []
    assert "stock" not in _timeline_messages(rt, rid)["reversed"]


def test_posting_the_reverse_form_twice_returns_the_points_once(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    first = browser.post(f"/admin/redemptions/{rid}/reverse", {"cancel_order": "on"})
    second = browser.post(f"/admin/redemptions/{rid}/reverse", {"cancel_order": "on"})
    assert first.status_code == second.status_code == 302
    page = _after(browser, second)  # both flashes are waiting: the first POST's success, the second's refusal
    assert len(flashes(page, "success")) == 1
    [refusal] = flashes(page, "error")
    assert "already reversed" in refusal
    assert balance(rt, world.member.id) == 5000 and returned_entries(rt, rid) == 1
    assert shop.cancelled == ["gid://shopify/Order/1"]
    assert [kind for kind, _ in events(rt, rid)].count("reversed") == 1


def test_the_reverse_page_of_a_reversed_redemption_sends_back_to_details(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    browser.post(f"/admin/redemptions/{rid}/reverse")
    response = browser.get(f"/admin/redemptions/{rid}/reverse")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/redemptions/{rid}"
    assert "cannot be reversed" in flashes(browser.follow(response), "error")[-1]


def test_cancelling_an_order_that_shipped_meanwhile_is_refused_and_nothing_changes(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    browser.page(f"/admin/redemptions/{rid}/reverse")  # the box was offered ...
    ship(rt, rid, "in_transit")  # ... then the parcel left
    before = snapshot(rt)
    response = browser.post(f"/admin/redemptions/{rid}/reverse", {"cancel_order": "on"})
    assert response.headers["Location"] == f"/admin/redemptions/{rid}/reverse"
    [message] = flashes(browser.follow(response), "error")
    assert "cannot be cancelled" in message and "order already shipped" in message
    assert snapshot(rt) == before and balance(rt, world.member.id) == 4500


# -- roles and scope -----------------------------------------------------------------------------------------------

POSTS = ["resend", "retry", "reverse"]


@pytest.mark.parametrize("action", POSTS)
def test_a_viewer_is_refused_every_action_with_a_403_page(signed_in, people, rt, shop, world, action):
    rid = failed(rt, shop, world)
    before = snapshot(rt)
    for person in (people.viewer, people.global_viewer):
        response = signed_in(person).post(f"/admin/redemptions/{rid}/{action}", {"cancel_order": "on"})
        assert response.status_code == 403 and response.mimetype == "text/html"
        assert "read-only" in parse(response.text).one("main").text
    assert snapshot(rt) == before


def test_a_viewer_cannot_open_the_reverse_page(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    response = signed_in(people.viewer).get(f"/admin/redemptions/{rid}/reverse")
    assert response.status_code == 403 and "reverse-form" not in response.text


@pytest.mark.parametrize("action", POSTS)
def test_party_roles_are_refused_every_action(signed_in, people, rt, shop, world, action):
    rid = failed(rt, shop, world)
    before = snapshot(rt)
    for person in (people.distributor, people.retailer):
        assert signed_in(person).post(f"/admin/redemptions/{rid}/{action}").status_code == 403
    assert snapshot(rt) == before


@pytest.mark.parametrize("action", POSTS)
def test_a_brand_admin_gets_404_on_another_brands_redemption_and_changes_nothing(
    signed_in, people, rt, shop, world, action
):
    theirs = other_brand_redemption(rt, shop, world)
    browser = signed_in(people.brand_admin)
    before = snapshot(rt)
    form = {"order": "cancel_restock"} if action == "reverse" else {}
    foreign = browser.post(f"/admin/redemptions/{theirs}/{action}", form)
    missing = browser.post(f"/admin/redemptions/999999/{action}", form)
    assert foreign.status_code == missing.status_code == 404
    assert parse(foreign.text).one("main").text == parse(missing.text).one("main").text
    assert snapshot(rt) == before and shop.cancelled == []
    assert browser.get(f"/admin/redemptions/{theirs}/reverse").status_code == 404


def test_support_and_platform_admins_act_across_brands(signed_in, people, rt, shop, world):
    theirs = other_brand_redemption(rt, shop, world)
    mine = fulfilled(rt, shop, world)
    support = signed_in(people.support)
    assert flashes(_after(support, support.post(f"/admin/redemptions/{theirs}/resend")), "success")
    admin = signed_in(people.platform_admin)
    assert flashes(_after(admin, admin.post(f"/admin/redemptions/{theirs}/reverse")), "success")
    assert flashes(_after(admin, admin.post(f"/admin/redemptions/{mine}/reverse")), "success")
    assert status_of(rt, theirs) == status_of(rt, mine) == "reversed"
    assert balance(rt, world.other_member.id) == 5000
    assert ("confirmation_queued", "user:sam@support.example") in events(rt, theirs)
    assert ("reversed", "user:pat@platform.example") in events(rt, theirs)


def test_an_action_never_redirects_outside_the_console(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    response = signed_in(people.support).post(f"/admin/redemptions/{rid}/resend", {"next": "https://evil.example/"})
    assert response.headers["Location"] == f"/admin/redemptions/{rid}"
