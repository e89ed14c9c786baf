"""The Webhooks page: a brand admin adds an endpoint (secret shown once), reads the delivery log, resends.

Real sign-in and CSRF, the real core, and a real receiver on 127.0.0.1.
"""

from __future__ import annotations

from sqlalchemy import select

from connector.core.access import Actor
from connector.core.model import Role
from connector.core.outbound_tables import OutboundDelivery, OutboundEndpoint
from connector.core.redemptions import create_redemption
from tests.web.admin.conftest import flashes
from tests.web.admin.dom import parse
from tests.web.receiver import SEND_TO_RECEIVER, documented_verify

SUPPORT = Actor("support@acme", Role.SUPPORT)
RUNTIME_OPTIONS = SEND_TO_RECEIVER


def test_webhooks_page_adds_an_endpoint_shows_its_secret_once_and_resends(rt, world, people, signed_in, receiver):
    admin = signed_in(people.brand_admin)
    added = admin.post("/admin/webhooks", {"url": receiver.url, "description": "platform"})
    assert added.status_code == 201, added.text[:2000]
    secret = parse(added.text).one("code", class_="signing-secret").text
    assert secret.startswith("whsec_")
    page = admin.page("/admin/webhooks")
    assert secret not in admin.get("/admin/webhooks").text  # shown once
    assert page.one("code", class_="endpoint-url").text == receiver.url

    create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id)
    page = admin.page("/admin/webhooks")
    [row] = page.find_all("tr", class_="delivery")
    assert row["data-status"] == "delivered" and "redemption.fulfilled" in row.text
    assert "HTTP 204" in row.one("ol", class_="attempts").text

    resend = admin.post(row.one("form", class_="action-resend-webhook")["action"])
    page = admin.follow(resend)
    assert any("sent again: delivered" in text for text in flashes(page, "success"))
    assert len(receiver.received) == 2
    assert len(page.one("tr", class_="delivery").find_all("li", class_="attempt")) == 2


def test_webhooks_page_refuses_a_private_url_with_the_reason(rt, world, people, signed_in):
    admin = signed_in(people.brand_admin)
    response = admin.post("/admin/webhooks", {"url": "https://10.1.2.3/hooks"})
    assert response.status_code == 422
    assert any("private" in text for text in flashes(parse(response.text), "error"))
    with rt.sessions() as s:
        assert s.scalars(select(OutboundEndpoint)).all() == []


def test_webhooks_page_is_for_brand_admins_with_csrf_and_per_brand(rt, world, people, signed_in, receiver):
    admin = signed_in(people.brand_admin)
    admin.post("/admin/webhooks", {"url": receiver.url})
    create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id)
    with rt.sessions() as s:
        delivery = s.scalars(select(OutboundDelivery)).one()
        endpoint = s.scalars(select(OutboundEndpoint)).one()

    # A forged POST (no CSRF token) changes nothing.
    forged = admin.post(f"/admin/webhooks/deliveries/{delivery.id}/resend", csrf=None)
    assert forged.status_code in (400, 403)
    assert len(receiver.received) == 1

    other = signed_in(people.other_admin)
    assert receiver.url not in other.get("/admin/webhooks").text
    assert other.post(f"/admin/webhooks/deliveries/{delivery.id}/resend").status_code == 404
    assert other.post(f"/admin/webhooks/{endpoint.id}/remove").status_code == 404
    assert len(receiver.received) == 1
    with rt.sessions() as s:
        assert s.get(OutboundEndpoint, endpoint.id).active is True

    for person in (people.support, people.viewer, people.platform_admin):
        browser = signed_in(person)
        assert browser.get("/admin/webhooks").status_code == 403
        assert "/admin/webhooks" not in browser.get("/admin/fulfilments").text  # no nav link


def test_webhooks_page_rolls_the_secret_shows_the_new_one_once_and_signs_with_both(
    rt, world, people, signed_in, receiver
):
    admin = signed_in(people.brand_admin)
    added = admin.post("/admin/webhooks", {"url": receiver.url})
    old = parse(added.text).one("code", class_="signing-secret").text
    form = admin.page("/admin/webhooks").one("form", class_="action-roll-secret")

    rolled = admin.post(form["action"], {"keep_old_hours": "24"})
    assert rolled.status_code == 200, rolled.text[:2000]
    page = parse(rolled.text)
    new = page.one("code", class_="signing-secret").text
    assert new.startswith("whsec_") and new != old
    assert "signed with both secrets" in page.one("section", id="new-secret").text
    assert new not in admin.get("/admin/webhooks").text and old not in admin.get("/admin/webhooks").text

    create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id)
    got = receiver.received[-1]
    verify = documented_verify()
    assert verify(new, got.headers, got.body) and verify(old, got.headers, got.body)

    # Another brand's admin cannot roll it: the stored secret is the one this admin was shown.
    with rt.sessions() as s:
        endpoint_id = s.scalars(select(OutboundEndpoint.id)).one()
    assert signed_in(people.other_admin).post(form["action"], {"keep_old_hours": "0"}).status_code == 404
    assert admin.post(form["action"], {"keep_old_hours": "999"}).status_code == 422
    with rt.sessions() as s:
        assert s.get(OutboundEndpoint, endpoint_id).signing_secret == new
