"""Shop secrets are cached per process, yet a rotation or a new shop is honoured on the next delivery."""

from __future__ import annotations

import json

from connector.core import catalog
from connector.core.database import transaction
from connector.core.tables import Brand, Shop
from tests.web.support import shopify_headers


def _post(client, secret: str, domain: str = "acme-pets.myshopify.com", n: int = 0):
    body = json.dumps(
        {
            "id": 1000 + n,
            "order_id": 1,
            "status": "success",
            "shipment_status": None,
            "updated_at": f"2026-07-01T16:00:{n:02d}Z",
        }
    ).encode()
    return client.post(
        "/webhooks/shopify",
        data=body,
        headers=shopify_headers(body, "fulfillments/update", secret=secret, domain=domain),
    )


def test_secret_cache_reads_the_database_once_for_many_deliveries(client, rt):
    for n in range(20):
        assert _post(client, "whsec_test_secret_0123456789", n=n).status_code == 200
    assert rt.secret_cache.loads == 1


def test_secret_cache_honours_a_rotation_and_a_new_shop_at_once(client, rt):
    assert _post(client, "whsec_test_secret_0123456789", n=1).status_code == 200
    with transaction(rt.sessions) as s:  # rotated by another process: this one's cache is stale
        shop = s.query(Shop).filter_by(domain="acme-pets.myshopify.com").one()
        catalog.rotate_webhook_secret(s, shop, "whsec_rotated_secret_987654", rt.now())
    assert _post(client, "whsec_rotated_secret_987654", n=2).status_code == 200
    assert _post(client, "whsec_test_secret_0123456789", n=3).status_code == 200  # old one, within the hour
    assert _post(client, "whsec_wrong_secret_00000000", n=4).status_code == 401
    unknown = _post(client, "whsec_new_shop_secret_0000", domain="new-shop.myshopify.com", n=5)
    assert unknown.status_code == 401
    with transaction(rt.sessions) as s:
        brand = s.query(Brand).first()
        catalog.add_shop(
            s, brand, domain="new-shop.myshopify.com", access_token="t", webhook_secret="whsec_new_shop_secret_0000"
        )
    assert _post(client, "whsec_new_shop_secret_0000", domain="new-shop.myshopify.com", n=6).status_code == 200
