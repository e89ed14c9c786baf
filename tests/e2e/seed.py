"""Data for the admin console's e2e tests and screenshots, made through the core's use cases.

Every redemption is claimed with ``create_redemption`` and driven by the fake shop's script,
errors come from the fulfilment worker (so each carries the catalogue's message and fix),
the reversal goes through ``reverse_redemption`` and delivery progress through a signed Shopify
webhook: the console then shows what production would, not rows poked into shape by hand.
Claims are spread over the last weeks with a pinned clock, so date filters have something to cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ProviderError
from connector.core.hooktypes import utcnow
from connector.core.model import LedgerKind, Role
from connector.core.redemptions import create_redemption
from connector.core.reversal import reverse_redemption
from connector.core.runtime import Runtime
from connector.core.tables import LedgerEntry, Member, Redemption, Reward
from connector.core.users import create_user
from connector.core.webhook_intake import receive_webhook
from connector.demo import DEMO_PEOPLE, add_people
from tests.conftest import World, seed_world
from tests.fakes import FakeShopPlugin
from tests.web.support import as_body, fulfillment_payload, shopify_headers

PASSWORD = "e2e-correct-horse-battery"
#: A member whose name is a spreadsheet formula: the CSV export must defuse it.
FORMULA_NAME = '=HYPERLINK("http://x")'
SEEDER = Actor("seed@connector.local", Role.SUPPORT)


@dataclass(frozen=True)
class ConsoleUser:
    email: str
    name: str
    role: Role
    password: str = PASSWORD


@dataclass
class Console:
    """What was seeded: ids by story, so a test names the row it means instead of counting rows."""

    world: World
    admin: ConsoleUser
    support: ConsoleUser
    brand_admin: ConsoleUser
    viewer: ConsoleUser
    members: dict[str, int] = field(default_factory=dict)
    rewards: dict[str, int] = field(default_factory=dict)
    redemptions: dict[str, int] = field(default_factory=dict)
    claimed_on: dict[str, date] = field(default_factory=dict)

    def ids_with_status(self, rt: Runtime, *statuses: str, brand_id: int | None = None) -> set[int]:
        """Ids of the redemptions now in one of ``statuses`` (of one brand, if given), read from the database."""
        with rt.sessions() as s:
            rows = s.execute(select(Redemption.id, Redemption.status, Redemption.brand_id)).all()
        return {rid for rid, status, brand in rows if status in statuses and brand_id in (None, brand)}


class PinnedClock:
    """``rt.now`` for seeding: claims and events get realistic, spread-out dates."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or utcnow()


@contextmanager
def pinned(rt: Runtime) -> Iterator[PinnedClock]:
    clock = PinnedClock()
    previous = rt.now
    rt.now = clock
    try:
        yield clock
    finally:
        rt.now = previous


def noon(days_ago: int) -> datetime:
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


def _users(rt: Runtime, world: World) -> tuple[ConsoleUser, ConsoleUser, ConsoleUser, ConsoleUser]:
    admin = ConsoleUser("pat.admin@example.com", "Pat Admin", Role.PLATFORM_ADMIN)
    support = ConsoleUser("sam.support@example.com", "Sam Support", Role.SUPPORT)
    brand_admin = ConsoleUser("bea.brand@example.com", "Bea Brand", Role.BRAND_ADMIN)
    viewer = ConsoleUser("vic.viewer@example.com", "Vic Viewer", Role.VIEWER)
    cost = rt.settings.password_scrypt_n  # the tests' explicitly cheap cost (tests/conftest.py)
    with transaction(rt.sessions) as s:
        for user in (admin, support):
            create_user(s, email=user.email, name=user.name, password=user.password, role=user.role, scrypt_n=cost)
        for user in (brand_admin, viewer):
            create_user(
                s,
                email=user.email,
                name=user.name,
                password=user.password,
                role=user.role,
                brand_id=world.brand.id,
                scrypt_n=cost,
            )
    return admin, support, brand_admin, viewer


def _catalogue(rt: Runtime, world: World) -> tuple[dict[str, int], dict[str, int]]:
    # The demo's people, whose data makes one fulfilment story each, and one whose name is a formula.
    people = {key: DEMO_PEOPLE[key] for key in ("grace", "alan", "marie", "linus")}
    people["mallory"] = dict(
        first_name=FORMULA_NAME,
        last_name="Mallory",
        email="mallory@example.com",
        address1="1 Formula Way",
        city="Ottawa",
        province_code="ON",
        country_code="CA",
        zip="K1A 0A1",
    )
    with transaction(rt.sessions) as s:
        brand = s.merge(world.brand)
        shop = s.merge(world.shop)
        members = {
            "ada": world.member.id,
            **add_people(s, brand, people, points=3000, reason="welcome bonus", ref_prefix="e2e"),
        }
        rewards = {"tee": world.reward.id}
        for key, name, sku, cost in (
            ("mug", "Enamel Mug", "MUG-01", 300),
            ("hoodie", "Winter Hoodie", "HOODIE-L", 900),
            ("bottle", "Water Bottle", "BOTTLE-05", 200),
        ):
            rewards[key] = catalog.add_reward(s, brand, name=name, sku=sku, points_cost=cost, shop=shop).id
        # A second brand with its own shop, so scoping shows: its admins and viewers never see Acme's rows.
        other = s.merge(world.other_brand)
        other_shop = catalog.add_shop(
            s,
            other,
            domain="other-brand.myshopify.com",
            access_token="shpat_other_token",
            webhook_secret="whsec_other_secret_0123456789",
            api_base_url="http://127.0.0.1:9",
            allow_custom_api_base=rt.settings.allow_custom_shop_api_base,
        )
        rewards["cap"] = catalog.add_reward(
            s, other, name="Other Cap", sku="CAP-01", points_cost=100, shop=other_shop
        ).id
        members["bob"] = world.other_member.id
    return members, rewards


def _joined(rt: Runtime, days_ago: int) -> None:
    """Date the members and their welcome points before their claims.

    The catalogue stamps both with the real clock and has no use case that takes a date, so these two
    bookkeeping columns are set here; without it a member page lists points spent before they were earned.
    """
    at = noon(days_ago)
    with transaction(rt.sessions) as s:
        s.execute(update(Member).values(created_at=at))
        s.execute(update(LedgerEntry).where(LedgerEntry.kind == LedgerKind.EARNED).values(created_at=at))


def _ship(rt: Runtime, redemption_id: int, shipment_status: str, at: datetime) -> None:
    """Move a shop order along the way Shopify does: a signed fulfillments/update webhook."""
    with rt.sessions() as s:
        order_gid = s.get(Redemption, redemption_id).external_order_id  # type: ignore[union-attr]
    assert order_gid, f"redemption {redemption_id} has no shop order to ship"
    body = as_body(
        fulfillment_payload(
            int(order_gid.rsplit("/", 1)[1]),
            shipment_status,
            at.isoformat(),
            tracking=f"1Z999AA1{redemption_id:010d}",
        )
    )
    receive_webhook(rt, "shopify", shopify_headers(body, "fulfillments/update"), body)


def seed_console(rt: Runtime, shop: FakeShopPlugin, *, realistic: bool = False) -> Console:
    """Users of every role and redemptions in every tab; ``realistic`` adds volume for screenshots."""
    world = seed_world(rt, points=5000)
    admin, support, brand_admin, viewer = _users(rt, world)
    members, rewards = _catalogue(rt, world)
    console = Console(world, admin, support, brand_admin, viewer, members=members, rewards=rewards)
    _joined(rt, days_ago=30)

    with pinned(rt) as clock:

        def claim(story: str, member: str, reward: str, days_ago: int, outcome: object = "ok") -> int:
            clock.at = noon(days_ago)
            shop.script.append(outcome)
            rid = create_redemption(rt, SEEDER, member_id=members[member], reward_id=rewards[reward]).redemption.id
            console.redemptions[story] = rid
            console.claimed_on[story] = clock.at.date()
            return rid

        delivered = claim("delivered", "ada", "tee", 20)
        shipped = claim("shipped", "grace", "mug", 15)
        claim("formula", "mallory", "bottle", 12)
        reversed_ = claim("reversed", "alan", "mug", 10)
        claim("product_not_found", "grace", "hoodie", 6, ProviderError("product_not_found", field="sku"))
        claim("crm_id_not_found", "marie", "tee", 5, ProviderError("crm_id_not_found", field="province_code"))
        claim("missing_info", "linus", "mug", 4, ProviderError("missing_user_information", field="address1"))
        claim("fresh", "ada", "mug", 2)
        claim("other_brand", "bob", "cap", 3)
        if realistic:
            for i, (member, reward) in enumerate(
                [("grace", "bottle"), ("alan", "bottle"), ("ada", "bottle"), ("alan", "mug"), ("grace", "tee")]
            ):
                claim(f"extra_{i}", member, reward, 18 - 3 * i)

        clock.at = noon(19)
        _ship(rt, delivered, "in_transit", clock.at)
        clock.at = noon(17)
        _ship(rt, delivered, "delivered", clock.at)
        clock.at = noon(13)
        _ship(rt, shipped, "in_transit", clock.at)
        clock.at = noon(9)
        reverse_redemption(rt, reversed_, SEEDER, reason="member picked the wrong reward", cancel_order=True)

    # Claimed at the real "now", so the retry the 503 schedules stays in the future and the row stays pending.
    shop.script.append(ProviderError("shop_unavailable", "Shopify answered 503 Service Unavailable"))
    rid = create_redemption(rt, SEEDER, member_id=members["alan"], reward_id=rewards["tee"]).redemption.id
    console.redemptions["pending"] = rid
    console.claimed_on["pending"] = utcnow().date()
    _check(rt, console)
    return console


def _check(rt: Runtime, console: Console) -> None:
    """Fail at seeding, not in a browser assertion, if the core did not produce the intended mix."""
    expected = {
        "delivered": "fulfilled",
        "shipped": "fulfilled",
        "formula": "fulfilled",
        "fresh": "fulfilled",
        "other_brand": "fulfilled",
        "reversed": "reversed",
        "product_not_found": "error",
        "crm_id_not_found": "error",
        "missing_info": "error",
        "pending": "pending",
    }
    with rt.sessions() as s:
        got = {story: s.get(Redemption, console.redemptions[story]).status for story in expected}  # type: ignore[union-attr]
    assert got == expected, f"seeding produced {got}"


def member_name(rt: Runtime, member_id: int) -> str:
    with rt.sessions() as s:
        m = s.get(Member, member_id)
        assert m is not None
        return f"{m.first_name} {m.last_name}"


def reward_name(rt: Runtime, reward_id: int) -> str:
    with rt.sessions() as s:
        r = s.get(Reward, reward_id)
        assert r is not None
        return r.name
