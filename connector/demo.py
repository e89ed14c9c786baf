"""``connector demo``: a brand, a simulated shop, members and rewards, and redemptions in every status.

A new user sees the product as support staff do: fulfilled orders with delivery
progress, retries pending after a throttle, each permanent error with its fix,
and a reversal with the points returned. Everything runs against the local
Shopify simulator (its own distribution: ``pip install -e simulator``); nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from connector.config import Settings
from connector.core import catalog, shop_connect
from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.frequent_buyer.tables import PosRedemption
from connector.core.hooktypes import ALLOW_CUSTOM_API_BASE
from connector.core.model import Role
from connector.core.redemptions import create_redemption
from connector.core.reversal import reverse_redemption
from connector.core.runtime import Runtime
from connector.core.tables import Brand, Redemption, Shop
from connector.core.users import create_user
from shopify_sim import SimServer

DEMO_SHOP = "demo-shop.myshopify.com"
PARTNER_SHOP = "demo-partner.myshopify.com"
#: The demo's Shopify app (the simulator knows the same): the shop installs it, and it signs the webhooks.
DEMO_CLIENT_ID = "demo-client-id"
DEMO_CLIENT_SECRET = "demo-client-secret-0123456789"
SUPPORT = Actor("demo@connector.local", Role.SUPPORT)

PRODUCTS: list[dict[str, Any]] = [
    {"title": "Ambassador Tee", "status": "ACTIVE", "variants": [{"sku": "DEMO-TEE", "inventory": 100}]},
    {"title": "Enamel Mug", "status": "ACTIVE", "variants": [{"sku": "DEMO-MUG", "inventory": 50}]},
    {"title": "Winter Hoodie", "status": "DRAFT", "variants": [{"sku": "DEMO-HOODIE", "inventory": 10}]},
]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


#: Brand-side console accounts the demo creates (the retailer and the distributor are made with their
#: parties in ``demo_frequent_buyer``); every demo account shares one password, generated and printed once.
DEMO_USERS: tuple[tuple[str, str, Role], ...] = (
    ("admin@demo.local", "Demo Admin", Role.PLATFORM_ADMIN),
    ("brand@demo.local", "Demo Brand Admin", Role.BRAND_ADMIN),
    ("support@demo.local", "Demo Support", Role.SUPPORT),
    ("viewer@demo.local", "Demo Viewer", Role.VIEWER),
)
#: Every console account as the demo prints it (email, role, what it is limited to). README's table of demo
#: users lists exactly these, and tests/test_cli.py holds the two together.
DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("admin@demo.local", "platform admin", "every brand, retailer and distributor"),
    ("brand@demo.local", "brand admin", "Demo Brand"),
    ("support@demo.local", "support", "every brand, retailer and distributor"),
    ("viewer@demo.local", "viewer (read-only)", "Demo Brand"),
    ("retailer@demo.local", "retailer", "Mile High Pets"),
    ("distributor@demo.local", "distributor", "Rocky Mountain Feed"),
)


@dataclass
class DemoResult:
    app_url: str
    sim_url: str
    token: str | None
    counts: dict[str, int]
    password: str | None = None


_OTTAWA = {"address1": "150 Elgin St", "city": "Ottawa", "province_code": "ON", "country_code": "CA", "zip": "K2P 1L4"}

#: The demo's ambassadors, ``catalog.add_member``'s fields by key; each one's data makes one fulfilment story.
#: The e2e console seed (tests/e2e/seed.py) meets the same people.
DEMO_PEOPLE: dict[str, dict[str, Any]] = {
    "ada": dict(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        phone="+16135550142",
        date_of_birth=date(1990, 12, 10),
        **_OTTAWA,
    ),
    "grace": dict(
        first_name="Grace",
        last_name="Hopper",
        email="grace@example.com",
        phone="+12125550123",
        date_of_birth=date(1985, 12, 9),
        address1="1 Liberty Plaza",
        city="New York",
        province_code="NY",
        country_code="US",
        zip="10006",
    ),
    "alan": dict(
        first_name="Alan",
        last_name="Turing",
        email="alan@example.com",
        phone="+16135550199",
        date_of_birth=date(1992, 6, 23),
        **_OTTAWA,
    ),
    "linus": dict(
        first_name="Linus",
        last_name="Pauling",
        email="linus@example.com",
        phone="+15035550100",
        date_of_birth=date(1988, 2, 28),
    ),  # no address: missing_user_information
    "marie": dict(
        first_name="Marie",
        last_name="Curie",
        email="marie@example.com",
        phone="+12125550111",
        date_of_birth=date(1991, 11, 7),
        address1="77 Main St",
        city="Springfield",
        province_code="XX",
        country_code="US",
        zip="62701",
    ),  # bad state: crm_id_not_found
}


def add_people(
    s: Any, brand: Brand, people: dict[str, dict[str, Any]], *, points: int, reason: str, ref_prefix: str
) -> dict[str, int]:
    """Members with a welcome balance, their ids keyed like ``people``: a seed tells each story by key."""
    made = {}
    for key, fields in people.items():
        m = catalog.add_member(s, brand, external_ref=f"{ref_prefix}-{key}", **fields)
        catalog.award_points(s, m, points, reason)
        made[key] = m.id
    return made


def install_demo_shop(rt: Runtime, brand_id: int, echo: Callable[[str], None]) -> Shop:
    """Connect the demo shop the way a brand does: the install (authorization code grant) against the simulator.

    The console's Connect starts the install for the brand; the merchant's browser visits the (simulated)
    authorize page, which approves at once and sends it back to the callback with a code and Shopify's
    signature; the callback checks the state, the shop and the signature, exchanges the code for an expiring
    token and checks the granted scopes. Here the demo plays that browser.
    """
    authorize_url, state = shop_connect.begin_install(rt, DEMO_SHOP, brand_id, None)
    approved = requests.get(authorize_url, allow_redirects=False, timeout=10)
    if approved.status_code != 302:
        raise RuntimeError(f"the simulated authorize page answered HTTP {approved.status_code}, not a redirect")
    callback = urlsplit(approved.headers["Location"])
    shop = shop_connect.complete_install(rt, dict(parse_qsl(callback.query)), state)
    echo(
        f"{shop.domain}: app installed (authorization code grant: the simulator's authorize page approved it and "
        f"sent the browser to {callback.scheme}://{callback.netloc}{callback.path}): {shop.status}, expiring "
        f"token, scopes {shop.granted_scopes}"
    )
    return shop


def seed(
    rt: Runtime, sim: SimServer, *, wait: Callable[[], None], echo: Callable[[str], None] = print
) -> tuple[str, str]:
    """Create the demo data and redemptions; returns a platform-admin API token and the users' password."""
    with transaction(rt.sessions) as s:
        brand_id = catalog.create_brand(s, "Demo Brand", "demo").id
    install_demo_shop(rt, brand_id, echo)
    with transaction(rt.sessions) as s:
        brand = catalog.get_brand(s, brand_id)
        shop = s.scalars(select(Shop).where(Shop.domain == DEMO_SHOP)).one()
        partner = catalog.add_shop(
            s,
            brand,
            domain=PARTNER_SHOP,
            access_token="shpat_revoked_token",
            webhook_secret="demo-partner-secret-0123456789",
            api_base_url=sim.base_url,
            allow_custom_api_base=rt.settings.allow_custom_shop_api_base,
        )
        rewards = {
            "tee": catalog.add_reward(
                s,
                brand,
                name="Ambassador Tee",
                sku="DEMO-TEE",
                points_cost=500,
                shop=shop,
                instructions="Ships in 5-7 business days.",
            ),
            "mug": catalog.add_reward(s, brand, name="Enamel Mug", sku="DEMO-MUG", points_cost=300, shop=shop),
            "hoodie": catalog.add_reward(s, brand, name="Winter Hoodie", sku="DEMO-HOODIE", points_cost=900, shop=shop),
            "bottle": catalog.add_reward(s, brand, name="Water Bottle", sku="DEMO-BOTTLE", points_cost=200, shop=shop),
            "socks": catalog.add_reward(s, brand, name="Partner Socks", sku="DEMO-TEE", points_cost=100, shop=partner),
        }
        reward_ids = {k: r.id for k, r in rewards.items()}
        members = add_people(s, brand, DEMO_PEOPLE, points=2000, reason="demo welcome points", ref_prefix="demo")
        _, token = catalog.create_api_token(s, "demo", Role.PLATFORM_ADMIN)
        password = secrets.token_urlsafe(12)
        for email, name, role in DEMO_USERS:
            create_user(
                s,
                email=email,
                name=name,
                password=password,
                role=role,
                brand_id=brand.id if role in (Role.VIEWER, Role.BRAND_ADMIN) else None,
            )
    for product in PRODUCTS:  # after the shop exists, so the products/update webhooks verify
        sim.control("products", product)

    def redeem(member: str, reward: str) -> int:
        rid = create_redemption(rt, SUPPORT, member_id=members[member], reward_id=reward_ids[reward]).redemption.id
        wait()
        return rid

    shipped = redeem("ada", "tee")
    delivered = redeem("grace", "mug")
    reversed_ = redeem("alan", "mug")
    redeem("linus", "mug")  # missing_user_information
    redeem("marie", "tee")  # crm_id_not_found
    redeem("grace", "hoodie")  # product_not_found: the product is a draft
    redeem("alan", "bottle")  # product_not_found: no such SKU in the shop
    redeem("ada", "socks")  # shop_auth_failed: the partner shop's token was revoked
    reverse_redemption(
        rt, reversed_, SUPPORT, reason="ambassador picked the wrong reward", cancel_order=True, restock=True
    )
    wait()
    for rid, status in ((shipped, "in_transit"), (delivered, "delivered")):
        with rt.sessions() as s:
            order_gid = s.get_one(Redemption, rid).external_order_id
        if order_gid:
            sim.control(f"orders/{order_gid.rsplit('/', 1)[1]}/fulfil", {"shipment_status": status})
    sim.control("faults", {"queue": [{"kind": "503", "count": 1}]})
    redeem("alan", "tee")  # the shop answered 503 once: pending, with the next attempt time
    wait()
    from connector.demo_frequent_buyer import seed_frequent_buyer

    seed_frequent_buyer(rt, password)
    return token, password


def run_demo(
    settings: Settings,
    *,
    create_app: Callable[[Settings], Flask],
    host: str = "127.0.0.1",
    port: int = 8000,
    sim_port: int = 6789,
    serve: bool = False,
    echo: Callable[[str], None] = print,
) -> DemoResult:
    """Migrate, serve the app that ``create_app`` builds (the host's factory, passed in so the demo does not
    import the host that mounts the command running it) and the simulator, seed once, print how to look."""
    from connector.encryption import load_keyring
    from connector.migrations import upgrade

    if not settings.secret_key:
        # A demo on a fresh machine needs no setup: a random key for this run (sessions end when it stops).
        settings = dataclasses.replace(settings, secret_key=secrets.token_hex(32))
    # The demo's shops live in the bundled simulator on 127.0.0.1, not at https://<shop>.myshopify.com:
    # the demo (and only it) allows that address, explicitly.
    settings = dataclasses.replace(settings, plugin_env={**settings.plugin_env, ALLOW_CUSTOM_API_BASE: "true"})
    upgrade(settings.database_url, keyring=load_keyring(settings))
    app = create_app(settings)
    rt: Runtime = app.extensions["connector"]
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    app_url = f"http://{host}:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim = SimServer(
        port=sim_port,
        webhook_target_url=f"{app_url}/webhooks/shopify",
        # Shopify signs an installed app's webhooks with the app's client secret.
        webhook_secret=DEMO_CLIENT_SECRET,
        shop_domain=DEMO_SHOP,
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
    )
    sim.start()
    # The demo's Shopify app, its public address (the install's redirect URI) and its shops' address (the
    # simulator), known only now that both servers listen.
    rt.settings = dataclasses.replace(
        rt.settings,
        public_url=app_url,
        plugin_env={
            **rt.settings.plugin_env,
            "SHOPIFY_CLIENT_ID": DEMO_CLIENT_ID,
            "SHOPIFY_CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "SHOPIFY_INSTALL_API_BASE_URL": sim.base_url,
        },
    )

    def wait() -> None:
        idle = getattr(rt.dispatcher, "idle", None)
        deadline = time.monotonic() + 30
        time.sleep(0.05)
        while idle is not None and not idle() and time.monotonic() < deadline:
            time.sleep(0.05)

    with rt.sessions() as s:
        existing = s.scalars(select(Brand).where(Brand.slug == "demo")).first()
    token = password = None
    if existing is None:
        token, password = seed(rt, sim, wait=wait, echo=echo)
        time.sleep(0.5)
        wait()
    else:
        with transaction(rt.sessions) as s:
            for shop in s.scalars(select(Shop).where(Shop.brand_id == existing.id)):
                shop.api_base_url = sim.base_url
        # A new simulator knows none of the earlier run's tokens: the shop installs the app again (same brand).
        install_demo_shop(rt, existing.id, echo)
        for product in PRODUCTS:
            sim.control("products", product)
        echo("demo data already present: reusing it (delete the database file to start over)")
    with rt.sessions() as s:
        counts = Counter(s.scalars(select(Redemption.status)))
        reported = Counter(s.scalars(select(PosRedemption.status)))
    result = DemoResult(app_url=app_url, sim_url=sim.url, token=token, counts=dict(counts), password=password)
    echo(f"redemptions by status: {dict(sorted(counts.items()))}")
    echo(f"POS-reported free goods by status: {dict(sorted(reported.items()))}")
    if token:
        echo(f"API token (platform admin, shown once): {token}")
    if password:
        echo(f"admin console: {app_url}/admin  sign in as any demo user below; password (shown once): {password}")
        for email, role, scope in DEMO_ACCOUNTS:
            echo(f"  demo user: {email} | {role} | {scope}")
    echo(f"try: curl -H 'Authorization: Bearer <token>' '{app_url}/api/v1/redemptions?tab=unfulfilled'")
    if serve:
        echo(f"connector demo on {app_url}  (Shopify simulator on {sim.url}); Ctrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    server.shutdown()
    sim.stop()
    stop = getattr(rt.dispatcher, "stop", None)
    if stop:
        stop()
    return result
