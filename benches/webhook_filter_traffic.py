"""Webhook traffic with and without the subscriptions' filters and includeFields.

One command (from the repository root)::

    .venv/bin/python benches/webhook_filter_traffic.py            # 2,000 orders, 1% of them reward orders

What it does, all on 127.0.0.1 (no database, no Redis):

1. starts the Shopify simulator and a receiver standing in for ``POST /webhooks/shopify``; the
   receiver verifies every delivery with the Shopify plugin's own ``verify_delivery`` and turns it
   into effects with ``interpret``, exactly as the connector does, and counts deliveries and bytes;
2. for each mode, on an emptied shop: subscribes the shop with the plugin's ``connector_sync_webhooks``
   (the code ``connector shops sync-webhooks`` runs), creates ``--orders`` orders of which
   ``--reward-percent`` are reward orders made by the plugin's ``create_reward_order`` (tags,
   source identifier, zero price) and the rest are shoppers' paid orders with a customer and an
   address, then makes every order's events: fulfilled (``fulfillments/create``,
   ``orders/fulfilled``), in transit and delivered (two ``fulfillments/update``); every 25th order
   is cancelled instead (``orders/cancelled``);
3. prints, per mode, the deliveries and body bytes that reached the receiver, and the effects on
   reward orders, which must be the same in every mode (``MISMATCH`` and exit status 1 otherwise).

Modes: ``whole`` (the topics subscribed with neither filter nor includeFields: how shops were set
up by hand before), ``filtered`` (``SHOPIFY_WEBHOOK_FILTERS`` on, no trimming) and ``filtered +
trimmed`` (what the sync subscribes). Figures only; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from benchlib import say  # noqa: E402
from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

from connector.core.hooktypes import DeliveryUpdate, HookContext, InboundWebhook, MemberInfo, ShopInfo  # noqa: E402
from connector.plugins.shopify import hooks, orders, subscriptions  # noqa: E402
from connector.plugins.shopify.config import ShopifyConfig  # noqa: E402
from connector.plugins.shopify.customers import sync_customer  # noqa: E402
from connector.plugins.shopify.documents import ORDER_CREATE  # noqa: E402
from connector.plugins.shopify.member_validation import validate_member  # noqa: E402
from connector.plugins.shopify.variants import find_orderable_variant  # noqa: E402
from connector.plugins.shopify.webhook_topics import interpret  # noqa: E402
from connector.plugins.shopify.webhooks import verify_delivery  # noqa: E402
from shopify_sim import SimServer  # noqa: E402

DOMAIN = "bench-filters.myshopify.com"
SECRET = "bench-app-client-secret"
TOKEN = "shpat_bench_filters"
CONFIG = {"SHOPIFY_ALLOW_CUSTOM_API_BASE": "true"}
CANCEL_EVERY = 25


# -- the receiver: the connector's verify + interpret, counting ------------------------------------------------


@dataclass
class Tally:
    deliveries: Counter[str] = field(default_factory=Counter)
    body_bytes: Counter[str] = field(default_factory=Counter)
    header_bytes: int = 0
    refused: int = 0
    #: (order GID, status) of every DeliveryUpdate the deliveries produced.
    effects: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Quiet(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        pass


@contextmanager
def receiver(tally_of: dict[str, Tally]) -> Iterator[str]:
    """Serve ``/webhooks/shopify``; ``tally_of["now"]`` is the tally deliveries count into."""

    @Request.application
    def app(request: Request) -> Response:
        body = request.get_data()
        headers = {k.lower(): v for k, v in request.headers.items()}
        tally = tally_of["now"]
        try:
            delivery = verify_delivery(InboundWebhook("shopify", headers, body), lambda _domain: [SECRET])
            effects = interpret(delivery, json.loads(body))
        except Exception:  # noqa: BLE001 - counted, and the run fails on it
            with tally.lock:
                tally.refused += 1
            return Response("refused", status=400)
        with tally.lock:
            tally.deliveries[delivery.topic] += 1
            tally.body_bytes[delivery.topic] += len(body)
            tally.header_bytes += sum(len(k) + len(v) + 4 for k, v in request.headers.items())
            tally.effects += [(e.order_id, e.status.value) for e in effects if isinstance(e, DeliveryUpdate)]
        return Response("ok")

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/webhooks/shopify"
    finally:
        server.shutdown()
        server.server_close()


# -- the shop ----------------------------------------------------------------------------------------------------


def context(**config: str) -> HookContext:
    return HookContext(config={**CONFIG, **config}, logger=logging.getLogger("bench.webhook_filters"))


def member(n: int) -> MemberInfo:
    return MemberInfo(
        id=n,
        first_name="Ada",
        last_name=f"Member{n}",
        email=f"member{n}@example.com",
        phone=None,
        date_of_birth=date(1990, 5, 17),
        address1="151 O'Connor Street",
        address2="Suite 400",
        city="Ottawa",
        province_code="ON",
        country_code="CA",
        zip="K2P 2L8",
        shop_customer_id=None,
    )


def make_orders(sim: SimServer, shop: ShopInfo, count: int, every: int) -> list[tuple[int, bool]]:
    """``count`` orders, every ``every``-th a reward order: [(numeric id, is reward)]."""
    sim.control("products", {"sku": "REWARD-TEE", "title": "Ambassador Tee", "inventory": count})
    sim.control("products", {"sku": "RETAIL-MUG", "title": "Mug", "inventory": count, "price": "18.00"})
    ctx = context()
    config = ShopifyConfig.from_mapping(ctx.config)
    made: list[tuple[int, bool]] = []
    with hooks.make_client(shop, ctx, config) as client:
        reward_variant = find_orderable_variant(client, "REWARD-TEE")
        retail_variant = find_orderable_variant(client, "RETAIL-MUG")
        for n in range(count):
            if n % every == every // 2:  # not a multiple of CANCEL_EVERY - 1: reward orders ship
                validated = validate_member(member(1000 + n), date(2026, 12, 6))
                customer = sync_customer(client, validated, ctx.logger)
                order = orders.create_reward_order(
                    client,
                    code=f"B{n:05d}",
                    variant=reward_variant,
                    customer_id=customer,
                    member=validated,
                    currency="USD",
                )
                made.append((int(order.id.rsplit("/", 1)[1]), True))
                continue
            # A shopper of their own, as most of a shop's orders are: their address is the order's.
            shopper = validate_member(member(n), date(2026, 12, 6))
            customer = sim.control("customers", {"email": shopper.email, "first_name": "Shopper", "last_name": f"N{n}"})
            variables = orders.order_create_variables(
                code="unused",
                variant=retail_variant,
                customer_id=customer["customer"]["admin_graphql_api_id"],
                member=shopper,
                currency="USD",
            )
            shop_order = variables["order"]
            for mark in ("tags", "sourceIdentifier", "sourceName", "note"):
                shop_order.pop(mark)
            shop_order["lineItems"][0]["priceSet"]["shopMoney"]["amount"] = "18.00"
            shop_order["financialStatus"] = "PAID"
            data = client.execute(ORDER_CREATE, variables)
            made.append((int(data["orderCreate"]["order"]["id"].rsplit("/", 1)[1]), False))
    return made


def make_events(sim: SimServer, made: list[tuple[int, bool]]) -> Counter[str]:
    """Every order's events; returns how many of each topic the shop produced."""
    produced: Counter[str] = Counter()
    ctx = context()
    for n, (order_id, _reward) in enumerate(made):
        if n % CANCEL_EVERY == CANCEL_EVERY - 1:
            shop = ShopInfo(0, DOMAIN, sim.base_url, TOKEN)
            with hooks.make_client(shop, ctx, ShopifyConfig.from_mapping(ctx.config)) as client:
                orders.cancel_order(
                    client, order_id=f"gid://shopify/Order/{order_id}", code="x", poll_seconds=0, sleep=lambda s: None
                )
            produced["orders/cancelled"] += 1
            continue
        fulfilled = sim.control(
            f"orders/{order_id}/fulfil", {"shipment_status": "confirmed", "tracking_number": f"1Z{n}"}
        )
        fulfillment = fulfilled["fulfillment"]["id"]
        sim.control(f"fulfillments/{fulfillment}/update", {"shipment_status": "in_transit"})
        sim.control(f"fulfillments/{fulfillment}/update", {"shipment_status": "delivered"})
        produced.update({"fulfillments/create": 1, "orders/fulfilled": 1, "fulfillments/update": 2})
    return produced


@dataclass(frozen=True)
class Mode:
    name: str
    filters: bool
    trim: bool


MODES = (
    Mode("whole (before)", filters=False, trim=False),
    Mode("filtered", filters=True, trim=False),
    Mode("filtered + trimmed (after)", filters=True, trim=True),
)


def subscribe(sim: SimServer, shop: ShopInfo, uri: str, mode: Mode) -> None:
    if mode.trim:
        report = hooks.connector_sync_webhooks(
            shop=shop, webhook_uri=uri, provider="shopify", ctx=context(SHOPIFY_WEBHOOK_FILTERS=str(mode.filters))
        )
        assert report is not None and report.healthy, report
        return
    # Without includeFields: the same topics and filters, whole payloads (the sync always trims).
    wanted = [replace(d, include_fields=()) for d in subscriptions.desired_subscriptions(uri, filters=mode.filters)]
    ctx = context()
    with hooks.make_client(shop, ctx, ShopifyConfig.from_mapping(ctx.config)) as client:
        report = subscriptions.sync_webhooks(client, wanted)
    assert report.healthy, report


def run_mode(
    sim: SimServer, uri: str, mode: Mode, tally_of: dict[str, Tally], args: argparse.Namespace
) -> tuple[Tally, set[str]]:
    """One mode on an emptied shop: (what reached the receiver, the reward orders' GIDs)."""
    sim.control("reset", {})
    tally_of["now"] = Tally()  # setup traffic (none is subscribed) is not counted
    shop = ShopInfo(0, DOMAIN, sim.base_url, TOKEN)
    subscribe(sim, shop, uri, mode)
    every = max(1, round(100 / args.reward_percent))
    made = make_orders(sim, shop, args.orders, every)
    sim.control("webhooks/flush", {"timeout": 60})
    tally = tally_of["now"] = Tally()
    started = time.monotonic()
    produced = make_events(sim, made)
    sim.control("webhooks/flush", {"timeout": 60})
    stats = sim.control("stats")
    say(
        f"  {mode.name}: {sum(produced.values()):,} events from {len(made):,} orders "
        f"({sum(r for _, r in made)} reward) in {time.monotonic() - started:.1f}s; "
        f"simulator: {stats['webhook_filtered']:,} deliveries suppressed by filters"
    )
    return tally, {f"gid://shopify/Order/{order_id}" for order_id, reward in made if reward}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--reward-percent", type=float, default=1.0)
    args = parser.parse_args(argv)
    benchlib.clean_up_on_sigterm()
    benchlib.print_machine()
    say(
        f"\n{args.orders:,} orders, {args.reward_percent:g}% reward orders; each fulfilled, in transit and delivered "
        f"(every {CANCEL_EVERY}th cancelled instead)"
    )
    tally_of: dict[str, Tally] = {"now": Tally()}
    results: list[tuple[Mode, Tally, set[str]]] = []
    with (
        SimServer(
            access_token=TOKEN, webhook_secret=SECRET, shop_domain=DOMAIN, bucket_size=1e9, restore_rate=1e9
        ) as sim,
        receiver(tally_of) as uri,
    ):
        for mode in MODES:
            results.append((mode, *run_mode(sim, uri, mode, tally_of, args)))

    base = results[0][1]
    base_count, base_bytes = sum(base.deliveries.values()), sum(base.body_bytes.values())
    say("\nmode                         deliveries   body bytes  bytes/delivery  header bytes")
    for mode, tally, _ in results:
        count, size = sum(tally.deliveries.values()), sum(tally.body_bytes.values())
        say(
            f"{mode.name:<27} {count:>11,} {size:>12,} {size / max(count, 1):>15,.0f} {tally.header_bytes:>13,}"
            f"   = {count / base_count:.1%} of the deliveries, {size / base_bytes:.2%} of the body bytes"
        )
        say("    " + ", ".join(f"{t} {n:,} ({tally.body_bytes[t]:,} B)" for t, n in sorted(tally.deliveries.items())))

    status = 0
    say("\neffects (DeliveryUpdate) the deliveries gave, on reward orders / on other orders:")
    expected: Counter[str] | None = None
    for mode, tally, reward_gids in results:
        on_rewards = Counter(status for gid, status in set(tally.effects) if gid in reward_gids)
        others = sum(1 for gid, _ in tally.effects if gid not in reward_gids)
        say(f"  {mode.name:<27} {dict(sorted(on_rewards.items()))} / {others:,}; refused {tally.refused}")
        expected = expected if expected is not None else on_rewards
        if on_rewards != expected or tally.refused or not on_rewards:
            say(f"MISMATCH: {mode.name} does not give the reward orders the same effects, or refused deliveries")
            status = 1
    if status == 0:
        say("every mode gave the reward orders the same effects; no delivery was refused")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
