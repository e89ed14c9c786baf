"""Shopify's webhooks, sent signed by the simulator to a live connector app, change what users see."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from connector.app import create_app
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.tables import Member, Redemption, RedemptionEventRow, WebhookDelivery
from tests.conftest import seed_world

pytestmark = pytest.mark.slow
SUPPORT = Actor("support@acme", Role.SUPPORT)


@pytest.fixture
def live(make_runtime, sim) -> Iterator[tuple]:
    rt = make_runtime()
    world = seed_world(rt, api_base_url=sim.base_url, points=100_000)
    app = create_app(rt.settings, runtime=rt)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim.control("config", {"webhook_target_url": f"http://127.0.0.1:{server.server_port}/webhooks/shopify"})
    yield rt, world
    server.shutdown()


def _redeem(rt, world) -> int:
    return create_redemption(rt, SUPPORT, member_id=world.member.id, reward_id=world.reward.id).redemption.id


def _get(rt, rid) -> Redemption:
    with rt.sessions() as s:
        return s.get(Redemption, rid)


def _numeric(gid: str) -> str:
    return gid.rsplit("/", 1)[1]


def test_live_delivery_progress_from_fulfillment_webhooks(live, sim):
    rt, w = live
    rid = _redeem(rt, w)
    order_id = _numeric(_get(rt, rid).external_order_id)
    made = sim.control(f"orders/{order_id}/fulfil", {"shipment_status": "in_transit", "tracking_number": "1Z999"})
    assert [d["status"] for d in made["webhooks"]] == [200, 200]
    r = _get(rt, rid)
    assert (r.delivery_status, r.tracking_number) == ("shipped", "1Z999")
    sim.control(
        f"fulfillments/{_numeric(made['fulfillment']['admin_graphql_api_id'])}/update", {"shipment_status": "delivered"}
    )
    assert _get(rt, rid).delivery_status == "delivered"


def test_live_products_update_retries_product_not_found(live, sim):
    rt, w = live
    sim.control("variants/TSHIRT-M", {"status": "DRAFT"}, method="PATCH")
    rid = _redeem(rt, w)
    assert _get(rt, rid).error_code == "product_not_found"
    sim.control("variants/TSHIRT-M", {"status": "ACTIVE"}, method="PATCH")  # sends products/update
    r = _get(rt, rid)
    assert r.status == "fulfilled"
    with rt.sessions() as s:
        actors = list(
            s.scalars(
                select(RedemptionEventRow.actor).where(
                    RedemptionEventRow.redemption_id == rid, RedemptionEventRow.kind == "retried"
                )
            )
        )
    assert actors == ["shopify webhook products/update"]
    assert len(sim.control(f"orders?tag=redemption-{r.code}")["orders"]) == 1


def test_live_customers_update_retries_crm_errors(live, sim):
    rt, w = live
    with transaction(rt.sessions) as s:
        s.get(Member, w.member.id).province_code = "XX"
    rid = _redeem(rt, w)
    assert _get(rt, rid).error_code == "crm_id_not_found"
    with transaction(rt.sessions) as s:  # the member's details were corrected at the source
        s.get(Member, w.member.id).province_code = "ON"
    customer = sim.control("customers", {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
    sim.control(f"customers/{_numeric(customer['customer']['admin_graphql_api_id'])}", {"note": "vip"}, method="PATCH")
    assert _get(rt, rid).status == "fulfilled"


def test_live_each_webhook_delivered_three_times_has_one_effect(live, sim):
    rt, w = live
    rid = _redeem(rt, w)
    order_id = _numeric(_get(rt, rid).external_order_id)
    made = sim.control(f"orders/{order_id}/fulfil", {"shipment_status": "in_transit"})
    for delivery in made["webhooks"]:  # Shopify redelivers the same event: same Event-Id, new Webhook-Id
        again = sim.control("webhooks/redeliver", {"event_id": delivery["event_id"], "repeat": 2})
        assert again["statuses"] == [200, 200]
    with rt.sessions() as s:
        kinds = list(s.scalars(select(RedemptionEventRow.kind).where(RedemptionEventRow.redemption_id == rid)))
        stored = s.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.topic.in_(["fulfillments/create", "orders/fulfilled"]))
        )
    assert kinds.count("delivery_updated") == 1
    assert stored == 2


def test_live_privacy_webhooks_export_then_redact(live, sim):
    rt, w = live
    rid = _redeem(rt, w)
    customer_gid = None
    with rt.sessions() as s:
        customer_gid = s.get(Member, w.member.id).shop_customer_id
    customer_id = _numeric(customer_gid)
    exported = sim.control("webhooks/send", {"topic": "customers/data_request", "customer_id": customer_id})
    assert exported["statuses"] == [200]
    [export] = (rt.settings.outbox_dir / "data-requests").glob("*.json")
    assert "ada@example.com" in export.read_text() and _get(rt, rid).code in export.read_text()
    redacted = sim.control("webhooks/send", {"topic": "customers/redact", "customer_id": customer_id, "repeat": 2})
    assert redacted["statuses"] == [200, 200]
    with rt.sessions() as s:
        member = s.get(Member, w.member.id)
        assert (member.email, member.phone, member.address1, member.date_of_birth) == (None, None, None, None)
        bodies = list(s.scalars(select(WebhookDelivery.body).where(WebhookDelivery.customer_ref == customer_gid)))
        assert bodies and all(body is None for body in bodies)
        assert not any("ada@example.com" in (b or "") for b in s.scalars(select(WebhookDelivery.body)))
