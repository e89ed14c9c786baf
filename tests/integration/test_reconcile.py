"""Reconciliation finds duplicate and orphaned reward orders in the shop, and says so once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.core.access import Actor
from connector.core.model import Role
from connector.core.reconcile import FINDING, reconcile
from connector.core.redemptions import create_redemption
from connector.core.tables import RedemptionEventRow
from tests.conftest import seed_world

pytestmark = pytest.mark.slow
ORDER_CREATE = """
mutation($order: OrderCreateOrderInput!) { orderCreate(order: $order) { order { id } userErrors { message } } }
"""


def _extra_order(sim, variant_id: str, tags: list[str]) -> str:
    answer = sim.graphql(
        ORDER_CREATE, {"order": {"lineItems": [{"variantId": variant_id, "quantity": 1}], "tags": tags}}
    ).json()
    return answer["data"]["orderCreate"]["order"]["id"]


def test_reconcile_reports_duplicates_and_orphans_once(make_runtime, sim):
    rt = make_runtime()
    w = seed_world(rt, api_base_url=sim.base_url, points=10_000)
    codes = [
        create_redemption(rt, Actor("t", Role.SUPPORT), member_id=w.member.id, reward_id=w.reward.id).redemption.code
        for _ in range(2)
    ]
    variant_id = sim.control("products")["products"][0]["variants"][0]["admin_graphql_api_id"]
    duplicate = _extra_order(sim, variant_id, ["loyalty-reward", f"redemption-{codes[0]}"])
    orphan = _extra_order(sim, variant_id, ["loyalty-reward", "redemption-R-NOSUCHCODE"])
    _extra_order(sim, variant_id, ["unrelated"])  # not a reward order: ignored

    [report] = reconcile(rt, days=1)
    assert report.error is None
    assert report.orders_seen == 4
    assert list(report.duplicates) == [codes[0]] and duplicate in report.duplicates[codes[0]]
    assert report.orphans == [(orphan, "R-NOSUCHCODE", "no redemption has this code")]

    reconcile(rt, days=1)  # a second run finds the same, and writes nothing new
    with rt.sessions() as s:
        findings = list(s.scalars(select(RedemptionEventRow.message).where(RedemptionEventRow.kind == FINDING)))
    assert len(findings) == 1 and "cancel the extra ones" in findings[0]


def test_reconcile_clean_shop_has_no_findings(make_runtime, sim):
    rt = make_runtime()
    w = seed_world(rt, api_base_url=sim.base_url)
    create_redemption(rt, Actor("t", Role.SUPPORT), member_id=w.member.id, reward_id=w.reward.id)
    [report] = reconcile(rt)
    assert (report.orders_seen, report.duplicates, report.orphans, report.error) == (1, {}, [], None)
