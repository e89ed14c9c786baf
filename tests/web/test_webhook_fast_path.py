"""``POST /webhooks/<provider>`` answered in front of Flask (connector/webhooks/fast_path.py) behaves as the view,
and the thread's held intake connection (connector/core/intake_connection.py) survives PostgreSQL dropping it.

A delivery with a Content-Length takes the fast path; a chunked one (no Content-Length) goes through
Flask's view. Both must store once, answer the same, and refuse the same; a refusal in the fast path
is answered, and logged, once, by the view.
"""

from __future__ import annotations

import dataclasses
import io

import pytest
from sqlalchemy import select, text

from connector.app import create_app
from connector.core.tables import WebhookDelivery
from connector.plugins.shopify.webhooks import SIGNATURE_MISMATCH
from tests.conftest import backend
from tests.web.support import (
    SHOP_SECRET,
    as_body,
    delivery_count,
    fulfillment_payload,
    shopify_headers,
    shopify_signature,
)

URL = "/webhooks/shopify"


def _delivery(fulfillment_id: int) -> tuple[bytes, dict[str, str]]:
    body = as_body(fulfillment_payload(fulfillment_id, "in_transit", "2026-07-01T12:00:00Z"))
    return body, shopify_headers(body, "fulfillments/update")


def _through_the_view(client, body: bytes, headers: dict[str, str]):
    """Without a Content-Length the fast path steps aside, so Flask's view answers."""
    return client.post(
        URL,
        input_stream=io.BytesIO(body),
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_stored_delivery_is_answered_alike_by_the_fast_path_and_the_view(rt, world):
    for secure in (False, True):
        settings = dataclasses.replace(rt.settings, secure_cookies=secure)
        client = create_app(settings=settings, runtime=rt).test_client()
        before = delivery_count(rt)
        fast_body, fast_headers = _delivery(100 + secure)
        view_body, view_headers = _delivery(200 + secure)
        fast = client.post(URL, data=fast_body, headers=fast_headers)
        view = _through_the_view(client, view_body, view_headers)
        for answer in (fast, view):
            assert answer.status_code == 200, answer.get_data(as_text=True)
            assert answer.mimetype == "application/json"
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert ("Strict-Transport-Security" in answer.headers) is secure
        assert set(fast.get_json()) == set(view.get_json()) == {"status", "delivery_id"}
        assert fast.get_json()["status"] == view.get_json()["status"] == "accepted"
        assert fast.get_data().endswith(b"\n") and view.get_data().endswith(b"\n")
        assert delivery_count(rt) == before + 2
        with rt.sessions() as s:
            stored = s.get(WebhookDelivery, fast.get_json()["delivery_id"])
            assert stored is not None and stored.body == fast_body.decode()

        # The same delivery again, each way round: a duplicate, stored once.
        again = [
            client.post(URL, data=view_body, headers=view_headers),
            _through_the_view(client, fast_body, fast_headers),
        ]
        assert [a.get_json() for a in again] == [{"status": "duplicate"}, {"status": "duplicate"}]
        assert delivery_count(rt) == before + 2


def test_a_refusal_in_the_fast_path_is_answered_and_logged_once_by_the_view(client, rt, caplog):
    body, headers = _delivery(300)
    headers["X-Shopify-Hmac-Sha256"] = shopify_signature(body, secret="not-the-shop-secret-at-all")
    with caplog.at_level("INFO", logger="connector.webhooks"):
        fast = client.post(URL, data=body, headers=headers)
        view = _through_the_view(client, body, headers)
    for answer in (fast, view):
        assert answer.status_code == 401
        assert answer.get_json() == {"error": {"code": "webhook_rejected", "message": SIGNATURE_MISMATCH}}
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    rejected = [r.getMessage() for r in caplog.records if r.getMessage().startswith("webhook rejected")]
    assert len(rejected) == 2, rejected  # one line per request, not two for the one the fast path handed over
    assert all(SHOP_SECRET not in line for line in rejected)
    assert delivery_count(rt) == 0


def test_a_body_shorter_than_its_content_length_is_refused_and_stores_nothing(client, rt):
    body, headers = _delivery(400)
    cut = body[: len(body) // 2]
    answer = client.post(
        URL,
        input_stream=io.BytesIO(cut),
        headers={**headers, "Content-Length": str(len(body))},
    )
    assert answer.status_code in {400, 401}
    assert "error" in answer.get_json()
    assert delivery_count(rt) == 0


@pytest.mark.skipif(
    backend() != "postgres", reason="the held intake connection is PostgreSQL's (SQLite opens one per write)"
)
def test_a_delivery_is_stored_once_after_its_threads_connection_died(client, rt):
    """PostgreSQL restarted between two bursts: the held connection is dead, the next delivery still lands once."""
    first_body, first_headers = _delivery(500)
    assert client.post(URL, data=first_body, headers=first_headers).status_code == 200
    with rt.engine.connect() as c:  # every other backend of this database, the held intake connection among them
        killed = c.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    assert killed >= 1
    body, headers = _delivery(501)
    answer = client.post(URL, data=body, headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["status"] == "accepted"
    assert client.post(URL, data=body, headers=headers).get_json() == {"status": "duplicate"}
    with rt.sessions() as s:
        rows = s.scalars(select(WebhookDelivery.body).order_by(WebhookDelivery.id)).all()
    assert rows == [first_body.decode(), body.decode()]
