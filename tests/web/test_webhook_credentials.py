"""Signed webhooks against encrypted webhook secrets: verified with the right key, a clear error with a wrong one."""

from __future__ import annotations

import logging

from sqlalchemy import text

from connector.app import create_app
from connector.core.credentials import generate_key
from tests.web.support import SHOP_DOMAIN, SHOP_SECRET, as_body, delivery_count, fulfillment_payload, shopify_headers

URL = "/webhooks/shopify"


def test_a_signed_webhook_verifies_against_the_encrypted_secret(client, rt, world):
    with rt.engine.connect() as c:
        raw = c.execute(text("SELECT webhook_secret FROM shops WHERE domain = :d"), {"d": SHOP_DOMAIN}).scalar()
    assert raw.startswith("gAAAAA") and SHOP_SECRET not in raw
    body = as_body(fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00-04:00"))
    response = client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert delivery_count(rt) == 1


def test_a_wrong_key_is_a_logged_server_error_naming_the_variable_not_a_bad_signature(make_runtime, world, caplog):
    """The sender did nothing wrong: no 401 that would blame the signature, nothing stored, no secret shown."""
    wrong = make_runtime(encryption_keys=(generate_key(),))
    client = create_app(settings=wrong.settings, runtime=wrong).test_client()
    body = as_body(fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00-04:00"))
    with caplog.at_level(logging.DEBUG):
        response = client.post(URL, data=body, headers=shopify_headers(body, "fulfillments/update"))
    assert response.status_code == 500
    assert "CONNECTOR_ENCRYPTION_KEYS" in caplog.text
    assert SHOP_SECRET not in caplog.text and SHOP_SECRET not in response.get_data(as_text=True)
    assert delivery_count(wrong) == 0
