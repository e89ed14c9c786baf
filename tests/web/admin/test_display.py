"""How the console words and formats things: numbers, delivery in user words, tab counts, the confirmation email."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from connector.admin import display, reads
from connector.core import reversal
from connector.core.redemptions import _confirmation
from connector.core.tables import Member, OutboundMessage, Redemption, Reward
from tests.web.admin.conftest import flashes, row
from tests.web.admin.stories import SEEDER, add_member, emails_sent, failed, fulfilled, pending, redeem, ship

# -- numbers -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "cap", "label"),
    [(0, 1000, "0"), (999, 1000, "999"), (1000, 1000, "1,000"), (1001, 1000, "1,000+"), (2, 1, "1+")],
)
def test_a_tab_count_has_thousands_separators_and_says_when_it_stopped_counting(n, cap, label):
    assert display.count_label(n, cap) == label


def test_points_read_the_same_on_every_page(signed_in, people, rt, shop, world):
    add_member(rt, world, "Rich", "Member", "rich@example.com", points=1_234_567)
    with rt.sessions() as s:
        rich = s.scalar(select(Member.id).where(Member.email == "rich@example.com"))
    rid = redeem(rt, shop, member_id=rich, reward_id=world.reward.id)  # 500 points
    browser = signed_in(people.support)
    member = browser.page(f"/admin/members/{rich}")
    assert member.one("span", id="points-balance").text == "1,234,067"
    deltas = [tr.find_all("td")[2].text for tr in member.one("section", id="ledger").find_all("tr", data_kind=True)]
    assert sorted(deltas) == ["+1,234,567", "-500"]
    assert "1,234,067" in browser.page(f"/admin/redemptions/{rid}").one("section", id="member-details").text
    reverse = browser.page(f"/admin/redemptions/{rid}/reverse").one("section", id="reverse-does").text
    assert "from 1,234,067 to 1,234,567" in reverse
    flash = browser.follow(browser.post(f"/admin/redemptions/{rid}/reverse")).one("div", class_="flash").text
    assert "500 points returned to Rich Member" in flash


def test_every_tab_has_a_count_and_all_counts_every_status(signed_in, people, rt, shop, world, monkeypatch):
    fulfilled(rt, shop, world)
    failed(rt, shop, world)
    pending(rt, shop, world)
    reversal.reverse_redemption(rt, fulfilled(rt, shop, world), SEEDER)
    browser = signed_in(people.support)

    def counts() -> dict[str, str]:
        page = browser.page("/admin/fulfilments")
        return {a["data-tab"]: a.one("span", class_="count").text for a in page.find_all("a", data_tab=True)}

    assert counts() == {"unfulfilled": "2", "fulfilled": "1", "reversed": "1", "all": "4"}
    monkeypatch.setattr(reads, "COUNT_CAP", 1)
    assert counts() == {"unfulfilled": "1+", "fulfilled": "1", "reversed": "1", "all": "1+"}
    monkeypatch.setattr(reads, "COUNT_CAP", 3)
    assert counts()["all"] == "3+"  # each tab within the cap, their sum past it


# -- delivery in user words ----------------------------------------------------------------------------------------


def test_delivery_is_said_in_user_words_never_unfulfilled_beside_fulfilled(signed_in, people, rt, shop, world):
    placed, moving, arrived = fulfilled(rt, shop, world), fulfilled(rt, shop, world), fulfilled(rt, shop, world)
    ship(rt, moving, "in_transit")
    ship(rt, arrived, "delivered")
    waiting = pending(rt, shop, world)
    browser = signed_in(people.support)
    page = browser.page("/admin/fulfilments?tab=all")
    delivery = {rid: row(page, rid).one("td", class_="delivery").text for rid in (placed, moving, arrived, waiting)}
    assert delivery == {placed: "Not shipped yet", moving: "In transit", arrived: "Delivered", waiting: "No order yet"}
    assert "Unfulfilled" not in page.one("table", id="fulfilments").one("tbody").text
    member = browser.page(f"/admin/members/{world.member.id}").one("section", id="member-redemptions")
    assert member.one("tr", data_redemption_id=str(placed)).find_all("td")[-1].text == "Not shipped yet"
    steps = browser.page(f"/admin/redemptions/{placed}").one("ol", id="delivery-progress").find_all("li")
    first_two = [(li.text, li["data-state"]) for li in steps][:2]
    assert first_two == [("Order placed", "current"), ("Being prepared", "todo")]


def test_every_delivery_status_has_a_label_and_the_steps_are_on_its_path():
    from connector.core.model import DeliveryStatus

    assert set(display.DELIVERY_LABELS) == set(DeliveryStatus)
    assert "Unfulfilled" not in display.DELIVERY_LABELS.values()


def test_the_reverse_page_of_a_shipped_order_says_where_it_is(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    ship(rt, rid, "in_transit")
    page = signed_in(people.support).page(f"/admin/redemptions/{rid}/reverse")
    text = page.one("section", id="reverse-does-not").text
    assert "is in transit: an order that has shipped cannot be cancelled" in text


# -- page furniture ------------------------------------------------------------------------------------------------


def test_a_details_page_without_actions_has_no_empty_action_bar(signed_in, people, rt, shop, world):
    done = fulfilled(rt, shop, world)
    gone = fulfilled(rt, shop, world)
    reversal.reverse_redemption(rt, gone, SEEDER)
    support, viewer = signed_in(people.support), signed_in(people.viewer)
    assert support.page(f"/admin/redemptions/{gone}").find("section", class_="actions-bar") is None
    assert viewer.page(f"/admin/redemptions/{done}").find("section", class_="actions-bar") is None
    bar = support.page(f"/admin/redemptions/{done}").one("section", class_="actions-bar")
    assert bar.find("form", class_="action-resend") and bar.find("a", class_="action-reverse")


def test_the_reverse_title_keeps_its_question_mark_with_the_code(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    h1 = signed_in(people.support).page(f"/admin/redemptions/{rid}/reverse").one("h1")
    # h1 is a flex box (gap between items): the title is one item, so no gap opens before the "?".
    [title] = [child for child in h1.children if not isinstance(child, str)]
    assert title.tag == "span" and title.text.endswith("?") and title.one("code")


def test_the_stylesheet_keeps_the_table_in_its_box_and_points_the_tooltip_at_its_label(console):
    css = console.get("/admin/static/admin.css").text.replace("\n", " ")
    assert "overflow-x: auto" in css.split(".table-wrap {", 1)[1].split("}", 1)[0]
    assert ".table-wrap:has(.status-label:hover, .status-label:focus-within) { overflow: visible; }" in css
    assert ".error-tooltip::before" in css and ".status-label.tip-up .error-tooltip::before" in css
    assert "white-space: nowrap" in css.split("#fulfilments td code", 1)[1].split("}", 1)[0]
    assert "overflow-wrap: anywhere" in css.split("dd {", 1)[1].split("}", 1)[0]


# -- the confirmation email ----------------------------------------------------------------------------------------


def _last_email(rt, rid: int) -> OutboundMessage:
    with rt.sessions() as s:
        return s.scalars(
            select(OutboundMessage).where(OutboundMessage.redemption_id == rid).order_by(OutboundMessage.id.desc())
        ).first()  # type: ignore[return-value]


def test_the_confirmation_of_a_placed_order_confirms_it(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    first = _last_email(rt, rid)
    assert first.actor == "system" and "is confirmed: we have placed your order #1001" in first.body
    signed_in(people.support).post(f"/admin/redemptions/{rid}/resend")
    again = _last_email(rt, rid)
    assert again.actor == "user:sam@support.example" and again.body == first.body
    assert again.subject.startswith("Your reward: Ambassador T-Shirt")


def test_a_resend_in_error_is_refused_rather_than_promise_a_blocked_order(signed_in, people, rt, shop, world):
    browser = signed_in(people.support)
    rid = failed(rt, shop, world)
    before = emails_sent(rt, rid)
    assert browser.page(f"/admin/redemptions/{rid}").find("form", class_="action-resend") is None
    [refusal] = flashes(browser.follow(browser.post(f"/admin/redemptions/{rid}/resend")), "error")
    assert refusal.startswith("Not sent: this redemption is in error (") and "Fix the error and retry" in refusal
    assert emails_sent(rt, rid) == before


def test_a_resend_before_the_order_exists_says_received_not_confirmed(signed_in, people, rt, shop, world):
    browser = signed_in(people.support)
    for rid in (pending(rt, shop, world),):
        assert browser.post(f"/admin/redemptions/{rid}/resend").status_code == 302
        email = _last_email(rt, rid)
        assert email.subject.startswith("We received your redemption: Ambassador T-Shirt")
        assert "We have received your redemption of Ambassador T-Shirt" in email.body
        assert "You will get an email when it ships." in email.body
        assert "confirmed" not in email.body.lower()


def test_an_email_reward_is_not_handed_out_by_a_confirmation_before_it_is_fulfilled():
    reward = Reward(name="Gift Card", instructions="Your code: GIFT-42", channel="email")
    member = Member(first_name="Ada", email="ada@example.com")
    now = datetime(2026, 7, 1, tzinfo=UTC)

    def email(status: str) -> OutboundMessage:
        r = Redemption(id=1, code="R-ABCDEFGHJK", status=status, channel="email", reward=reward, member=member)
        return _confirmation(r, "user:sam@support.example", now)

    assert "GIFT-42" in email("fulfilled").body and "is confirmed" in email("fulfilled").body
    for status in ("pending", "error"):
        body = email(status).body
        assert "GIFT-42" not in body and "confirmed" not in body and "as soon as it is ready" in body
