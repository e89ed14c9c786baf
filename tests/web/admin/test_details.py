"""View Details: member, reward, shop order link, delivery progress and the full timeline with who did what."""

from __future__ import annotations

from connector.core.errors import CATALOG
from tests.web.admin.conftest import flashes
from tests.web.admin.dom import parse
from tests.web.admin.stories import add_reward, failed, fulfilled, other_brand_redemption, redeem, ship


def test_details_show_member_reward_shop_order_and_delivery(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    ship(rt, rid, "in_transit")
    page = signed_in(people.brand_admin).page(f"/admin/redemptions/{rid}")
    member = page.one("section", id="member-details")
    assert "Ada Lovelace" in member.text and "ada@example.com" in member.text and "Ottawa" in member.text
    assert member.one("a")["href"] == f"/admin/members/{world.member.id}"
    assert "4,500" in member.text  # the balance after spending 500 of 5000
    reward = page.one("section", id="reward-details")
    assert "Ambassador T-Shirt" in reward.text and "TSHIRT-M" in reward.text and "Ships in 5-7 days." in reward.text
    order = page.one("section", id="shop-order")
    link = order.one("a", class_="shop-order-link")
    assert link["href"] == "https://acme-pets.myshopify.com/admin/orders/1" and link.text == "#1001"
    assert link["rel"] == "noopener noreferrer"
    steps = [(li.text, li["data-state"]) for li in order.one("ol", id="delivery-progress").find_all("li")]
    assert steps == [
        ("Order placed", "done"),
        ("Being prepared", "done"),
        ("In transit", "current"),
        ("Delivered", "todo"),
    ]
    assert "1Z999AA10123456784" in order.text


def test_the_timeline_lists_every_attempt_and_error_with_who_did_it(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world, "product_not_found")
    browser = signed_in(people.support)
    browser.post(f"/admin/redemptions/{rid}/retry", {"note": "SKU fixed in Shopify"})
    page = browser.page(f"/admin/redemptions/{rid}")
    rows = page.one("section", id="timeline").find_all("tr", data_kind=True)
    timeline = [(tr["data-kind"], tr.one("td", class_="event-actor").text) for tr in rows]
    assert timeline[:2] == [("claimed", "seed@connector.local"), ("attempt_started", "worker")]
    assert ("failed", "worker") in timeline
    assert ("retried", "user:sam@support.example") in timeline
    assert [kind for kind, _ in timeline].count("attempt_started") == 2
    failed_row = next(tr for tr in rows if tr["data-kind"] == "failed")
    assert "PENDING → ERROR" in failed_row.text and "product_not_found" in failed_row.text
    retried_row = next(tr for tr in rows if tr["data-kind"] == "retried")
    assert "SKU fixed in Shopify" in retried_row.text


def test_an_error_is_explained_with_its_fix_and_the_field_at_fault(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world, "product_not_found")
    page = signed_in(people.viewer).page(f"/admin/redemptions/{rid}")
    callout = page.one("section", id="error")
    entry = CATALOG["product_not_found"]
    assert entry.title in callout.text and entry.message in callout.text and entry.fix in callout.text
    assert page.one("section", id="reward-details").find("dd", class_="at-fault").text == "TSHIRT-M"
    assert page.one("section", id="shop-order").text.count("No order yet") == 1


def test_an_email_reward_has_no_shop_order_or_delivery(signed_in, people, rt, shop, world):
    reward = add_reward(rt, world, "Gift Card", channel="email", instructions="Code: GIFT-42")
    rid = redeem(rt, shop, member_id=world.member.id, reward_id=reward)
    page = signed_in(people.support).page(f"/admin/redemptions/{rid}")
    assert page.find("section", id="shop-order") is None
    assert "Code: GIFT-42" in page.one("section", id="reward-details").text


def test_confirmation_emails_are_listed_with_who_sent_them(signed_in, people, rt, shop, world):
    rid = fulfilled(rt, shop, world)
    browser = signed_in(people.support)
    browser.post(f"/admin/redemptions/{rid}/resend")
    rows = browser.page(f"/admin/redemptions/{rid}").one("section", id="confirmations").find_all("tr", data_status=True)
    assert [(tr["data-status"], tr.find_all("td")[1].text) for tr in rows] == [
        ("sent", "system"),
        ("sent", "user:sam@support.example"),
    ]


def test_another_brands_redemption_is_not_found_exactly_like_a_missing_one(signed_in, people, rt, shop, world):
    theirs = other_brand_redemption(rt, shop, world)
    browser = signed_in(people.brand_admin)
    foreign, missing = browser.get(f"/admin/redemptions/{theirs}"), browser.get("/admin/redemptions/999999")
    assert foreign.status_code == missing.status_code == 404
    assert parse(foreign.text).one("main").text == parse(missing.text).one("main").text
    assert "Other Mug" not in foreign.text
    assert signed_in(people.support).get(f"/admin/redemptions/{theirs}").status_code == 200
    assert signed_in(people.other_admin).get(f"/admin/redemptions/{theirs}").status_code == 200


def test_a_viewer_sees_details_without_any_action(signed_in, people, rt, shop, world):
    rid = failed(rt, shop, world)
    page = signed_in(people.viewer).page(f"/admin/redemptions/{rid}")
    assert page.find("form", class_="action-retry") is None and page.find("form", class_="action-resend") is None
    assert page.find("a", class_="action-reverse") is None
    assert flashes(page, "error") == []


def test_a_tracking_url_is_a_link_only_when_it_is_http_or_https(signed_in, people, rt, shop, world):
    """A ``javascript:`` tracking URL (stored before webhooks dropped them) is shown as text, never as a link."""
    from connector.core.database import transaction
    from connector.core.tables import Redemption

    rid = fulfilled(rt, shop, world)
    ship(rt, rid, "in_transit")
    browser = signed_in(people.brand_admin)
    for url in ("javascript:alert(document.cookie)", " JavaScript:alert(1)", "data:text/html,<b>x</b>", "//evil"):
        with transaction(rt.sessions) as s:
            s.get(Redemption, rid).tracking_url = url
        response = browser.get(f"/admin/redemptions/{rid}")
        assert response.status_code == 200
        assert "javascript:" not in response.text.lower() and "data:text" not in response.text
        order = parse(response.text).one("section", id="shop-order")
        assert order.find("a", href=url) is None and "1Z999AA10123456784" in order.text
    with transaction(rt.sessions) as s:
        s.get(Redemption, rid).tracking_url = "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    order = browser.page(f"/admin/redemptions/{rid}").one("section", id="shop-order")
    assert order.find("a", href="https://www.ups.com/track?tracknum=1Z999AA10123456784") is not None
