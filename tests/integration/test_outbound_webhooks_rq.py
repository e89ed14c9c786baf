"""Outbound webhooks sent by real ``connector worker`` processes on real Redis: a failed send is retried by
RQ's scheduler, with the same event id, and the platform ends up with it once acknowledged."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.outbound_endpoints import create_endpoint
from connector.core.outbound_tables import OutboundAttempt, OutboundDelivery
from connector.core.redemptions import create_redemption
from connector.core.tables import Redemption
from tests.conftest import seed_world
from tests.integration.conftest import run_cli
from tests.web.receiver import documented_verify, running_receiver

pytestmark = [pytest.mark.redis, pytest.mark.slow]
SUPPORT = Actor("support", Role.SUPPORT)
LOCAL = {"CONNECTOR_OUTBOUND_WEBHOOKS_ALLOW_LOCAL": "true"}


def test_rq_worker_sends_the_webhook_and_retries_it_after_a_failure(rq_runtime):
    rt = rq_runtime
    rt.settings = replace(rt.settings, outbound_allow_local=True)
    w = seed_world(rt)
    with transaction(rt.sessions) as s:
        reward_id = catalog.add_reward(
            s, s.merge(w.brand), name="Sticker", sku="STK", points_cost=10, channel="example"
        ).id
    admin = Actor("admin", Role.BRAND_ADMIN, brand_id=w.brand.id)
    with running_receiver() as receiver:
        receiver.script = [503]
        secret = create_endpoint(rt, admin, url=receiver.url).secret
        rid = create_redemption(rt, SUPPORT, member_id=w.member.id, reward_id=reward_id).redemption.id

        first = run_cli(rt, "worker", "--burst", **LOCAL)
        assert first.returncode == 0, first.stderr
        with rt.sessions() as s:
            assert s.get(Redemption, rid).status == "fulfilled"
            delivery = s.scalars(select(OutboundDelivery)).one()
        assert delivery.status == "pending" and delivery.attempts == 1 and delivery.next_attempt_at is not None
        assert [r.event["type"] for r in receiver.received] == ["redemption.fulfilled"]

        # Wait for the retry to come due (RQ's scheduler moves it to the queue then); not a timing assert.
        deadline = time.monotonic() + 30
        # Delayed jobs are queued at the next whole second after they come due (RQ keeps whole seconds).
        due = delivery.next_attempt_at + timedelta(seconds=1.2)
        while datetime.now(UTC) <= due and time.monotonic() < deadline:
            time.sleep(0.2)
        second = run_cli(rt, "worker", "--burst", **LOCAL)
        assert second.returncode == 0, second.stderr

    with rt.sessions() as s:
        delivery = s.scalars(select(OutboundDelivery)).one()
        codes = s.scalars(select(OutboundAttempt.status_code).order_by(OutboundAttempt.id)).all()
    assert delivery.status == "delivered" and codes == [503, 204]
    assert len({r.headers["Connector-Webhook-Id"] for r in receiver.received}) == 1
    assert all(documented_verify()(secret, r.headers, r.body) for r in receiver.received)
