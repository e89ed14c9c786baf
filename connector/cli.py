"""The ``connector`` command. Every command builds what it needs from the environment.

The same commands are mounted on the Flask app, so ``flask --app connector.app …`` works too (that path
builds the web app, so it needs ``CONNECTOR_SECRET_KEY``; the ``connector`` command does not for one-shot work).
"""

from __future__ import annotations

import json
import os
import sys

import click

from connector.commands import error_text, settings_from_env
from connector.commands.checkout import checkout
from connector.commands.distribution import distribution
from connector.commands.fb_self_service import fb  # the fb group with its self-service commands added
from connector.commands.frequent_buyer import pos
from connector.commands.rebates import rebates
from connector.commands.retailer_reports import notices as notices_group
from connector.commands.retailer_reports import reports as retailer_reports
from connector.commands.shops import secrets_group, shops
from connector.commands.users import users
from connector.core.model import Role


class _Main(click.Group):
    """Turns a missing or wrong encryption key into the message that says how to fix it, for every command."""

    def invoke(self, ctx: click.Context) -> object:
        from connector.core.credentials import CredentialKeyError

        try:
            return super().invoke(ctx)
        except CredentialKeyError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Main, help="connector: loyalty reward redemptions turned into real fulfillment.")
def main() -> None:
    pass


@main.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Create or migrate the database schema to the latest version.")
def db_upgrade() -> None:
    from connector.migrations import upgrade

    settings = settings_from_env()
    _ensure_sqlite_dir(settings.database_url)
    upgrade(settings.database_url)
    click.echo(f"database at {_redact(settings.database_url)} is at the latest schema")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url


@main.command(help="List installed plugins, their versions and the hooks they implement (JSON).")
def plugins() -> None:
    from connector.plugin_manager import describe_plugins, make_plugin_manager

    settings = settings_from_env()
    click.echo(json.dumps(describe_plugins(make_plugin_manager(blocked=settings.disabled_plugins)), indent=2))


@main.command(help="Re-enqueue everything owed that may have lost its job (run periodically).")
def sweep() -> None:
    from connector.bootstrap import build_runtime
    from connector.core.sweeper import sweep as run_sweep

    rt = build_runtime()
    report = run_sweep(rt)
    click.echo(
        f"re-enqueued {report.fulfilments} fulfilments, {report.cancels} cancels, {report.webhooks} webhooks, "
        f"{report.outbound} outbound webhooks"
    )
    _drain(rt)


def _drain(rt: object) -> None:
    """In embedded mode, let the background runner finish what a one-shot command queued."""
    from connector.dispatch import ThreadDispatcher

    dispatcher = getattr(rt, "dispatcher", None)
    if isinstance(dispatcher, ThreadDispatcher):
        import time

        deadline = time.monotonic() + 60
        while not dispatcher.idle() and time.monotonic() < deadline:
            time.sleep(0.05)
        dispatcher.stop()


@main.command(help="Run an RQ worker (needs CONNECTOR_REDIS_URL).")
@click.option("--simple", is_flag=True, help="Run jobs in the worker process instead of a forked child.")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--sweep-every", default=60.0, show_default=True, help="Seconds between database sweeps (0: off).")
@click.option("--worker-ttl", default=60, show_default=True, help="Seconds before a silent worker counts as dead.")
@click.option("--maintenance-interval", default=30, show_default=True, help="Seconds between RQ's clean-ups.")
@click.option("--name", default=None, help="Worker name (defaults to RQ's).")
def worker(
    simple: bool, burst: bool, sweep_every: float, worker_ttl: int, maintenance_interval: int, name: str | None
) -> None:
    from connector.worker import run_worker

    settings = settings_from_env()
    if not settings.redis_url:
        raise click.UsageError(
            "the worker needs CONNECTOR_REDIS_URL (e.g. redis://127.0.0.1:6379/0); "
            "without Redis, `connector serve` runs jobs in-process"
        )
    run_worker(
        settings,
        simple=simple,
        burst=burst,
        sweep_every=sweep_every,
        worker_ttl=worker_ttl,
        maintenance_interval=maintenance_interval,
        name=name,
    )


@main.command(help="Serve the web app (webhooks, API). Embedded defaults: SQLite, jobs in-process.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the database schema first.")
def serve(host: str, port: int, no_migrate: bool) -> None:
    from werkzeug.serving import run_simple

    from connector.app import create_app
    from connector.config import InsecureSecretKey, check_secret_key

    settings = settings_from_env()
    try:
        check_secret_key(settings.secret_key)
    except InsecureSecretKey as exc:
        raise click.ClickException(str(exc)) from exc
    if not no_migrate:
        from connector.migrations import upgrade

        _ensure_sqlite_dir(settings.database_url)
        upgrade(settings.database_url)
    app = create_app(settings)
    mode = "RQ workers" if settings.jobs_mode == "rq" else "in-process jobs"
    click.echo(f"connector on http://{host}:{port}  database {_redact(settings.database_url)}  ({mode})")
    run_simple(host, port, app, threaded=True, use_reloader=False)


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


@main.command(
    "shopify-sim",
    help="Run the local Shopify Admin API simulator (GraphQL 2026-07 subset; pip install -e simulator).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=6789, show_default=True, type=int)
@click.option("--access-token", default=None, help="Token the simulator accepts (default shpat_simulator).")
@click.option("--latency-ms", default=None, type=float, help="Delay added to every GraphQL request.")
@click.option("--bucket-size", default=None, type=float, help="Rate-limit bucket size (Standard plan: 2000).")
@click.option("--restore-rate", default=None, type=float, help="Points restored per second (Standard plan: 100).")
@click.option("--search-lag-seconds", default=None, type=float, help="New orders stay invisible to search this long.")
@click.option("--webhook-target-url", default=None, help="Where to POST signed webhooks.")
@click.option("--webhook-secret", default=None, help="HMAC key for webhooks.")
@click.option("--shop-domain", default=None, help="X-Shopify-Shop-Domain of webhooks.")
def shopify_sim(host: str, port: int, **options: object) -> None:
    _require_simulator("connector shopify-sim")
    from shopify_sim.server import run as run_sim

    run_sim(host, port, **{k: v for k, v in options.items() if v is not None})


#: How to get the simulator: it is its own distribution in the repository, never a dependency of the product.
SIMULATOR_INSTALL = "pip install -e simulator  (from a checkout of the connector's repository)"


def _require_simulator(command: str) -> None:
    """Stop ``command`` with how to install the Shopify simulator when it (or its graphql-core) is missing."""
    try:
        import shopify_sim  # noqa: F401
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in {"shopify_sim", "graphql"}:
            raise
        missing = "is not installed" if exc.name == "shopify_sim" else f"cannot load ({exc})"
        raise click.ClickException(
            f"{command} needs the local Shopify simulator, which {missing}. Production installs leave it out; "
            f"install it with: {SIMULATOR_INSTALL}"
        ) from exc


@main.command(
    help="Seed demo data against the local Shopify simulator and show every status (pip install -e simulator)."
)
@click.option("--serve", is_flag=True, help="Keep the app and simulator running afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--sim-port", default=6789, show_default=True, type=int)
def demo(serve: bool, host: str, port: int, sim_port: int) -> None:
    _require_simulator("connector demo")
    from connector.app import create_app
    from connector.demo import run_demo

    settings = settings_from_env()
    if settings.jobs_mode == "sync":
        raise click.UsageError("the demo needs background jobs: unset CONNECTOR_JOBS_MODE")
    _ensure_sqlite_dir(settings.database_url)
    run_demo(settings, create_app=create_app, host=host, port=port, sim_port=sim_port, serve=serve, echo=click.echo)


@main.command(help="Compare each shop's reward orders with the redemptions: duplicates and orphans (run daily).")
@click.option("--days", default=7.0, show_default=True, help="How far back to look.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def reconcile(days: float, as_json: bool) -> None:
    from dataclasses import asdict

    from connector.bootstrap import build_runtime
    from connector.core.reconcile import reconcile as run_reconcile

    reports = run_reconcile(build_runtime(start_jobs=False), days=days)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in reports], indent=2))
    for r in reports if not as_json else []:
        if r.error:
            click.echo(f"{r.shop_domain}: could not list orders: {r.error}")
            continue
        click.echo(
            f"{r.shop_domain}: {r.orders_seen} reward orders, {len(r.duplicates)} redemptions with duplicate "
            f"orders, {len(r.orphans)} orphaned orders"
        )
        for code, ids in r.duplicates.items():
            click.echo(f"  duplicate  {code}: {', '.join(ids)}")
        for order_id, order_code, why in r.orphans:
            click.echo(f"  orphan     {order_id} ({order_code or 'no code'}): {why}")
    if any(r.duplicates or r.orphans or r.error for r in reports):
        sys.exit(1)


@main.group(help="Rewards members can redeem.")
def rewards() -> None:
    pass


@rewards.command("add", help="Add a reward to a brand's catalogue.")
@click.option("--brand", required=True, help="Brand slug.")
@click.option("--name", required=True)
@click.option("--sku", required=True, help="The shop variant's SKU (or any reference for email rewards).")
@click.option("--points", "points_cost", required=True, type=int, help="Points it costs.")
@click.option("--channel", default="shopify", show_default=True, help="Fulfilment channel (a plugin's channel).")
@click.option("--shop", "shop_domain", default=None, help="Shop domain, for shop-order rewards.")
@click.option("--instructions", default="", help="Shown to staff; emailed to the member for email rewards.")
def rewards_add(
    brand: str, name: str, sku: str, points_cost: int, channel: str, shop_domain: str | None, instructions: str
) -> None:
    from sqlalchemy import select

    from connector.bootstrap import build_runtime
    from connector.core import catalog
    from connector.core.database import transaction
    from connector.core.errors import ConnectorError
    from connector.core.tables import Shop
    from connector.plugin_manager import plugin_infos

    rt = build_runtime(start_jobs=False)
    channels = {c for info in plugin_infos(rt.plugins) for c in info.channels}
    if channel not in channels:
        raise click.ClickException(
            f"no installed plugin fulfils channel {channel!r}; known: {', '.join(sorted(channels))}"
        )
    try:
        with transaction(rt.sessions) as s:
            row = catalog.get_brand(s, brand)
            shop = None
            if shop_domain:
                shop = s.scalars(select(Shop).where(Shop.domain == shop_domain, Shop.brand_id == row.id)).first()
                if shop is None:
                    raise click.ClickException(
                        f"brand {row.slug} has no shop {shop_domain}; see `connector shops list`"
                    )
            elif channel == "shopify":
                raise click.ClickException("shopify rewards need --shop your-shop.myshopify.com")
            reward = catalog.add_reward(
                s,
                row,
                name=name,
                sku=sku,
                points_cost=points_cost,
                channel=channel,
                shop=shop,
                instructions=instructions,
            )
            click.echo(f"reward {reward.id}: {reward.name} ({reward.sku}, {reward.points_cost} points, {channel})")
    except ConnectorError as exc:
        raise click.ClickException(error_text(exc)) from exc


@rewards.command("list", help="List a brand's rewards.")
@click.option("--brand", required=True, help="Brand slug.")
def rewards_list(brand: str) -> None:
    from sqlalchemy import select

    from connector.bootstrap import build_runtime
    from connector.core import catalog
    from connector.core.tables import Reward

    rt = build_runtime(start_jobs=False)
    with rt.sessions() as s:
        row = catalog.get_brand(s, brand)
        for r in s.scalars(select(Reward).where(Reward.brand_id == row.id).order_by(Reward.id)):
            click.echo(f"{r.id}\t{r.name}\t{r.sku}\t{r.points_cost}\t{r.channel}\t{'active' if r.active else 'off'}")


@main.group(help="Members and their points.")
def members() -> None:
    pass


@members.command("import", help="Create or update members from a CSV file (all rows or none).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--brand", required=True, help="Brand slug.")
def members_import(path: str, brand: str) -> None:
    from pathlib import Path

    from connector.bootstrap import build_runtime
    from connector.core import catalog
    from connector.core.database import transaction
    from connector.core.errors import ValidationError
    from connector.core.member_import import import_members

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV") from exc
    rt = build_runtime(start_jobs=False)
    try:
        with transaction(rt.sessions) as s:
            result = import_members(s, catalog.get_brand(s, brand), text, actor=f"import:{Path(path).name}")
    except ValidationError as exc:
        lines = [exc.message, *exc.fields.get("rows", [])]
        raise click.ClickException("\n".join(lines)) from exc
    click.echo(f"{result.created} members created, {result.updated} updated, {result.points_awarded} points awarded")


@main.group(help="Points.")
def points() -> None:
    pass


@points.command("award", help="Give a member points (an 'earned' ledger entry).")
@click.option("--member", "member_id", required=True, type=int)
@click.option("--points", "amount", required=True, type=click.IntRange(min=1))
@click.option("--note", required=True, help="Why: shown in the member's ledger.")
def points_award(member_id: int, amount: int, note: str) -> None:
    from connector.bootstrap import build_runtime
    from connector.core import catalog
    from connector.core.database import transaction
    from connector.core.redemptions import points_balance
    from connector.core.tables import Member

    rt = build_runtime(start_jobs=False)
    with transaction(rt.sessions) as s:
        member = s.get(Member, member_id)
        if member is None:
            raise click.ClickException(f"no member {member_id}")
        catalog.award_points(s, member, amount, note, actor="cli")
        s.flush()
        click.echo(f"member {member_id} now has {points_balance(s, member_id)} points")


@main.group(help="API tokens.")
def tokens() -> None:
    pass


@tokens.command("create", help="Create a bearer token for the JSON API; it is printed once.")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--brand", default=None, help="Brand slug: scopes the token to one brand (required for brand_admin).")
@click.option("--distributor", "distributor_id", type=int, default=None, help="Distributor id (distributor role).")
@click.option("--retailer", "retailer_id", type=int, default=None, help="Retailer id (retailer role).")
def tokens_create(name: str, role: str, brand: str | None, distributor_id: int | None, retailer_id: int | None) -> None:
    from connector.bootstrap import build_runtime
    from connector.commands.users import token_audit
    from connector.core import catalog
    from connector.core.database import transaction
    from connector.core.errors import ConnectorError

    rt = build_runtime(start_jobs=False)
    try:
        with transaction(rt.sessions) as s:
            row = catalog.get_brand(s, brand) if brand else None
            token, plain = catalog.create_api_token(
                s, name, Role(role), row, distributor_id=distributor_id, retailer_id=retailer_id
            )
            token_audit(s, token, "token.created", rt.now())
    except ConnectorError as exc:
        raise click.ClickException(error_text(exc)) from exc
    click.echo(plain)


@tokens.command("revoke", help="Revoke an API token by its name; it stops working at once.")
@click.option("--name", required=True)
def tokens_revoke(name: str) -> None:
    from sqlalchemy import select

    from connector.bootstrap import build_runtime
    from connector.commands.users import token_audit
    from connector.core.database import transaction
    from connector.core.tables import ApiToken

    rt = build_runtime(start_jobs=False)
    with transaction(rt.sessions) as s:
        found = s.scalars(
            select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)).with_for_update()
        ).all()
        for token in found:
            token.revoked_at = rt.now()
            token_audit(s, token, "token.revoked", rt.now())
        count = len(found)
    if not count:
        raise click.ClickException(f"no active token named {name!r}")
    click.echo(f"revoked {count} token(s) named {name!r}")


main.add_command(shops)
main.add_command(secrets_group)
main.add_command(users)
main.add_command(pos)
main.add_command(fb)
main.add_command(distribution)
main.add_command(checkout)
main.add_command(rebates)
main.add_command(retailer_reports)
main.add_command(notices_group)


def run() -> None:  # pragma: no cover - console entry for ``python -m connector``
    sys.exit(main(prog_name=os.path.basename(sys.argv[0]) or "connector"))
