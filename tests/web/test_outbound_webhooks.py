"""Webhooks to the loyalty platform: signed as documented, retried with backoff, in order, resent, per brand.

Every test sends to a real HTTP server on 127.0.0.1 (``tests/web/receiver.py``); the redemptions move
through the real API, the real fulfilment (FakeShopPlugin) and the real Shopify webhook intake.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from connector.core.outbound_tables import OutboundAttempt, OutboundDelivery, OutboundEndpoint
from connector.core.outbound_urls import address_problem
from connector.core.runtime import Runtime
from tests.web.receiver import SEND_TO_RECEIVER, documented_verify, running_receiver
from tests.web.support import as_body, bearer, fulfillment_payload, shopify_headers, topic_payload

ENDPOINTS = "/api/v1/webhook-endpoints"
RUNTIME_OPTIONS = SEND_TO_RECEIVER


def _add_endpoint(client, token: str, url: str) -> dict:
    response = client.post(ENDPOINTS, json={"url": url, "description": "loyalty platform"}, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _redeem(client, token: str, world) -> int:
    response = client.post(
        "/api/v1/redemptions",
        json={"member_id": world.member.id, "reward_id": world.reward.id},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _deliveries(rt: Runtime) -> list[OutboundDelivery]:
    with rt.sessions() as s:
        rows = s.scalars(select(OutboundDelivery).order_by(OutboundDelivery.id)).all()
        s.expunge_all()
        return list(rows)


def _attempts(rt: Runtime, delivery_id: int) -> list[OutboundAttempt]:
    with rt.sessions() as s:
        rows = s.scalars(
            select(OutboundAttempt).where(OutboundAttempt.delivery_id == delivery_id).order_by(OutboundAttempt.id)
        ).all()
        s.expunge_all()
        return list(rows)


def _at(rt: Runtime, when: datetime) -> None:
    """Move the connector's clock (and the job runner's) to ``when`` and run the retries due by then."""
    rt.now = lambda: when
    rt.dispatcher.clock = lambda: when
    rt.dispatcher.run_due(until=when)


# -- signed as documented ------------------------------------------------------------------------------------------


def test_outbound_webhook_signature_verifies_with_the_documented_recipe(client, rt, world, tokens, receiver):
    endpoint = _add_endpoint(client, tokens.admin, receiver.url)
    secret = endpoint["signing_secret"]
    assert secret.startswith("whsec_")

    rid = _redeem(client, tokens.admin, world)

    assert receiver.types() == ["redemption.fulfilled"]
    got = receiver.received[0]
    verify = documented_verify()
    assert verify(secret, got.headers, got.body)
    assert not verify(secret, got.headers, got.body + b" ")  # a changed body does not verify
    assert not verify("whsec_someone-else", got.headers, got.body)
    assert got.headers["Connector-Webhook-Id"] == got.event["id"]
    assert got.headers["Connector-Webhook-Event"] == "redemption.fulfilled"
    redemption = got.event["data"]["redemption"]
    assert redemption["id"] == rid and redemption["status"] == "fulfilled"
    assert redemption["shop_order"]["id"] == "gid://shopify/Order/1"
    assert "email" not in got.body.decode() and "Lovelace" not in got.body.decode()  # no personal data
    assert [a.status_code for a in _attempts(rt, _deliveries(rt)[0].id)] == [204]


def test_outbound_secret_is_encrypted_at_rest_and_never_shown_again(client, rt, world, tokens, receiver):
    endpoint = _add_endpoint(client, tokens.admin, receiver.url)
    with rt.engine.connect() as c:
        stored = c.execute(text("SELECT signing_secret FROM outbound_endpoints")).scalar_one()
    assert stored.startswith("gAAAAA") and endpoint["signing_secret"] not in stored
    listing = client.get(ENDPOINTS, headers=bearer(tokens.admin))
    one = client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=bearer(tokens.admin))
    for answer in (listing, one):
        assert answer.status_code == 200
        assert endpoint["signing_secret"] not in answer.get_data(as_text=True)
        assert "signing_secret" not in answer.get_data(as_text=True)


def test_outbound_shipped_and_delivered_come_from_the_shops_fulfilment_webhooks(client, rt, world, tokens, receiver):
    _add_endpoint(client, tokens.admin, receiver.url)
    _redeem(client, tokens.admin, world)
    for status, at in (("in_transit", "2026-07-01T12:00:00-04:00"), ("delivered", "2026-07-02T12:00:00-04:00")):
        body = as_body(fulfillment_payload(1, status, at))
        response = client.post("/webhooks/shopify", data=body, headers=shopify_headers(body, "fulfillments/update"))
        assert response.status_code == 200
    assert receiver.types() == ["redemption.fulfilled", "redemption.shipped", "redemption.delivered"]
    delivered = receiver.received[-1].event["data"]["redemption"]["delivery"]
    assert delivered["status"] == "delivered" and delivered["tracking_number"] == "1Z999AA10123456784"


def test_outbound_delivery_failure_and_a_shop_side_cancellation_are_events_of_their_own(
    client, rt, world, tokens, receiver
):
    _add_endpoint(client, tokens.admin, receiver.url)
    _redeem(client, tokens.admin, world)
    failed = as_body(fulfillment_payload(1, "failure", "2026-07-02T12:00:00-04:00"))
    assert (
        client.post(
            "/webhooks/shopify", data=failed, headers=shopify_headers(failed, "fulfillments/update")
        ).status_code
        == 200
    )
    cancelled = as_body(topic_payload("orders/cancelled"))
    headers = shopify_headers(cancelled, "orders/cancelled")
    for _ in range(2):  # delivered twice by Shopify: one event
        assert client.post("/webhooks/shopify", data=cancelled, headers=headers).status_code == 200
    assert receiver.types() == ["redemption.fulfilled", "redemption.delivery_failed", "redemption.order_cancelled"]
    assert receiver.received[-1].event["data"]["redemption"]["delivery"]["status"] == "cancelled"


def test_outbound_a_reversal_that_cancels_the_order_sends_reversed_then_order_cancelled_once(
    client, rt, world, tokens, receiver
):
    _add_endpoint(client, tokens.admin, receiver.url)
    rid = _redeem(client, tokens.admin, world)
    answer = client.post(
        f"/api/v1/redemptions/{rid}/reverse",
        json={"reason": "test", "cancel_order": True},
        headers=bearer(tokens.admin),
    )
    assert answer.status_code == 200, answer.get_json()
    # The shop then reports the cancellation the connector made: the platform has heard of it already.
    cancelled = as_body(topic_payload("orders/cancelled"))
    assert (
        client.post(
            "/webhooks/shopify", data=cancelled, headers=shopify_headers(cancelled, "orders/cancelled")
        ).status_code
        == 200
    )
    assert receiver.types() == ["redemption.fulfilled", "redemption.reversed", "redemption.order_cancelled"]


# -- rolling the secret -------------------------------------------------------------------------------------------


def _roll(client, token: str, endpoint_id: int, **body) -> tuple[int, dict]:
    response = client.post(f"{ENDPOINTS}/{endpoint_id}/roll-secret", json=body, headers=bearer(token))
    return response.status_code, response.get_json()


def test_outbound_rolled_secret_signs_beside_the_old_one_until_the_overlap_ends(client, rt, world, tokens, receiver):
    endpoint = _add_endpoint(client, tokens.admin, receiver.url)
    old = endpoint["signing_secret"]
    status, rolled = _roll(client, tokens.admin, endpoint["id"], keep_old_hours=2)
    assert status == 200, rolled
    new = rolled["signing_secret"]
    assert new.startswith("whsec_") and new != old and rolled["previous_secret_until"]

    verify = documented_verify()
    _redeem(client, tokens.admin, world)
    during = receiver.received[-1]
    assert len(during.headers["Connector-Webhook-Signature"].split(" ")) == 2
    assert verify(new, during.headers, during.body) and verify(old, during.headers, during.body)
    assert not verify("whsec_someone-else", during.headers, during.body)

    _at(rt, rt.now() + timedelta(hours=2, seconds=1))  # the overlap is over
    _redeem(client, tokens.admin, world)
    after = receiver.received[-1]
    signed_later = {"tolerance": 3 * 3600}  # the recipe's clock is real time; the connector's moved 2 h on
    assert verify(new, after.headers, after.body, **signed_later)
    assert not verify(old, after.headers, after.body, **signed_later)
    listing = client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=bearer(tokens.admin)).get_data(as_text=True)
    assert new not in listing and old not in listing and "secret_rolled_at" in listing


def test_outbound_roll_with_no_overlap_stops_the_old_secret_and_a_second_roll_keeps_only_two(
    client, rt, world, tokens, receiver
):
    endpoint = _add_endpoint(client, tokens.admin, receiver.url)
    first = endpoint["signing_secret"]
    second = _roll(client, tokens.admin, endpoint["id"])[1]["signing_secret"]
    third = _roll(client, tokens.admin, endpoint["id"], keep_old_hours=24)[1]["signing_secret"]
    verify = documented_verify()
    _redeem(client, tokens.admin, world)
    got = receiver.received[-1]
    assert verify(third, got.headers, got.body) and verify(second, got.headers, got.body)
    assert not verify(first, got.headers, got.body)

    fourth = _roll(client, tokens.admin, endpoint["id"], keep_old_hours=0)[1]["signing_secret"]
    _redeem(client, tokens.admin, world)
    got = receiver.received[-1]
    assert got.headers["Connector-Webhook-Signature"].count("v1=") == 1
    assert verify(fourth, got.headers, got.body) and not verify(third, got.headers, got.body)


def test_outbound_roll_is_refused_across_brands_to_viewers_out_of_range_and_once_removed(client, rt, tokens, receiver):
    endpoint = _add_endpoint(client, tokens.admin, receiver.url)
    with rt.engine.connect() as c:
        before = c.execute(text("SELECT signing_secret FROM outbound_endpoints")).scalar_one()
    assert _roll(client, tokens.other_admin, endpoint["id"])[0] == 404
    assert _roll(client, tokens.viewer, endpoint["id"])[0] == 403
    status, answer = _roll(client, tokens.admin, endpoint["id"], keep_old_hours=169)
    assert status == 422 and "keep_old_hours" in str(answer)
    with rt.engine.connect() as c:
        assert c.execute(text("SELECT signing_secret FROM outbound_endpoints")).scalar_one() == before
    assert client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=bearer(tokens.admin)).status_code == 200
    status, answer = _roll(client, tokens.admin, endpoint["id"])
    assert status == 409 and "removed" in answer["error"]["message"]


# -- retries, order, resend ----------------------------------------------------------------------------------------


def test_outbound_failing_receiver_is_retried_with_backoff_until_it_answers(client, rt, world, tokens, receiver):
    endpoint = _add_endpoint(client, tokens.admin, receiver.url)
    receiver.script = [500, 503]
    _redeem(client, tokens.admin, world)

    [delivery] = _deliveries(rt)
    assert delivery.status == "pending" and delivery.attempts == 1 and "HTTP 500" in (delivery.last_error or "")
    first_wait = delivery.next_attempt_at - _attempts(rt, delivery.id)[0].at
    _at(rt, delivery.next_attempt_at)
    [delivery] = _deliveries(rt)
    assert delivery.status == "pending" and delivery.attempts == 2
    second_wait = delivery.next_attempt_at - _attempts(rt, delivery.id)[1].at
    assert timedelta(0) < first_wait <= second_wait  # exponential: the wait grows
    _at(rt, delivery.next_attempt_at)

    [delivery] = _deliveries(rt)
    assert delivery.status == "delivered"
    assert [(a.number, a.status_code, a.ok) for a in _attempts(rt, delivery.id)] == [
        (1, 500, False),
        (2, 503, False),
        (3, 204, True),
    ]
    # The same event each time, each attempt signed afresh and verifiable.
    assert len({r.headers["Connector-Webhook-Id"] for r in receiver.received}) == 1
    verify = documented_verify()
    assert all(verify(endpoint["signing_secret"], r.headers, r.body) for r in receiver.received)
    log = client.get(f"{ENDPOINTS}/{endpoint['id']}/deliveries", headers=bearer(tokens.admin)).get_json()
    assert [a["status_code"] for a in log["items"][0]["attempts"]] == [500, 503, 204]


def test_outbound_a_later_event_waits_for_the_earlier_one_per_redemption(client, rt, world, tokens, receiver):
    _add_endpoint(client, tokens.admin, receiver.url)
    failing: dict[str, int] = {}

    def answer(event: dict) -> int:
        # The first redemption's fulfilled event fails every attempt it gets (3) and is given up.
        redemption = event["data"]["redemption"]["id"]
        failing.setdefault("id", redemption)
        return 500 if (redemption, event["type"]) == (failing["id"], "redemption.fulfilled") else 204

    receiver.answer = answer
    rid = _redeem(client, tokens.admin, world)
    reversed_ = client.post(f"/api/v1/redemptions/{rid}/reverse", json={"reason": "test"}, headers=bearer(tokens.admin))
    assert reversed_.status_code == 200

    # The reversal is owed, but not before the fulfilment, which is still being retried.
    assert receiver.types() == ["redemption.fulfilled"]
    fulfilled, reversal = _deliveries(rt)
    assert (fulfilled.status, reversal.status) == ("pending", "pending")

    # Another redemption does not wait for this one.
    other = _redeem(client, tokens.admin, world)
    assert receiver.received[-1].event["data"]["redemption"]["id"] == other
    assert _deliveries(rt)[-1].status == "delivered"

    for _ in range(2):
        _at(rt, next(d for d in _deliveries(rt) if d.id == fulfilled.id).next_attempt_at)
    by_id = {d.id: d for d in _deliveries(rt)}
    assert by_id[fulfilled.id].status == "given_up" and by_id[reversal.id].status == "delivered"
    mine = [r.event["type"] for r in receiver.received if r.event["data"]["redemption"]["id"] == rid]
    assert mine == ["redemption.fulfilled"] * 3 + ["redemption.reversed"]


def test_outbound_resend_sends_the_same_event_again_once(client, rt, world, tokens, receiver):
    endpoint = _add_endpoint(client, tokens.admin, receiver.url)
    _redeem(client, tokens.admin, world)
    [delivery] = _deliveries(rt)
    assert delivery.status == "delivered"

    response = client.post(f"/api/v1/webhook-deliveries/{delivery.id}/resend", headers=bearer(tokens.admin))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "delivered"
    assert [a["ok"] for a in response.get_json()["attempts"]] == [True, True]
    first, again = receiver.received
    assert first.body == again.body and first.headers["Connector-Webhook-Id"] == again.headers["Connector-Webhook-Id"]
    assert documented_verify()(endpoint["signing_secret"], again.headers, again.body)

    receiver.script = [500]
    client.post(f"/api/v1/webhook-deliveries/{delivery.id}/resend", headers=bearer(tokens.admin))
    pending = client.post(f"/api/v1/webhook-deliveries/{delivery.id}/resend", headers=bearer(tokens.admin))
    assert pending.status_code == 409 and "already queued" in pending.get_json()["error"]["message"]
    assert len(receiver.received) == 3


def test_outbound_removed_endpoint_gets_nothing_more(client, rt, world, tokens, receiver):
    endpoint = _add_endpoint(client, tokens.admin, receiver.url)
    removed = client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=bearer(tokens.admin))
    assert removed.status_code == 200 and removed.get_json()["active"] is False
    assert client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=bearer(tokens.admin)).status_code == 409
    _redeem(client, tokens.admin, world)
    assert receiver.received == [] and _deliveries(rt) == []


# -- tenants ---------------------------------------------------------------------------------------------------


def test_outbound_brands_never_see_or_receive_each_others(client, rt, world, tokens, receiver):
    mine = _add_endpoint(client, tokens.admin, receiver.url)
    with running_receiver() as theirs:
        _add_endpoint(client, tokens.other_admin, theirs.url)
        _redeem(client, tokens.admin, world)
        assert theirs.received == []  # brand A's event never goes to brand B's endpoint
    assert receiver.types() == ["redemption.fulfilled"]
    [delivery] = _deliveries(rt)

    other = bearer(tokens.other_admin)
    listed = client.get(ENDPOINTS, headers=other).get_json()["items"]
    assert [e["url"] for e in listed] == [theirs.url]
    assert client.get(f"{ENDPOINTS}/{mine['id']}", headers=other).status_code == 404
    assert client.get(f"{ENDPOINTS}/{mine['id']}/deliveries", headers=other).status_code == 404
    assert client.post(f"/api/v1/webhook-deliveries/{delivery.id}/resend", headers=other).status_code == 404
    assert client.delete(f"{ENDPOINTS}/{mine['id']}", headers=other).status_code == 404
    assert len(receiver.received) == 1
    with rt.sessions() as s:
        assert s.get(OutboundEndpoint, mine["id"]).active is True
    # Read-only roles manage no endpoints.
    assert client.get(ENDPOINTS, headers=bearer(tokens.viewer)).status_code == 403


# -- where webhooks may go (SSRF) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://loyalty.example.com/hooks", "https://"),
        ("https://10.0.0.5/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("https://[::ffff:192.168.1.1]/hooks", "private"),
        ("https://user:secret@loyalty.example.com/hooks", "user:password@"),
        ("ftp://loyalty.example.com/hooks", "https://"),
        ("https://intranet/hooks", "public host name"),
        ("http://127.0.0.1:8080/hooks", "CONNECTOR_OUTBOUND_WEBHOOKS_ALLOW_LOCAL"),
    ],
)
def test_outbound_endpoint_urls_that_could_reach_inside_are_refused(make_runtime, shop, world, url, says):
    from connector.app import create_app
    from tests.web.support import make_token

    production = make_runtime(plugins=[shop])  # outbound_allow_local off, as in production
    client = create_app(settings=production.settings, runtime=production).test_client()
    token = make_token(production, __import__("connector.core.model", fromlist=["Role"]).Role.BRAND_ADMIN, world.brand)
    response = client.post(ENDPOINTS, json={"url": url}, headers=bearer(token))
    assert response.status_code == 422, response.get_json()
    assert says in response.get_json()["error"]["fields"]["url"]
    with production.sessions() as s:
        assert s.scalars(select(OutboundEndpoint)).all() == []


def test_outbound_every_resolved_address_is_checked_before_a_send():
    assert address_problem(["93.184.215.14"], allow_local=False) is None
    assert "private" in (address_problem(["93.184.215.14", "10.1.2.3"], allow_local=False) or "")
    assert address_problem(["127.0.0.1"], allow_local=True) is None
    assert "private" in (address_problem(["127.0.0.1"], allow_local=False) or "")
    assert "private" in (address_problem(["::ffff:127.0.0.1"], allow_local=False) or "")
    assert "private" in (address_problem(["192.168.0.10"], allow_local=True) or "")  # dev allows loopback only
