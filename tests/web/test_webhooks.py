"""POST /webhooks/<provider>: verified before parsed, stored once, applied once, forgeries store nothing."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from connector.core.access import Actor
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.tables import Member, OutboundMessage, Redemption, WebhookDelivery
from connector.plugins.shopify.webhooks import SIGNATURE_MISMATCH
from tests.web.support import (
    ADA_EMAIL,
    HANDLED_TOPICS,
    SHOP_DOMAIN,
    SHOP_SECRET,
    as_body,
    delivery_count,
    event_count,
    fulfillment_payload,
    shopify_headers,
    shopify_signature,
    topic_payload,
)

SUPPORT = Actor("support@acme", Role.SUPPORT)
URL = "/webhooks/shopify"


@pytest.fixture
def redemption_id(rt, world, shop) -> int:
    """A fulfilled redemption whose shop order (FakeShopPlugin) is gid://shopify/Order/1."""
    rid = create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id
    with rt.sessions() as s:
        r = s.get(Redemption, rid)
        assert r.status == "fulfilled" and r.external_order_id == "gid://shopify/Order/1"
    return rid


def _redemption(rt, rid) -> Redemption:
    with rt.sessions() as s:
        return s.get(Redemption, rid)


def _rejected(response) -> str:
    assert response.status_code == 401, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "webhook_rejected"
    return error["message"]


# -- accepted, deduplicated, applied once ----------------------------------------------------------------------


def test_webhook_signed_delivery_is_stored_once_and_answered_accepted(client, rt, redemption_id):
    body = as_body(fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00-04:00"))
    response = client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update"))
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["status"] == "accepted" and isinstance(answer["delivery_id"], int)
    assert delivery_count(rt) == 1
    with rt.sessions() as s:
        row = s.get(WebhookDelivery, answer["delivery_id"])
        assert (row.provider, row.shop_domain, row.topic) == ("shopify", SHOP_DOMAIN, "fulfillments/update")
        assert row.body == body.decode() and row.status == "processed"


@pytest.mark.hook("connector_verify_webhook")
@pytest.mark.hook("connector_interpret_webhook")
def test_webhook_same_delivery_five_times_has_one_row_and_one_effect(client, rt, shop, redemption_id):
    body = as_body(fulfillment_payload(1, "delivered", "2026-07-02T09:30:00-04:00"))
    headers = shopify_headers(body, "fulfillments/update")
    orders_before, requests_before = dict(shop.orders), len(shop.requests)
    answers = [client.post(URL, data=body, headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.get_json()["status"] for a in answers] == ["accepted"] + ["duplicate"] * 4
    assert delivery_count(rt) == 1
    r = _redemption(rt, redemption_id)
    assert r.delivery_status == "delivered"
    assert r.tracking_number == "1Z999AA10123456784"
    assert event_count(rt, redemption_id, "delivery_updated") == 1
    # No remote call was made on the request path: the shop saw nothing new.
    assert shop.orders == orders_before and len(shop.requests) == requests_before


def test_webhook_replayed_body_with_fresh_headers_has_no_second_effect(client, rt, redemption_id):
    body = as_body(fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00-04:00"))
    first = client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update"))
    # Same signed body, new Webhook-Id and Event-Id: the payload identity (resource + updated_at) still matches.
    again = client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update"))
    assert first.get_json()["status"] == "accepted"
    assert again.status_code == 200 and again.get_json() == {"status": "duplicate"}
    assert delivery_count(rt) == 1
    assert event_count(rt, redemption_id, "delivery_updated") == 1


def test_webhook_older_update_delivered_late_does_not_overwrite_newer(client, rt, redemption_id):
    newer = as_body(fulfillment_payload(1, "delivered", "2026-07-03T08:00:00Z", tracking="NEW-TRACK"))
    older = as_body(fulfillment_payload(1, "in_transit", "2026-07-02T08:00:00Z", tracking="OLD-TRACK"))
    assert client.post(URL, data=newer, headers=shopify_headers(newer, "fulfillments/update")).status_code == 200
    late = client.post(URL, data=older, headers=shopify_headers(older, "fulfillments/update"))
    assert late.status_code == 200 and late.get_json()["status"] == "accepted"
    assert delivery_count(rt) == 2  # both recorded
    r = _redemption(rt, redemption_id)
    assert r.delivery_status == "delivered" and r.tracking_number == "NEW-TRACK"
    assert event_count(rt, redemption_id, "delivery_updated") == 1


def test_webhook_customers_redact_blanks_bodies_and_member_pii(client, rt, world, redemption_id):
    with rt.sessions() as s:
        customer_gid = s.get(Member, world.member.id).shop_customer_id
    assert customer_gid == "gid://shopify/Customer/1"
    customer = as_body(
        {
            "id": 1,
            "email": "ada@example.com",
            "phone": "+16135550142",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "updated_at": "2026-07-01T10:00:00Z",
            "admin_graphql_api_id": customer_gid,
        }
    )
    assert client.post(URL, data=customer, headers=shopify_headers(customer, "customers/update")).status_code == 200
    shipping = as_body(fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00Z"))
    assert client.post(URL, data=shipping, headers=shopify_headers(shipping, "fulfillments/update")).status_code == 200
    redact = as_body(
        {
            "shop_id": 954889,
            "shop_domain": SHOP_DOMAIN,
            "customer": {"id": 1, "email": "ada@example.com", "phone": "+16135550142"},
            "orders_to_redact": [1],
        }
    )
    redact_headers = shopify_headers(redact, "customers/redact")
    response = client.post(URL, data=redact, headers=redact_headers)
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"

    with rt.sessions() as s:
        bodies = {d.topic: d.body for d in s.scalars(select(WebhookDelivery))}
        member = s.get(Member, world.member.id)
        messages = s.scalars(select(OutboundMessage)).all()
    assert bodies["customers/update"] is None and bodies["customers/redact"] is None
    assert bodies["fulfillments/update"] is not None  # nothing personal in it: kept
    assert not any("ada@example.com" in (b or "") or "Lovelace" in (b or "") for b in bodies.values())
    assert member.email is None and member.phone is None and member.address1 is None
    assert (member.first_name, member.last_name) == ("Redacted", "Member") and member.redacted_at is not None
    assert all(m.to_address == "redacted" and m.body == "" for m in messages)
    # Redelivered (Shopify retries redact like any topic): answered, no new row.
    again = client.post(URL, data=redact, headers=redact_headers)
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert delivery_count(rt) == 3


# -- rejected: 401 with the reason, nothing stored ---------------------------------------------------------------


def _good(body: bytes = b"") -> tuple[bytes, dict[str, str]]:
    body = body or as_body(fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00Z"))
    return body, shopify_headers(body, "fulfillments/update")


def test_webhook_forged_signature_is_rejected_and_stores_nothing(client, rt, redemption_id):
    body, headers = _good()
    headers["X-Shopify-Hmac-Sha256"] = shopify_signature(body, secret="not-the-shop-secret-at-all")
    assert _rejected(client.post(URL, data=body, headers=headers)) == SIGNATURE_MISMATCH
    assert delivery_count(rt) == 0
    assert _redemption(rt, redemption_id).delivery_status == "unfulfilled"


def test_webhook_tampered_body_is_rejected_and_stores_nothing(client, rt, redemption_id):
    body, headers = _good()
    tampered = body.replace(b"in_transit", b"delivered")
    assert _rejected(client.post(URL, data=tampered, headers=headers)) == SIGNATURE_MISMATCH
    # Re-serialised with other whitespace is a different byte string too.
    reformatted = json.dumps(json.loads(body), indent=2).encode()
    assert _rejected(client.post(URL, data=reformatted, headers=headers)) == SIGNATURE_MISMATCH
    assert delivery_count(rt) == 0
    assert _redemption(rt, redemption_id).delivery_status == "unfulfilled"


def test_webhook_missing_header_is_rejected_with_its_name(client, rt):
    for header in ("X-Shopify-Hmac-Sha256", "X-Shopify-Shop-Domain", "X-Shopify-Topic"):
        body, headers = _good()
        del headers[header]
        assert _rejected(client.post(URL, data=body, headers=headers)) == f"missing {header} header"
    assert delivery_count(rt) == 0


def test_webhook_malformed_signature_is_a_401_not_a_500(client, rt):
    body, headers = _good()
    good = headers["X-Shopify-Hmac-Sha256"]
    for signature, reason in [
        ("\u00e9" + good[1:], "signature is not valid base64 (it contains non-ASCII characters)"),
        ("not base64 at all!", "signature is not valid base64"),
        (good[:-4] + "AAA=", SIGNATURE_MISMATCH),
        ("c2hvcnQ=", "signature is not an HMAC-SHA256 digest (wrong length)"),
    ]:
        headers["X-Shopify-Hmac-Sha256"] = signature
        assert _rejected(client.post(URL, data=body, headers=headers)) == reason
    assert delivery_count(rt) == 0


def test_webhook_from_an_unknown_shop_answers_exactly_as_a_bad_signature(client, rt, caplog):
    """One answer for both, so the endpoint cannot be used to find out which shops are connected."""
    body = as_body(fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00Z"))
    unknown = shopify_headers(body, "fulfillments/update", domain="someone-else.myshopify.com")
    forged = shopify_headers(body, "fulfillments/update")
    forged["X-Shopify-Hmac-Sha256"] = shopify_signature(body, secret="not-the-shop-secret-at-all")
    with caplog.at_level("INFO", logger="connector.webhooks"):
        answers = [client.post(URL, data=body, headers=headers) for headers in (unknown, forged)]
    assert [a.status_code for a in answers] == [401, 401]
    assert (
        answers[0].get_json()
        == answers[1].get_json()
        == {"error": {"code": "webhook_rejected", "message": SIGNATURE_MISMATCH}}
    )
    assert delivery_count(rt) == 0
    # The operator still learns the precise reason, from the server log (and never a secret).
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "unknown shop someone-else.myshopify.com" in logged
    assert "signature does not match any of the 1 webhook secret(s) of acme-pets.myshopify.com" in logged
    assert SHOP_SECRET not in logged and "not-the-shop-secret-at-all" not in logged

    # A malformed signature answers the same for a connected and an unknown shop, too.
    for headers in (unknown, forged):
        headers["X-Shopify-Hmac-Sha256"] = "c2hvcnQ="
    wrong_length = [client.post(URL, data=body, headers=headers).get_json() for headers in (unknown, forged)]
    assert wrong_length[0] == wrong_length[1]


def test_webhook_unknown_provider_is_404(client, rt):
    body, headers = _good()
    response = client.post("/webhooks/nosuchprovider", data=body, headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert "nosuchprovider" in response.get_json()["error"]["message"]
    assert delivery_count(rt) == 0


def test_webhook_get_is_405_json(client):
    response = client.get(URL)
    assert response.status_code == 405 and response.get_json()["error"]["code"] == "method_not_allowed"


# -- size limits ---------------------------------------------------------------------------------------------------


@pytest.fixture
def small_limit_client(make_runtime, shop):
    from connector.app import create_app
    from tests.conftest import seed_world

    rt = make_runtime(plugins=[shop], webhook_max_bytes=2048)
    seed_world(rt)
    return rt, create_app(settings=rt.settings, runtime=rt).test_client()


def _padded(size: int) -> bytes:
    payload = fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00Z")
    payload["note"] = ""
    base = len(as_body(payload))
    payload["note"] = "x" * (size - base)
    body = as_body(payload)
    assert len(body) == size
    return body


def _post_chunked(client, body: bytes, headers: dict[str, str]):
    """No Content-Length; the server marks the stream as terminated (gunicorn sets wsgi.input_terminated)."""
    return client.post(
        URL,
        input_stream=io.BytesIO(body),
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_webhook_oversize_is_413_and_stores_nothing(small_limit_client):
    rt, client = small_limit_client
    body = _padded(4096)
    response = client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update"))
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and "4096 bytes; the limit is 2048" in error["message"]
    # The limit is inclusive: one byte over is refused.
    over = _padded(2049)
    assert client.post(URL, data=over, headers=shopify_headers(over, "fulfillments/update")).status_code == 413
    # Without a Content-Length (a chunked upload, as gunicorn passes it on), reading stops past the limit.
    for size in (4096, 2049):
        chunked = _padded(size)
        response = _post_chunked(client, chunked, shopify_headers(chunked, "fulfillments/update"))
        assert response.status_code == 413, size
        assert "more than 2048 bytes; the limit is 2048" in response.get_json()["error"]["message"]
    assert delivery_count(rt) == 0
    # Exactly the limit is accepted, with or without a Content-Length.
    body = _padded(2048)
    response = client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update"))
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    chunked = as_body(fulfillment_payload(1, "delivered", "2026-07-02T12:00:00Z"))
    response = _post_chunked(client, chunked, shopify_headers(chunked, "fulfillments/update"))
    assert response.status_code == 200 and response.get_json()["status"] == "accepted"
    assert delivery_count(rt) == 2


# -- topic swap, replay of a signed body, malformed bodies, unsafe links ---------------------------------------------


def _refused(response) -> str:
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "webhook_payload_invalid"
    return error["message"]


def test_webhook_data_request_body_resent_as_redact_is_refused_and_redacts_nothing(client, rt, world, redemption_id):
    body = as_body(topic_payload("customers/data_request"))
    assert client.post(URL, data=body, headers=shopify_headers(body, "customers/data_request")).status_code == 200
    swapped = client.post(URL, data=body, headers=shopify_headers(body, "customers/redact"))
    message = _refused(swapped)
    assert "customers/redact" in message and "orders_to_redact" in message
    assert delivery_count(rt) == 1
    with rt.sessions() as s:
        ada = s.get(Member, world.member.id)
    assert (ada.email, ada.last_name, ada.redacted_at) == (ADA_EMAIL, "Lovelace", None)


def test_webhook_body_of_one_handled_topic_is_refused_under_any_other(client, rt, world, redemption_id):
    """Every handled topic checks the shape of its payload: no body fits another topic, save the two fulfilment ones."""
    same_shape = {frozenset({"fulfillments/create", "fulfillments/update"})}
    for body_topic in HANDLED_TOPICS:
        body = as_body(topic_payload(body_topic))
        for header_topic in HANDLED_TOPICS:
            if header_topic == body_topic or frozenset({header_topic, body_topic}) in same_shape:
                continue
            response = client.post(URL, data=body, headers=shopify_headers(body, header_topic))
            assert response.status_code == 400, (body_topic, header_topic, response.get_data(as_text=True))
            assert header_topic in _refused(response)
    assert delivery_count(rt) == 0
    with rt.sessions() as s:
        ada, r = s.get(Member, world.member.id), s.get(Redemption, redemption_id)
    assert ada.redacted_at is None and (r.delivery_status, r.tracking_url) == ("unfulfilled", None)


def test_webhook_privacy_body_naming_another_shop_is_refused(client, rt, world):
    for topic in ("customers/redact", "customers/data_request", "shop/redact"):
        body = as_body(topic_payload(topic, "someone-else.myshopify.com"))
        assert "shop_domain is not the shop that signed it" in _refused(
            client.post(URL, data=body, headers=shopify_headers(body, topic))
        )
    assert delivery_count(rt) == 0


@pytest.mark.parametrize("topic", ["customers/redact", "customers/data_request", "shop/redact"])
def test_webhook_same_body_under_fresh_ids_is_stored_and_applied_once(client, rt, world, redemption_id, topic):
    """Privacy bodies carry no ``updated_at``: the body itself (per shop and topic) is the dedupe key."""
    body = as_body(topic_payload(topic))
    answers = [client.post(URL, data=body, headers=shopify_headers(body, topic)) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 6
    assert [a.get_json()["status"] for a in answers] == ["accepted"] + ["duplicate"] * 5
    assert delivery_count(rt) == 1
    with rt.sessions() as s:
        processed = s.scalars(select(WebhookDelivery.processed_at)).all()
    assert len(processed) == 1 and processed[0] is not None


def test_webhook_redact_replayed_under_fresh_ids_erases_once(client, rt, world, redemption_id):
    body = as_body(topic_payload("customers/redact"))
    assert client.post(URL, data=body, headers=shopify_headers(body, "customers/redact")).status_code == 200
    with rt.sessions() as s:
        first = s.get(Member, world.member.id).redacted_at
    assert first is not None
    for _ in range(3):
        client.post(URL, data=body, headers=shopify_headers(body, "customers/redact"))
    with rt.sessions() as s:
        assert s.get(Member, world.member.id).redacted_at == first
    assert delivery_count(rt) == 1


def test_webhook_json_nested_30000_deep_is_400_and_stores_nothing(client, rt, redemption_id):
    body = b'{"order_id": 1, "status": "success", "note": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    response = client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update"))
    assert _refused(response) == "body nests JSON arrays or objects too deeply to read"
    deep_object = b'{"a":' * 30_000 + b"1" + b"}" * 30_000
    assert _refused(client.post(URL, data=deep_object, headers=shopify_headers(deep_object, "orders/create")))
    assert delivery_count(rt) == 0


def test_webhook_non_http_tracking_url_is_not_stored(client, rt, redemption_id):
    payload = {**fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00Z"), "tracking_url": "javascript:alert(1)"}
    body = as_body(payload)
    assert client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update")).status_code == 200
    r = _redemption(rt, redemption_id)
    assert r.delivery_status == "shipped" and r.tracking_number == "1Z999AA10123456784" and r.tracking_url is None
    payload = {**fulfillment_payload(1, "delivered", "2026-07-02T12:00:00Z"), "tracking_urls": ["data:text/html,x"]}
    payload["tracking_url"] = None
    body = as_body(payload)
    assert client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update")).status_code == 200
    r = _redemption(rt, redemption_id)
    assert r.delivery_status == "delivered" and r.tracking_url is None


def test_webhook_tracking_values_too_long_for_their_columns_are_dropped_not_a_stuck_delivery(client, rt, redemption_id):
    payload = fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00Z", tracking="1Z" + "9" * 150)
    payload["tracking_url"] = "https://www.ups.com/track?n=" + "9" * 600
    body = as_body(payload)
    assert client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update")).status_code == 200
    with rt.sessions() as s:
        assert s.scalars(select(WebhookDelivery.status)).all() == ["processed"]
    r = _redemption(rt, redemption_id)
    assert (r.delivery_status, r.tracking_number, r.tracking_url) == ("shipped", None, None)


def test_webhook_cancellation_with_a_time_out_of_range_in_utc_is_applied_not_a_stuck_delivery(
    client, rt, redemption_id
):
    """Found by the genuine-delivery fuzz: ``cancelled_at`` of ``0001-01-01T00:00:00+14:00`` is valid ISO 8601
    but not a UTC time; stored as the delivery's time it failed the drain on every retry, forever."""
    body = as_body({"id": 1, "cancelled_at": "0001-01-01T00:00:00+14:00"})
    response = client.post(URL, data=body, headers=shopify_headers(body, "orders/cancelled"))
    assert response.status_code == 200, response.get_json()
    with rt.sessions() as s:
        assert s.scalars(select(WebhookDelivery.status)).all() == ["processed"]
    assert _redemption(rt, redemption_id).delivery_status == "cancelled"


def test_webhook_values_with_a_nul_match_nothing_and_never_stick_the_drain(client, rt, world, redemption_id):
    """Found by the genuine-delivery fuzz: a NUL in a signed payload's phone (a lookup value) or tracking
    number (a value to store) made PostgreSQL refuse the statement, so the delivery failed in the drain
    on every retry. Such a value is treated as absent; the rest of the delivery takes effect."""
    request = topic_payload("customers/data_request")
    request["customer"] = {**request["customer"], "phone": "\x00"}
    shipped = {**fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00-04:00"), "tracking_number": "1Z\x00"}
    for body, topic in ((as_body(request), "customers/data_request"), (as_body(shipped), "fulfillments/update")):
        response = client.post(URL, data=body, headers=shopify_headers(body, topic))
        assert response.status_code == 200, response.get_json()
    with rt.sessions() as s:
        assert s.scalars(select(WebhookDelivery.status)).all() == ["processed", "processed"]
    exported = json.loads(next((rt.settings.outbox_dir / "data-requests").glob("*.json")).read_text())
    assert [m["email"] for m in exported["members"]] == [ADA_EMAIL]  # still found by the email
    r = _redemption(rt, redemption_id)
    assert r.delivery_status == "shipped" and r.tracking_number != "1Z\x00"
