"""Reconciliation: compare the shop's reward orders with our redemptions.

The one-order algorithm (claim, checkpoint, look before creating) leaves a
residual risk: an order created, its answer lost, and the shop's search lagging
longer than the lookup window. Shopify's own advice is to run reconciliation
jobs; this one finds duplicate orders for one redemption and orders no
redemption accounts for, writes each finding once on the redemption's
timeline, and reports the counts (a metric worth alerting on).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from connector.core.database import transaction
from connector.core.hooktypes import ExternalOrder
from connector.core.runtime import Runtime
from connector.core.shop_tokens import shop_for_plugin
from connector.core.tables import Redemption, RedemptionEventRow, Shop, ShopStatus
from connector.core.timeline import record_event

FINDING = "reconciliation_finding"


@dataclass
class ShopReconciliation:
    shop_domain: str
    orders_seen: int = 0
    #: code -> order ids, when one redemption has more than one live order.
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    #: (order id, code or None, why) for orders no redemption accounts for.
    orphans: list[tuple[str, str | None, str]] = field(default_factory=list)
    error: str | None = None


def reconcile(rt: Runtime, *, days: float = 7.0) -> list[ShopReconciliation]:
    since = rt.now() - timedelta(days=days)
    with rt.sessions() as s:
        shops = [
            (shop.domain, shop.provider, shop.brand_id, shop_for_plugin(rt, shop))
            for shop in s.scalars(
                select(Shop).where(Shop.active.is_(True), Shop.status == ShopStatus.CONNECTED).order_by(Shop.id)
            )
        ]
    reports = []
    for domain, provider, brand_id, info in shops:
        report = ShopReconciliation(shop_domain=domain)
        reports.append(report)
        try:
            listed: list[ExternalOrder] | None = rt.plugins.hook.connector_list_reward_orders(
                shop=info, provider=provider, since=since, ctx=rt.hook_context(provider)
            )
        except Exception as exc:  # noqa: BLE001 - one shop's failure must not hide the others' findings
            report.error = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
            continue
        if listed is None:
            report.error = f"no installed plugin lists orders for provider {provider!r}"
            continue
        report.orders_seen = len(listed)
        _compare(rt, report, [o for o in listed if not o.cancelled], brand_id)
    return reports


def _compare(rt: Runtime, report: ShopReconciliation, live: list[ExternalOrder], brand_id: int | None) -> None:
    """Match a shop's live reward orders with its own brand's redemptions only.

    A code is looked up within the shop's brand (exact match): an order in one brand's shop that carries
    another brand's code is that shop's orphan, and the other brand's redemption is never touched.
    """
    by_code: dict[str, list[ExternalOrder]] = defaultdict(list)
    for order in live:
        if order.redemption_code is None:
            report.orphans.append((order.order_id, None, "tagged as a reward but carries no redemption code"))
        else:
            by_code[order.redemption_code].append(order)
    if not by_code:
        return
    now = rt.now()
    with transaction(rt.sessions) as s:
        redemptions = {
            r.code: r
            for r in s.scalars(
                select(Redemption).where(Redemption.brand_id == brand_id, Redemption.code.in_(list(by_code)))
            )
        }
        for code, orders in sorted(by_code.items()):
            ids = sorted(o.order_id for o in orders)
            r = redemptions.get(code)
            if r is None:
                report.orphans.extend((i, code, "no redemption has this code") for i in ids)
                continue
            if len(ids) > 1:
                report.duplicates[code] = ids
                message = f"{len(ids)} live shop orders carry this redemption: {', '.join(ids)}; cancel the extra ones"
            elif r.external_order_id and r.external_order_id != ids[0]:
                report.duplicates[code] = sorted({r.external_order_id, ids[0]})
                message = f"the shop holds order {ids[0]} besides the recorded {r.external_order_id}; cancel one"
            elif r.external_order_id is None and r.status != "pending":
                report.orphans.append((ids[0], code, f"the redemption is {r.status} and records no order"))
                message = f"shop order {ids[0]} exists but the redemption is {r.status} and records no order"
            else:
                continue  # the recorded order, or one an in-flight attempt will find
            seen = s.scalar(
                select(RedemptionEventRow.id).where(
                    RedemptionEventRow.redemption_id == r.id,
                    RedemptionEventRow.kind == FINDING,
                    RedemptionEventRow.message == message,
                )
            )
            if seen is None:
                record_event(
                    s, r, actor="reconciliation", kind=FINDING, at=now, message=message, detail={"order_ids": ids}
                )
