"""Redemptions in every state, made through the core use cases the way production makes them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ProviderError
from connector.core.model import LedgerKind, Role
from connector.core.redemptions import create_redemption, points_balance
from connector.core.runtime import Runtime
from connector.core.tables import Brand, LedgerEntry, Member, OutboundMessage, Redemption, RedemptionEventRow, Reward
from connector.core.webhook_intake import receive_webhook
from tests.conftest import World
from tests.fakes import FakeShopPlugin
from tests.web.support import as_body, fulfillment_payload, shopify_headers

SEEDER = Actor("seed@connector.local", Role.SUPPORT)


def redeem(
    rt: Runtime,
    shop: FakeShopPlugin,
    *,
    member_id: int,
    reward_id: int,
    outcome: object = "ok",
    at: datetime | None = None,
) -> int:
    """Claim a reward; ``outcome`` is the fake shop's answer to the first attempt (``"ok"`` or an error).

    Only shop rewards reach the fake shop: an email reward's outcome would otherwise be left in the
    script for the next shop redemption.
    """
    with rt.sessions() as s:
        channel = s.get(Reward, reward_id).channel  # type: ignore[union-attr]
    if channel == "shopify":
        shop.script.append(outcome)
    previous = rt.now
    if at is not None:
        rt.now = lambda: at
    try:
        return create_redemption(rt, SEEDER, member_id=member_id, reward_id=reward_id).redemption.id
    finally:
        rt.now = previous


def fulfilled(rt: Runtime, shop: FakeShopPlugin, world: World, **kw: object) -> int:
    return redeem(rt, shop, member_id=world.member.id, reward_id=world.reward.id, **kw)  # type: ignore[arg-type]


def failed(rt: Runtime, shop: FakeShopPlugin, world: World, code: str = "product_not_found", **kw: object) -> int:
    error = ProviderError(code, field="sku" if code == "product_not_found" else None)
    return redeem(rt, shop, member_id=world.member.id, reward_id=world.reward.id, outcome=error, **kw)  # type: ignore[arg-type]


def pending(rt: Runtime, shop: FakeShopPlugin, world: World) -> int:
    """A temporary error: pending, with the next attempt in the future."""
    error = ProviderError("shop_unavailable", "Shopify answered 503 Service Unavailable", retryable=True)
    return redeem(rt, shop, member_id=world.member.id, reward_id=world.reward.id, outcome=error)


def other_brand_redemption(rt: Runtime, shop: FakeShopPlugin, world: World) -> int:
    with transaction(rt.sessions) as s:
        brand = s.get(Brand, world.other_brand.id)
        reward = catalog.add_reward(
            s,
            brand,
            name="Other Mug",
            sku="OTHER-MUG",
            points_cost=100,
            channel="email",
            instructions="Your code: OTHER-100",
        )
        reward_id = reward.id
    return redeem(rt, shop, member_id=world.other_member.id, reward_id=reward_id)


def add_member(rt: Runtime, world: World, first_name: str, last_name: str, email: str, points: int = 5000) -> int:
    with transaction(rt.sessions) as s:
        brand = s.get(Brand, world.brand.id)
        m = catalog.add_member(
            s,
            brand,
            first_name=first_name,
            last_name=last_name,
            email=email,
            address1="1 Main St",
            city="Ottawa",
            province_code="ON",
            country_code="CA",
            zip="K1A 0A1",
        )
        catalog.award_points(s, m, points, "welcome bonus")
        return m.id


def add_reward(rt: Runtime, world: World, name: str, *, channel: str = "shopify", instructions: str = "") -> int:
    with transaction(rt.sessions) as s:
        brand = s.get(Brand, world.brand.id)
        shop = world.shop if channel == "shopify" else None
        return catalog.add_reward(
            s,
            brand,
            name=name,
            sku=f"SKU-{name[:6].upper()}",
            points_cost=200,
            shop=s.merge(shop) if shop else None,
            channel=channel,
            instructions=instructions,
        ).id


def ship(rt: Runtime, redemption_id: int, shipment_status: str, updated_at: str = "2026-07-02T10:00:00-04:00") -> None:
    """Move the shop order along as Shopify does: a signed fulfillments/update webhook."""
    with rt.sessions() as s:
        order_gid = s.get(Redemption, redemption_id).external_order_id  # type: ignore[union-attr]
    body = as_body(fulfillment_payload(int(order_gid.rsplit("/", 1)[1]), shipment_status, updated_at))
    receive_webhook(rt, "shopify", shopify_headers(body, "fulfillments/update"), body)


def status_of(rt: Runtime, redemption_id: int) -> str:
    with rt.sessions() as s:
        return s.get(Redemption, redemption_id).status  # type: ignore[union-attr]


def balance(rt: Runtime, member_id: int) -> int:
    with rt.sessions() as s:
        return points_balance(s, member_id)


def returned_entries(rt: Runtime, redemption_id: int) -> int:
    with rt.sessions() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.redemption_id == redemption_id, LedgerEntry.kind == LedgerKind.RETURNED)
            )
            or 0
        )


def emails_sent(rt: Runtime, redemption_id: int) -> int:
    with rt.sessions() as s:
        return int(
            s.scalar(
                select(func.count()).select_from(OutboundMessage).where(OutboundMessage.redemption_id == redemption_id)
            )
            or 0
        )


def events(rt: Runtime, redemption_id: int) -> list[tuple[str, str]]:
    """(kind, actor) of each event on the redemption's timeline, oldest first."""
    with rt.sessions() as s:
        rows = s.execute(
            select(RedemptionEventRow.kind, RedemptionEventRow.actor)
            .where(RedemptionEventRow.redemption_id == redemption_id)
            .order_by(RedemptionEventRow.id)
        ).all()
    return [(kind, actor) for kind, actor in rows]


def snapshot(rt: Runtime) -> tuple[object, ...]:
    """Everything an action could change: statuses, ledger, events, emails. Equal before and after = nothing changed."""
    with rt.sessions() as s:
        return (
            tuple(s.execute(select(Redemption.id, Redemption.status, Redemption.updated_at).order_by(Redemption.id))),
            s.scalar(select(func.count()).select_from(LedgerEntry)),
            s.scalar(select(func.count()).select_from(RedemptionEventRow)),
            s.scalar(select(func.count()).select_from(OutboundMessage)),
            tuple(s.execute(select(Member.id, Member.first_name).order_by(Member.id))),
        )


def day(year: int, month: int, d: int, hour: int = 12) -> datetime:
    return datetime(year, month, d, hour, tzinfo=UTC)


_OFFSET = re.compile(r"OFFSET\s+(\?|%\((\w+)\)s|:(\w+)|\d+)", re.IGNORECASE)


def offsets(statement: str, parameters: object) -> list[int]:
    """The OFFSET values a statement uses (SQLite's dialect writes ``LIMIT ? OFFSET ?`` with 0 for any LIMIT)."""
    found = []
    for match in _OFFSET.finditer(statement):
        token, named, colon = match.group(1), match.group(2), match.group(3)
        if token == "?":
            found.append(int(parameters[statement[: match.start()].count("?")]))  # type: ignore[index]
        elif named or colon:
            found.append(int(parameters[named or colon]))  # type: ignore[index]
        else:
            found.append(int(token))
    return found
