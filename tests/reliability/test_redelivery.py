"""Issue 5 (a): every webhook delivered three times, in a random order, has each effect exactly once.

A realistic stream of distinct Shopify events is built for five redemptions:

* R1 (fulfilled): label printed, in transit, ``orders/fulfilled``, out for delivery, delivered;
* R2 (fulfilled): label printed, then the order cancelled, then a stale cancelled fulfilment;
* R3 (``product_not_found``): ``products/update`` makes the product orderable again;
* R4 (``crm_id_not_found``): ``customers/update`` after the member's details were fixed;
* R5 (fulfilled): in transit, then ``customers/redact`` for its member;
* noise: a fulfilment of an order the connector did not create, a ``products/update`` of a SKU
  with no error to retry.

Each event is sent three times (the original, Shopify's retry with the same Webhook-Id, and a
redelivery: same Event-Id with a new Webhook-Id, or, for versioned resources, the same body under
new ids), in an order drawn from ``random.Random(seed)``, in waves of concurrent POSTs to the real
HTTP endpoint. The deliveries are applied by real ``connector worker`` processes on Redis (two at
once), or inline by the sync dispatcher inside the concurrent requests.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from connector.core import catalog
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.model import DELIVERY_RANK, DeliveryStatus, Role
from connector.core.redemptions import create_redemption
from connector.core.runtime import Runtime
from connector.core.tables import Member, OutboundMessage, Redemption, RedemptionEventRow, WebhookDelivery
from connector.plugins.shopify.webhooks import sign
from tests.conftest import World, seed_world
from tests.integration import conftest as integration
from tests.integration.conftest import SHOP_SECRET, worker_env
from tests.reliability.concurrency import Answer, live_app, post, release_together

# The integration fixtures (a test directory's conftest is not seen from here): Redis db 9, an RQ
# runtime on a fresh queue, the Shopify simulator.
redis_url = integration.redis_url
rq_runtime = integration.rq_runtime
sim = integration.sim

SUPPORT = Actor("support@acme", Role.SUPPORT)
SHOP_DOMAIN = "acme-pets.myshopify.com"
#: Concurrent POSTs per wave: each wave is released at once, the waves follow the seeded order.
WAVE = 6
T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def _numeric(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1])


# -- the world: five redemptions in the states the events are about ---------------------------------------


@dataclass
class Scene:
    world: World
    r1: int
    r2: int
    r3: int
    r4: int
    r5: int
    grace_id: int
    linus_id: int
    codes: dict[int, str] = field(default_factory=dict)
    orders: dict[int, int] = field(default_factory=dict)  # redemption id -> numeric shop order id
    linus_customer: int = 0


def _redeem(rt: Runtime, member_id: int, reward_id: int) -> Redemption:
    rid = create_redemption(rt, SUPPORT, member_id=member_id, reward_id=reward_id).redemption.id
    with rt.sessions() as s:
        return s.get(Redemption, rid)


def prepare(rt: Runtime, sim: Any) -> Scene:
    """Seed the shop and run the redemptions for real against the simulator (sync jobs)."""
    w = seed_world(rt, api_base_url=sim.base_url, points=100_000)
    sim.control("products", {"title": "Ambassador Mug", "variants": [{"sku": "MUG-1", "inventory": 1000}]})
    with transaction(rt.sessions) as s:
        brand, shop = s.merge(w.brand), s.merge(w.shop)
        mug = catalog.add_reward(s, brand, name="Ambassador Mug", sku="MUG-1", points_cost=300, shop=shop).id
        people = {}
        for first, last, email, province in (
            ("Grace", "Hopper", "grace@example.com", "XX"),  # an address the shop refuses: crm_id_not_found
            ("Linus", "Pauling", "linus@example.com", "ON"),
        ):
            m = catalog.add_member(
                s,
                brand,
                first_name=first,
                last_name=last,
                email=email,
                phone=None,
                address1="1 Main St",
                city="Ottawa",
                province_code=province,
                country_code="CA",
                zip="K1A 0A1",
            )
            catalog.award_points(s, m, 10_000, "welcome bonus")
            people[first] = m.id
    r1 = _redeem(rt, w.member.id, w.reward.id)
    r2 = _redeem(rt, w.member.id, w.reward.id)
    r5 = _redeem(rt, people["Linus"], w.reward.id)
    sim.control("variants/MUG-1", {"status": "DRAFT"}, method="PATCH")
    r3 = _redeem(rt, w.member.id, mug)
    sim.control("variants/MUG-1", {"status": "ACTIVE"}, method="PATCH")  # no webhook target: nothing is sent
    r4 = _redeem(rt, people["Grace"], w.reward.id)
    with transaction(rt.sessions) as s:  # the member's address was corrected at the source
        s.get(Member, people["Grace"]).province_code = "ON"
    assert [r.status for r in (r1, r2, r5)] == ["fulfilled"] * 3
    assert (r3.status, r3.error_code) == ("error", "product_not_found")
    assert (r4.status, r4.error_code) == ("error", "crm_id_not_found")
    with rt.sessions() as s:
        linus_customer = s.get(Member, people["Linus"]).shop_customer_id
    assert linus_customer
    scene = Scene(w, r1.id, r2.id, r3.id, r4.id, r5.id, people["Grace"], people["Linus"])
    scene.codes = {r.id: r.code for r in (r1, r2, r3, r4, r5)}
    scene.orders = {r.id: _numeric(r.external_order_id) for r in (r1, r2, r5)}
    scene.linus_customer = _numeric(linus_customer)
    return scene


# -- the events --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One Shopify event: one body, one Event-Id; ``versioned`` when its payload carries ``updated_at``."""

    name: str
    topic: str
    body: bytes
    event_id: str
    triggered_at: str
    versioned: bool


def _event(name: str, topic: str, payload: dict[str, Any], at: datetime) -> Event:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Event(name, topic, body, str(uuid.uuid4()), at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "updated_at" in payload)


def _fulfillment(order: int, fid: int, at: datetime, shipment: str | None, *, status: str = "success") -> dict:
    tracking = f"1Z{order:012d}"[-18:]
    return {
        "id": fid,
        "order_id": order,
        "status": status,
        "shipment_status": shipment,
        "tracking_company": "UPS",
        "tracking_number": tracking,
        "tracking_numbers": [tracking],
        "tracking_url": f"https://www.ups.com/track?tracknum={tracking}",
        "created_at": _iso(T0),
        "updated_at": _iso(at),
        "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fid}",
    }


def build_events(scene: Scene) -> list[Event]:
    o1, o2, o5 = scene.orders[scene.r1], scene.orders[scene.r2], scene.orders[scene.r5]
    h = timedelta(hours=1)
    shipped_r1 = _fulfillment(o1, 9101, T0 + 5 * h, "in_transit")
    return [
        _event("r1 label", "fulfillments/create", _fulfillment(o1, 9101, T0 + h, "label_printed"), T0 + h),
        _event("r1 in transit", "fulfillments/update", shipped_r1, T0 + 5 * h),
        _event(
            "r1 order fulfilled",
            "orders/fulfilled",
            {
                "id": o1,
                "admin_graphql_api_id": f"gid://shopify/Order/{o1}",
                "name": "#R1",
                "fulfillment_status": "fulfilled",
                "fulfillments": [shipped_r1],
                "updated_at": _iso(T0 + 5 * h + timedelta(minutes=1)),
            },
            T0 + 5 * h,
        ),
        _event("r1 out", "fulfillments/update", _fulfillment(o1, 9101, T0 + 48 * h, "out_for_delivery"), T0 + 48 * h),
        _event("r1 delivered", "fulfillments/update", _fulfillment(o1, 9101, T0 + 51 * h, "delivered"), T0 + 51 * h),
        _event("r2 label", "fulfillments/create", _fulfillment(o2, 9102, T0 + h, "label_printed"), T0 + h),
        _event(
            "r2 cancelled",
            "orders/cancelled",
            {
                "id": o2,
                "admin_graphql_api_id": f"gid://shopify/Order/{o2}",
                "name": "#R2",
                "cancel_reason": "customer",
                "cancelled_at": _iso(T0 + 3 * h),
                "updated_at": _iso(T0 + 3 * h),
            },
            T0 + 3 * h,
        ),
        _event(
            "r2 label voided",  # the voided label is older than the cancellation: no effect in any order
            "fulfillments/update",
            _fulfillment(o2, 9102, T0 + 3 * h - timedelta(minutes=5), None, status="cancelled"),
            T0 + 3 * h,
        ),
        _event("r5 in transit", "fulfillments/create", _fulfillment(o5, 9105, T0 + 2 * h, "in_transit"), T0 + 2 * h),
        _event(
            "mug active",
            "products/update",
            {
                "id": 8801,
                "admin_graphql_api_id": "gid://shopify/Product/8801",
                "title": "Ambassador Mug",
                "status": "active",
                "variants": [{"id": 8811, "sku": "MUG-1", "inventory_quantity": 1000}],
                "updated_at": _iso(T0 + timedelta(minutes=30)),
            },
            T0 + timedelta(minutes=30),
        ),
        _event(
            "tshirt price",  # a SKU with no product_not_found error: nothing to retry
            "products/update",
            {
                "id": 8802,
                "admin_graphql_api_id": "gid://shopify/Product/8802",
                "title": "Ambassador T-Shirt",
                "status": "active",
                "variants": [{"id": 8812, "sku": "TSHIRT-M", "inventory_quantity": 999}],
                "updated_at": _iso(T0 + timedelta(minutes=31)),
            },
            T0 + timedelta(minutes=31),
        ),
        _event(
            "grace updated",
            "customers/update",
            {
                "id": 7701,
                "admin_graphql_api_id": "gid://shopify/Customer/7701",
                "email": "grace@example.com",
                "first_name": "Grace",
                "last_name": "Hopper",
                "updated_at": _iso(T0 + timedelta(minutes=40)),
            },
            T0 + timedelta(minutes=40),
        ),
        _event(
            "linus redact",
            "customers/redact",
            {
                "shop_id": 548380009,
                "shop_domain": SHOP_DOMAIN,
                "customer": {"id": scene.linus_customer, "email": "linus@example.com", "phone": None},
                "orders_to_redact": [o5],
            },
            T0 + 6 * h,
        ),
        _event("foreign order", "fulfillments/update", _fulfillment(999_999, 9199, T0 + h, "delivered"), T0 + h),
    ]


def _headers(event: Event, webhook_id: str, event_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": event.topic,
        "X-Shopify-Hmac-Sha256": sign(SHOP_SECRET, event.body),
        "X-Shopify-Shop-Domain": SHOP_DOMAIN,
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": event.triggered_at,
    }


def three_copies(event: Event, rng: random.Random) -> list[tuple[str, dict[str, str]]]:
    """The original, Shopify's retry of it (same Webhook-Id), and a redelivery (new Webhook-Id).

    The redelivery keeps the Event-Id (a resend, a second subscription) or, for a payload that
    carries ``updated_at``, may come under new ids with the same body (caught by the body key, uq_webhooks_body).
    """
    first = str(uuid.uuid4())
    kinds = ["same event, new webhook id"] + (["same body, new ids"] if event.versioned else [])
    third = rng.choice(kinds)
    third_event = event.event_id if third.startswith("same event") else str(uuid.uuid4())
    return [
        ("original", _headers(event, first, event.event_id)),
        ("retry", _headers(event, first, event.event_id)),
        (third, _headers(event, str(uuid.uuid4()), third_event)),
    ]


@dataclass
class Storm:
    seed: int
    sent: int
    answers: list[tuple[str, str, Answer]]  # event name, copy kind, answer
    seconds: float


def storm(base_url: str, events: list[Event], seed: int) -> Storm:
    """Every event three times, the copies shuffled by ``seed``, POSTed in concurrent waves."""
    rng = random.Random(seed)
    plan = [(e, kind, headers) for e in events for kind, headers in three_copies(e, rng)]
    rng.shuffle(plan)
    print(f"redelivery seed={seed}: {len(events)} events, {len(plan)} POSTs in waves of {WAVE}")
    url = f"{base_url}/webhooks/shopify"
    answers: list[tuple[str, str, Answer]] = []
    started = time.monotonic()
    for i in range(0, len(plan), WAVE):
        wave = plan[i : i + WAVE]
        outcomes = release_together(
            [lambda e=e, h=h: post(url, data=e.body, headers=h) for e, _, h in wave]  # type: ignore[misc]
        )
        for (event, kind, _), outcome in zip(wave, outcomes, strict=True):
            assert outcome.error is None, f"{event.name} ({kind}): {outcome.error!r}"
            answers.append((event.name, kind, outcome.value))
    return Storm(seed, len(plan), answers, time.monotonic() - started)


# -- what must hold --------------------------------------------------------------------------------------


def _events(rt: Runtime, rid: int, kind: str | None = None) -> list[RedemptionEventRow]:
    with rt.sessions() as s:
        q = select(RedemptionEventRow).where(RedemptionEventRow.redemption_id == rid)
        if kind:
            q = q.where(RedemptionEventRow.kind == kind)
        return list(s.scalars(q.order_by(RedemptionEventRow.id)))


def _redemption(rt: Runtime, rid: int) -> Redemption:
    with rt.sessions() as s:
        return s.get(Redemption, rid)


def assert_delivery_chain(rt: Runtime, rid: int, final: DeliveryStatus, *, max_changes: int) -> list[str]:
    """One ``delivery_updated`` per real change: a chain from unfulfilled, only forward, ending at ``final``."""
    changes = [(e.detail["from"], e.detail["to"]) for e in _events(rt, rid, "delivery_updated")]
    assert changes, f"redemption {rid}: no delivery update recorded"
    assert changes[0][0] == DeliveryStatus.UNFULFILLED, changes
    for (_, to), (nxt, _) in zip(changes, changes[1:], strict=False):
        assert to == nxt, f"redemption {rid}: the chain of delivery updates is broken: {changes}"
    ranks = [DELIVERY_RANK[DeliveryStatus(to)] for _, to in changes]
    assert ranks == sorted(set(ranks)), f"redemption {rid}: a status was applied twice or went back: {changes}"
    assert changes[-1][1] == final and len(changes) <= max_changes, changes
    assert _redemption(rt, rid).delivery_status == final
    return [to for _, to in changes]


def assert_one_automatic_retry(rt: Runtime, sim: Any, scene: Scene, rid: int, topic: str) -> None:
    r = _redemption(rt, rid)
    assert (r.status, r.error_code) == ("fulfilled", None), (r.status, r.error_code)
    retried = _events(rt, rid, "retried")
    assert [e.actor for e in retried] == [f"shopify webhook {topic}"]
    kinds = [e.kind for e in _events(rt, rid)]
    after = kinds[kinds.index("retried") :]
    # One attempt, plus any its shop's bucket deferred (it gave its claim back before calling; not a retry).
    attempts = after.count("attempt_started") - after.count("attempt_deferred")
    assert attempts == 1 and after.count("fulfilled") == 1, kinds
    # The failed first attempt, then the one retry; an attempt its shop's bucket deferred gave its claim back before
    # calling anything and is not a retry.
    assert kinds.count("attempt_started") - kinds.count("attempt_deferred") == 2, kinds
    orders = sim.control(f"orders?tag=redemption-{scene.codes[rid]}")["orders"]
    assert len(orders) == 1, f"{len(orders)} shop orders for {scene.codes[rid]}"


def assert_effects_once(rt: Runtime, sim: Any, scene: Scene, events: list[Event], result: Storm) -> dict[str, int]:
    statuses = sorted({a.status for _, _, a in result.answers})
    assert statuses == [200], [(n, k, a.status, a.body) for n, k, a in result.answers if a.status != 200]
    accepted = {}
    for name, kind, answer in result.answers:
        assert answer.body["status"] in {"accepted", "duplicate"}, answer.body
        if answer.body["status"] == "accepted":
            assert name not in accepted, f"{name} was stored twice (second copy: {kind})"
            accepted[name] = answer.body["delivery_id"]
    assert sorted(accepted) == sorted(e.name for e in events), "every event is stored by one of its copies"
    with rt.sessions() as s:
        stored = s.execute(select(WebhookDelivery.id, WebhookDelivery.status)).all()
    assert len(stored) == len(events)
    assert {status for _, status in stored} == {"processed"}

    # Delivery progress: the newest status wins, older deliveries processed later are ignored.
    r1 = assert_delivery_chain(rt, scene.r1, DeliveryStatus.DELIVERED, max_changes=3)
    r1_row = _redemption(rt, scene.r1)
    assert r1_row.tracking_number == f"1Z{scene.orders[scene.r1]:012d}"[-18:] and r1_row.tracking_url
    updated = r1_row.delivery_updated_at
    updated = updated.replace(tzinfo=UTC) if updated.tzinfo is None else updated.astimezone(UTC)
    assert updated == T0 + timedelta(hours=51)
    assert_delivery_chain(rt, scene.r2, DeliveryStatus.CANCELLED, max_changes=2)
    assert_delivery_chain(rt, scene.r5, DeliveryStatus.SHIPPED, max_changes=1)
    assert _events(rt, scene.r3, "delivery_updated") == _events(rt, scene.r4, "delivery_updated") == []

    # Exactly one automatic retry per error, one new attempt and one shop order each.
    assert_one_automatic_retry(rt, sim, scene, scene.r3, "products/update")
    assert_one_automatic_retry(rt, sim, scene, scene.r4, "customers/update")
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).where(RedemptionEventRow.kind == "retried")) == 2

    # customers/redact: the member's personal data, stored bodies and sent emails are gone.
    with rt.sessions() as s:
        linus = s.get(Member, scene.linus_id)
        assert (linus.first_name, linus.email, linus.address1) == ("Redacted", None, None)
        assert linus.redacted_at is not None
        bodies = list(s.scalars(select(WebhookDelivery.body).where(WebhookDelivery.body.is_not(None))))
        assert not [b for b in bodies if "linus@example.com" in b]
        sent = list(s.scalars(select(OutboundMessage).where(OutboundMessage.redemption_id == scene.r5)))
        assert sent and all(m.to_address == "redacted" and m.body == "" for m in sent)
        grace = s.get(Member, scene.grace_id)
        assert grace.email == "grace@example.com" and grace.redacted_at is None  # only the named customer

    duplicates = sum(1 for _, _, a in result.answers if a.body["status"] == "duplicate")
    summary = {
        "events": len(events),
        "posts": result.sent,
        "stored": len(stored),
        "duplicates": duplicates,
        "r1_changes": len(r1),
    }
    print(f"redelivery seed={result.seed}: {summary}, POSTs took {result.seconds:.2f}s")
    return summary


# -- the tests ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [20261123, 77])
def test_redelivered_three_times_in_random_order_sync_jobs(make_runtime, sim, seed):
    """Jobs inline in the request threads: deliveries for one order are applied concurrently."""
    rt = make_runtime()
    scene = prepare(rt, sim)
    events = build_events(scene)
    with live_app(rt) as base:
        result = storm(base, events, seed)
    summary = assert_effects_once(rt, sim, scene, events, result)
    assert summary["duplicates"] == 2 * len(events)


class Workers:
    """Real ``connector worker`` processes on the runtime's queue, running while the deliveries arrive."""

    def __init__(self, rt: Runtime, count: int) -> None:
        from redis import Redis
        from rq import Queue

        self.queue = Queue(rt.settings.queue_name, connection=Redis.from_url(rt.settings.redis_url or ""))
        # --simple runs each job in the worker process: a fork per job costs ~0.5 s on a loaded 2-core
        # runner, and the forking worker is covered by tests/integration/test_rq_workers.py.
        # Files, not pipes: a full pipe would block a worker. Closed in stop().
        self.logs = [tempfile.TemporaryFile(mode="w+") for _ in range(count)]  # noqa: SIM115
        self.procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "connector",
                    "worker",
                    "--simple",
                    "--sweep-every",
                    "0",
                    "--name",
                    f"redelivery-{i}-{uuid.uuid4().hex[:6]}",
                ],
                env=worker_env(rt),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for i, log in enumerate(self.logs)
        ]

    def wait_listening(self, timeout: float = 60) -> None:
        from rq import Worker

        deadline = time.monotonic() + timeout
        while Worker.count(queue=self.queue) < len(self.procs):
            dead = [p.pid for p in self.procs if p.poll() is not None]
            assert not dead, f"worker processes {dead} exited at start"
            assert time.monotonic() < deadline, "the workers did not start listening in time"
            time.sleep(0.1)

    def stop(self, timeout: float = 60) -> list[int]:
        """Warm shutdown (SIGTERM: finish the current job, exit); returns how many jobs each one ran."""
        for p in self.procs:
            p.terminate()
        done = []
        for p, log in zip(self.procs, self.logs, strict=True):
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.seek(0)
            output = log.read()
            log.close()
            assert p.returncode is not None and "Traceback" not in output, output[-3000:]
            done.append(output.count("Successfully completed"))
        return done


def wait_applied(rt: Runtime, timeout: float = 60) -> None:
    """Until every stored delivery is processed and no redemption waits for an attempt (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            unprocessed = s.scalar(select(func.count()).where(WebhookDelivery.status != "processed"))
            pending = s.scalar(select(func.count()).where(Redemption.status == "pending"))
        if not unprocessed and not pending:
            return
        time.sleep(0.1)
    pytest.fail(f"after {timeout:.0f}s: {unprocessed} deliveries unprocessed, {pending} redemptions pending")


@pytest.mark.redis
@pytest.mark.slow
def test_redelivered_three_times_in_random_order_rq_workers(make_runtime, rq_runtime, sim):
    """Two real worker processes apply the deliveries from Redis while the live app is still receiving them."""
    seed = 424242
    started = time.monotonic()
    rt = rq_runtime
    workers = Workers(rt, 2)  # they start up while the starting states are made inline
    try:
        scene = prepare(make_runtime(), sim)
        events = build_events(scene)
        workers.wait_listening()
        ready = time.monotonic()
        with live_app(rt) as base:
            result = storm(base, events, seed)
        wait_applied(rt)
        applied = time.monotonic()
    finally:
        jobs = workers.stop()
    print(
        f"rq redelivery: setup+worker start {ready - started:.1f}s, POSTs and jobs {applied - ready:.1f}s, "
        f"jobs per worker {jobs}"
    )
    # Two fulfilment attempts (one per automatic retry) plus drain runs: at least one, and never more than
    # one per stored delivery, since a wake while a run is waiting queues nothing.
    assert 2 + 1 <= sum(jobs) <= 2 + len(events)
    summary = assert_effects_once(rt, sim, scene, events, result)
    assert summary["duplicates"] == 2 * len(events)
