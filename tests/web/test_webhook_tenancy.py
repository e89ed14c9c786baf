"""Every webhook effect is scoped to the shop that signed it.

A shop of brand B, with a perfectly valid signature, must not reach brand A: not its members
(redact, data request, customer retries), not its orders (fulfilment and order topics), not its
stored webhook bodies. Each handled topic is delivered from brand B's shop with payloads aimed at
brand A's records, and every row brand A owns is compared before and after. Positive controls show
the same deliveries from brand A's own shop do take effect, and only within brand A.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ProviderError
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.runtime import Runtime
from connector.core.tables import (
    Brand,
    Member,
    OutboundMessage,
    Redemption,
    RedemptionEventRow,
    Shop,
    WebhookDelivery,
)
from tests.conftest import World
from tests.web.support import (
    ADA_EMAIL,
    ADA_GID,
    ADA_PHONE,
    ATTACKER_URL,
    HANDLED_TOPICS,
    SHOP_DOMAIN,
    as_body,
    fulfillment_payload,
    shopify_headers,
)
from tests.web.support import topic_payload as _payload

SUPPORT = Actor("support@acme", Role.SUPPORT)
URL = "/webhooks/shopify"
OTHER_DOMAIN = "other-brand.myshopify.com"
OTHER_SECRET = "whsec_other_brand_secret_987654"


@pytest.fixture
def tenancy(rt, world, shop, client) -> dict[str, Any]:
    """Brand A: Ada with a fulfilled order (Order/1), stored bodies, then a product error and a customer error.

    Brand B: its own connected shop, and a member who shares Ada's email and phone (a different person
    as far as brand B is concerned, and the control that proves scoping is by brand, not by "no effect").
    """
    fulfilled = create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id
    _store_brand_a_bodies(client)  # before the errors exist, so these earlier updates retry nothing
    shop.script.append(ProviderError("product_not_found", retryable=False, field="sku"))
    product_error = create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id
    shop.script.append(ProviderError("crm_id_not_found", retryable=False, field="email"))
    customer_error = create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id
    with transaction(rt.sessions) as s:
        other = s.get(Brand, world.other_brand.id)
        catalog.add_shop(
            s, other, domain=OTHER_DOMAIN, access_token="shpat_other", webhook_secret=OTHER_SECRET, api_base_url=None
        )
        twin = catalog.add_member(s, other, first_name="Ada", last_name="Twin", email=ADA_EMAIL, phone=ADA_PHONE)
        twin_id = twin.id
    with rt.sessions() as s:
        statuses = {
            rid: (s.get(Redemption, rid).status, s.get(Redemption, rid).error_code)
            for rid in (fulfilled, product_error, customer_error)
        }
        assert s.get(Redemption, fulfilled).external_order_id == "gid://shopify/Order/1"
        assert s.get(Member, world.member.id).shop_customer_id == ADA_GID
    assert statuses[product_error] == ("error", "product_not_found")
    assert statuses[customer_error] == ("error", "crm_id_not_found")
    return {"fulfilled": fulfilled, "product_error": product_error, "customer_error": customer_error, "twin": twin_id}


def _post(client, payload: dict[str, Any], topic: str, *, own: bool) -> Any:
    body = as_body(payload)
    if own:
        headers = shopify_headers(body, topic)
    else:
        headers = shopify_headers(body, topic, domain=OTHER_DOMAIN, secret=OTHER_SECRET)
    return client.post(URL, data=body, headers=headers)


def _store_brand_a_bodies(client) -> None:
    """Deliveries brand A's shop sent earlier: one about Ada, one that only mentions her address in passing."""
    ada = {
        "id": 1,
        "email": ADA_EMAIL,
        "phone": ADA_PHONE,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "updated_at": "2026-07-01T10:00:00Z",
        "admin_graphql_api_id": ADA_GID,
    }
    grace = {
        "id": 2,
        "email": "grace+" + ADA_EMAIL,
        "phone": None,
        "first_name": "Grace",
        "last_name": "Hopper",
        "note": f"referred by {ADA_EMAIL}",
        "updated_at": "2026-07-01T10:05:00Z",
        "admin_graphql_api_id": "gid://shopify/Customer/2",
    }
    for customer in (ada, grace):
        assert _post(client, customer, "customers/update", own=True).status_code == 200


# -- snapshots ------------------------------------------------------------------------------------------------


def _rows(s, model, *where) -> list[tuple]:
    table = model.__table__
    return [tuple(row) for row in s.execute(select(table).where(*where).order_by(table.c.id))]


def brand_snapshot(rt: Runtime, brand_id: int) -> dict[str, Any]:
    """Every row brand ``brand_id`` owns, column by column, plus every file in the outbox."""
    with rt.sessions() as s:
        redemption_ids = select(Redemption.id).where(Redemption.brand_id == brand_id)
        domains = select(Shop.domain).where(Shop.brand_id == brand_id)
        return {
            "members": _rows(s, Member, Member.brand_id == brand_id),
            "redemptions": _rows(s, Redemption, Redemption.brand_id == brand_id),
            "events": _rows(s, RedemptionEventRow, RedemptionEventRow.redemption_id.in_(redemption_ids)),
            "messages": _rows(s, OutboundMessage, OutboundMessage.redemption_id.in_(redemption_ids)),
            "deliveries": _rows(s, WebhookDelivery, WebhookDelivery.shop_domain.in_(domains)),
            "shops": _rows(s, Shop, Shop.brand_id == brand_id),
        }


def outbox(rt: Runtime) -> dict[str, bytes]:
    root: Path = rt.settings.outbox_dir
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def brand_a_secrets(rt: Runtime, world: World) -> list[str]:
    """Strings that would betray brand A's member data or codes if they appeared in brand B's outbox."""
    with rt.sessions() as s:
        codes = [r.code for r in s.scalars(select(Redemption).where(Redemption.brand_id == world.brand.id))]
    return ["Lovelace", "150 Elgin St", "K2P 1L4", "1990-12-10", *codes]


# -- brand B's shop cannot reach brand A ------------------------------------------------------------------------


@pytest.mark.parametrize("topic", HANDLED_TOPICS)
def test_signed_delivery_from_another_brands_shop_changes_nothing_of_brand_a(client, rt, world, tenancy, topic):
    before, files_before = brand_snapshot(rt, world.brand.id), outbox(rt)
    assert all(before.values()), {table: len(rows) for table, rows in before.items()}  # something to protect

    response = _post(client, _payload(topic, OTHER_DOMAIN), topic, own=False)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "accepted"
    after = brand_snapshot(rt, world.brand.id)
    for table in before:
        assert after[table] == before[table], f"{topic} from brand B's shop changed brand A's {table}"
    files_after = outbox(rt)
    assert {k: v for k, v in files_after.items() if k in files_before} == files_before
    for name, content in files_after.items():
        if name in files_before:
            continue
        # The only new file allowed is brand B's own answer to its data request, with no brand A data in it.
        assert topic == "customers/data_request" and OTHER_DOMAIN in name, name
        text = content.decode()
        for secret in brand_a_secrets(rt, world):
            assert secret not in text, f"brand A's {secret!r} leaked into {name}"
        assert [m["last_name"] for m in json.loads(text)["members"]] == ["Twin"]


def test_the_other_brands_delivery_does_act_on_its_own_brand(client, rt, world, tenancy):
    """The control for the test above: brand B's redact reaches brand B's member, and only that one."""
    a_before = brand_snapshot(rt, world.brand.id)
    assert _post(client, _payload("customers/redact", OTHER_DOMAIN), "customers/redact", own=False).status_code == 200
    with rt.sessions() as s:
        twin = s.get(Member, tenancy["twin"])
        assert twin.email is None and twin.phone is None and twin.redacted_at is not None
    assert brand_snapshot(rt, world.brand.id)["members"] == a_before["members"]


# -- brand A's own shop does reach brand A (and only brand A) ------------------------------------------------------


def _redemption(rt: Runtime, rid: int) -> Redemption:
    with rt.sessions() as s:
        return s.get(Redemption, rid)


@pytest.mark.parametrize("topic", ["fulfillments/create", "fulfillments/update", "orders/fulfilled"])
def test_own_shop_delivery_updates_its_order(client, rt, tenancy, topic):
    assert _post(client, _payload(topic, SHOP_DOMAIN), topic, own=True).status_code == 200
    r = _redemption(rt, tenancy["fulfilled"])
    assert r.delivery_status == "delivered" and r.tracking_url == ATTACKER_URL


def test_own_shop_cancellation_cancels_its_order(client, rt, tenancy):
    topic = "orders/cancelled"
    assert _post(client, _payload(topic, SHOP_DOMAIN), topic, own=True).status_code == 200
    assert _redemption(rt, tenancy["fulfilled"]).delivery_status == "cancelled"


def test_own_shop_product_update_retries_its_product_errors(client, rt, tenancy):
    topic = "products/update"
    assert _post(client, _payload(topic, SHOP_DOMAIN), topic, own=True).status_code == 200
    assert _redemption(rt, tenancy["product_error"]).status == "fulfilled"
    assert _redemption(rt, tenancy["customer_error"]).status == "error"


def test_own_shop_customer_update_retries_its_customer_errors(client, rt, tenancy):
    topic = "customers/update"
    assert _post(client, _payload(topic, SHOP_DOMAIN), topic, own=True).status_code == 200
    assert _redemption(rt, tenancy["customer_error"]).status == "fulfilled"
    assert _redemption(rt, tenancy["product_error"]).status == "error"


def test_own_shop_redact_erases_its_member_and_not_the_other_brands(client, rt, world, tenancy):
    topic = "customers/redact"
    assert _post(client, _payload(topic, SHOP_DOMAIN), topic, own=True).status_code == 200
    with rt.sessions() as s:
        ada, twin = s.get(Member, world.member.id), s.get(Member, tenancy["twin"])
        bodies = {
            d.customer_ref: d.body
            for d in s.scalars(select(WebhookDelivery).where(WebhookDelivery.topic == "customers/update"))
        }
    assert ada.email is None and ada.redacted_at is not None and ada.last_name == "Member"
    assert (twin.email, twin.phone, twin.redacted_at) == (ADA_EMAIL, ADA_PHONE, None)
    assert bodies[ADA_GID] is None
    # Grace's delivery mentions Ada's address inside other text: not an exact value, so it is kept.
    assert bodies["gid://shopify/Customer/2"] is not None


def test_own_shop_data_request_exports_its_member_only(client, rt, world, tenancy):
    topic = "customers/data_request"
    assert _post(client, _payload(topic, SHOP_DOMAIN), topic, own=True).status_code == 200
    files = outbox(rt)
    [name] = [n for n in files if n.startswith("data-requests/")]
    export = json.loads(files[name])
    assert [m["last_name"] for m in export["members"]] == ["Lovelace"]
    assert export["shop_domain"] == SHOP_DOMAIN


def test_redact_with_a_quote_for_an_email_wipes_only_exact_matches(client, rt, world, tenancy):
    """An email of ``"`` once wiped every stored body (substring match); now it matches no value but itself."""
    shipping = as_body(fulfillment_payload(1, "in_transit", "2026-07-01T12:00:00Z"))
    assert client.post(URL, data=shipping, headers=shopify_headers(shipping, "fulfillments/update")).status_code == 200
    with rt.sessions() as s:
        kept = {d.id: d.body for d in s.scalars(select(WebhookDelivery))}
    payload = {
        "shop_id": 954889,
        "shop_domain": SHOP_DOMAIN,
        "customer": {"id": 77, "email": '"', "phone": '"'},
        "orders_to_redact": [],
    }
    assert _post(client, payload, "customers/redact", own=True).status_code == 200
    with rt.sessions() as s:
        after = {d.id: d.body for d in s.scalars(select(WebhookDelivery)) if d.id in kept}
        ada = s.get(Member, world.member.id)
    assert after == kept and all(body is not None for body in after.values())
    assert ada.redacted_at is None
