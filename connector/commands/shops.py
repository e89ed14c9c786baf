"""``connector shops`` and ``connector secrets``: connected shops and the credentials stored for them.

Nothing here prints a credential: ``shops list`` shows no token or secret (and masks any in a URL),
``secrets rotate`` prints how many values it re-encrypted.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from connector.commands import error_text, settings_from_env

if TYPE_CHECKING:
    from connector.core.runtime import Runtime
    from connector.core.shop_webhooks import ShopWebhookSync


@click.group(help="Connected shops.")
def shops() -> None:
    pass


@shops.command("add", help="Connect a Shopify shop to a brand (the brand is created if new).")
@click.option("--brand", required=True, help="Brand slug or name.")
@click.option("--domain", required=True, help="your-shop.myshopify.com")
@click.option("--access-token", required=True, envvar="SHOPIFY_ACCESS_TOKEN", help="Admin API access token.")
@click.option("--webhook-secret", required=True, envvar="SHOPIFY_WEBHOOK_SECRET", help="The app's client secret.")
@click.option(
    "--api-base-url",
    default=None,
    help="Override https://<domain>: only for a local Shopify simulator, with SHOPIFY_ALLOW_CUSTOM_API_BASE=true.",
)
def shops_add(brand: str, domain: str, access_token: str, webhook_secret: str, api_base_url: str | None) -> None:
    from sqlalchemy import select

    from connector.bootstrap import build_runtime
    from connector.core import catalog
    from connector.core.database import transaction
    from connector.core.errors import ConnectorError
    from connector.core.tables import Brand

    settings = settings_from_env()
    rt = build_runtime(settings, start_jobs=False)
    try:
        with transaction(rt.sessions) as s:
            slug = catalog.slugify(brand)
            row = s.scalars(select(Brand).where(Brand.slug == slug)).first() or catalog.create_brand(s, brand, slug)
            shop = catalog.add_shop(
                s,
                row,
                domain=domain,
                access_token=access_token,
                webhook_secret=webhook_secret,
                api_base_url=api_base_url,
                allow_custom_api_base=settings.allow_custom_shop_api_base,
            )
            click.echo(f"connected {shop.domain} to brand {row.slug} (shop id {shop.id})")
    except ConnectorError as exc:
        raise click.ClickException(error_text(exc)) from exc


@shops.command(
    "connect",
    help="Connect a Shopify shop to a brand. Without --client-id: print the install link to open in a browser "
    "signed in to the console (authorization code grant; needs SHOPIFY_CLIENT_ID, SHOPIFY_CLIENT_SECRET, "
    "CONNECTOR_PUBLIC_URL). With --client-id and --client-secret-stdin: connect an app of the shop's own "
    "organization by client credentials (a token is fetched at once).",
)
@click.argument("domain")
@click.option("--brand", required=True, help="Brand slug or name (created if new).")
@click.option("--client-id", default=None, help="Client credentials: the Dev Dashboard app's client id.")
@click.option(
    "--client-secret-stdin",
    is_flag=True,
    help="Client credentials: read the app's client secret from standard input (never give it on the command line).",
)
@click.option(
    "--api-base-url",
    default=None,
    help="Client credentials: override https://<domain>, only for a local Shopify simulator "
    "(SHOPIFY_ALLOW_CUSTOM_API_BASE=true).",
)
def shops_connect(
    domain: str, brand: str, client_id: str | None, client_secret_stdin: bool, api_base_url: str | None
) -> None:
    from connector.bootstrap import build_runtime
    from connector.core import shop_connect
    from connector.core.errors import ConnectorError

    if client_secret_stdin and not client_id:
        raise click.UsageError("--client-secret-stdin goes with --client-id (client credentials)")
    if client_id and not client_secret_stdin:
        raise click.UsageError(
            "--client-id needs --client-secret-stdin: pipe the client secret in, e.g. "
            "`connector shops connect DOMAIN --brand SLUG --client-id ID --client-secret-stdin < secret.txt`"
        )
    if api_base_url and not client_id:
        raise click.UsageError("--api-base-url goes with --client-id; an install finds the shop by its domain")
    # sys.stdin, not click.get_text_stream (deprecated in Click 8.5, gone in 9.0): CliRunner swaps sys.stdin too.
    secret = sys.stdin.readline().strip() if client_secret_stdin else ""
    settings = settings_from_env()
    rt = build_runtime(settings, start_jobs=False)
    try:
        brand_id, slug = _brand(rt, brand)
        if client_id:
            shop = shop_connect.connect_client_credentials(rt, brand_id, domain, client_id, secret, api_base_url)
            click.echo(
                f"connected {shop.domain} to brand {slug} by client credentials (shop id {shop.id}); "
                f"granted scopes: {shop.granted_scopes}"
            )
            return
        link = shop_connect.install_link(rt, domain, brand_id)
    except ConnectorError as exc:
        raise click.ClickException(error_text(exc)) from exc
    click.echo(f"open this link in a browser signed in to the console (a platform admin, or an admin of {slug}):")
    click.echo(link)


@shops.command("assign-brand", help="Give a shop installed from Shopify's side (awaiting a brand) its brand.")
@click.argument("domain")
@click.option("--brand", required=True, help="Slug of an existing brand.")
def shops_assign_brand(domain: str, brand: str) -> None:
    from sqlalchemy import select

    from connector.bootstrap import build_runtime
    from connector.core import catalog, shop_connect
    from connector.core.access import Actor
    from connector.core.errors import ConnectorError
    from connector.core.tables import Shop

    rt = build_runtime(settings_from_env(), start_jobs=False)
    try:
        with rt.sessions() as s:
            shop_id = s.scalars(select(Shop.id).where(Shop.domain == domain.strip().lower())).first()
            if shop_id is None:
                raise click.ClickException(f"no shop {domain}; see `connector shops list`")
            brand_id = catalog.get_brand(s, brand).id
        shop = shop_connect.assign_brand(rt, shop_id, brand_id, Actor.system("cli"))
    except ConnectorError as exc:
        raise click.ClickException(error_text(exc)) from exc
    click.echo(f"{shop.domain} now belongs to brand {brand} ({shop.status})")


def _brand(rt: Runtime, name: str) -> tuple[int, str]:
    """The brand named ``name`` (slug or name), created when new, as ``shops add`` does."""
    from sqlalchemy import select

    from connector.core import catalog
    from connector.core.database import transaction
    from connector.core.tables import Brand

    with transaction(rt.sessions) as s:
        slug = catalog.slugify(name)
        row = s.scalars(select(Brand).where(Brand.slug == slug)).first() or catalog.create_brand(s, name, slug)
        return row.id, row.slug


@shops.command("list", help="List connected shops (id, domain, brand, API base URL, state); never credentials.")
def shops_list() -> None:
    from sqlalchemy import select

    from connector.bootstrap import build_runtime
    from connector.core.hooktypes import redact_url
    from connector.core.tables import Shop

    rt = build_runtime(settings_from_env(), start_jobs=False)
    with rt.sessions() as s:
        rows = s.scalars(select(Shop).order_by(Shop.id)).all()
        if not rows:
            click.echo("no shops connected; add one with: connector shops add --brand … --domain …")
        for shop in rows:
            state = "active" if shop.active else "inactive"
            brand = shop.brand.slug if shop.brand is not None else "(awaiting a brand)"
            # The access token and webhook secrets are never printed; a URL stored with user:password@
            # (refused since, but maybe in older rows) is printed without them.
            click.echo(
                f"{shop.id}\t{shop.domain}\t{brand}\t{redact_url(shop.api_base_url)}\t{state}\t"
                f"{shop.connection_kind}\t{shop.status}"
            )


@shops.command("rotate-secret", help="Set a shop's new webhook secret; the old one is accepted for an hour more.")
@click.option("--domain", required=True)
@click.option("--webhook-secret", required=True, help="The app's new client secret.")
def shops_rotate_secret(domain: str, webhook_secret: str) -> None:
    from sqlalchemy import select

    from connector.bootstrap import build_runtime
    from connector.core import catalog
    from connector.core.database import transaction
    from connector.core.tables import Shop

    rt = build_runtime(start_jobs=False)
    with transaction(rt.sessions) as s:
        shop = s.scalars(select(Shop).where(Shop.domain == domain)).first()
        if shop is None:
            raise click.ClickException(f"no shop {domain}; see `connector shops list`")
        catalog.rotate_webhook_secret(s, shop, webhook_secret, rt.now())
    click.echo(f"{domain}: new webhook secret in force; the previous one is accepted for one more hour")


@shops.command(
    "sync-webhooks",
    help="Make each shop's webhook subscriptions what the connector needs (at {CONNECTOR_PUBLIC_URL}/webhooks/"
    "<provider>), filtered to reward orders and trimmed; a second run changes nothing. Subscriptions to other "
    "addresses are left alone.",
)
@click.option("--shop", "domain", default=None, help="One shop, by its exact domain (your-shop.myshopify.com).")
@click.option("--all", "all_shops", is_flag=True, help="Every shop whose webhooks are accepted.")
def shops_sync_webhooks(domain: str | None, all_shops: bool) -> None:
    import os

    from connector.bootstrap import build_runtime
    from connector.core import shop_webhooks
    from connector.core.errors import ConnectorError

    if bool(domain) == all_shops:
        raise click.UsageError("give either --shop DOMAIN or --all")
    settings = settings_from_env()
    # CONNECTOR_PUBLIC_URL: read by the settings once they carry it (issue 11), else from the environment.
    public_url = getattr(settings, "public_url", None) or os.environ.get(shop_webhooks.PUBLIC_URL_VARIABLE)
    try:
        shop_webhooks.webhook_uri(public_url, "shopify")  # a missing or bad address fails before any call
    except ConnectorError as exc:
        raise click.ClickException(error_text(exc)) from exc
    rt = build_runtime(settings, start_jobs=False)
    ids = shop_webhooks.shops_to_sync(rt, domain=domain)
    if not ids and domain:
        raise click.ClickException(f"no shop {domain}; see `connector shops list`")
    if not ids:
        click.echo("no shops connected; nothing to sync")
        return
    failed = 0
    for shop_id in ids:
        try:
            result = shop_webhooks.sync_shop_webhooks(rt, shop_id, public_url=public_url)
        except ConnectorError as exc:
            click.echo(f"shop {shop_id}: not synced: {error_text(exc)}", err=True)
            failed += 1
            continue
        failed += _echo_sync(result)
    if failed:
        raise click.ClickException(f"{failed} of {len(ids)} shop(s) not fully synced; see above")


def _echo_sync(result: ShopWebhookSync) -> int:
    """Print one shop's sync; 1 when it needs attention."""
    if result.skipped:
        click.echo(f"{result.domain}: skipped, the shop is not connected: {result.skipped}")
        return 0
    if result.report is None:
        click.echo(f"{result.domain}: not synced: {result.error}", err=True)
        return 1
    report = result.report
    if report.changed:
        click.echo(
            f"{result.domain}: {report.created} created, {report.updated} updated, {report.deleted} deleted, "
            f"{report.unchanged} unchanged"
        )
    else:
        click.echo(f"{result.domain}: already in sync, nothing changed ({report.unchanged} subscriptions checked)")
    for topic in report.topics:
        if topic.status in ("error", "unfiltered"):
            click.echo(f"  {topic.topic}: {topic.status}: {topic.detail}", err=topic.status == "error")
    if report.foreign_uris:
        hosts = sorted({_host(u) for u in report.foreign_uris})
        click.echo(f"  left alone: subscriptions to {len(report.foreign_uris)} other address(es) ({', '.join(hosts)})")
    return 0 if report.healthy else 1


def _host(uri: str) -> str:
    """The host of a subscription address (its path and query may hold another app's secrets)."""
    try:
        return urlsplit(uri).hostname or uri.split(":", 1)[0]
    except ValueError:
        return "?"


@click.group("secrets", help="Credentials stored encrypted (CONNECTOR_ENCRYPTION_KEYS): shop tokens, webhook secrets.")
def secrets_group() -> None:
    pass


@secrets_group.command(
    "rotate",
    help="Re-encrypt every stored credential with the newest key (the first in CONNECTOR_ENCRYPTION_KEYS), "
    "in one transaction. Put the new key first, run this, then drop the old key.",
)
def secrets_rotate() -> None:
    from connector.bootstrap import build_runtime
    from connector.core.credentials import encrypted_columns, keyring_of, rotate_credentials
    from connector.core.tables import Base

    rt = build_runtime(start_jobs=False)
    keyring = keyring_of(rt.engine)
    with rt.engine.begin() as conn:
        count = rotate_credentials(conn, keyring, encrypted_columns(Base.metadata))
    rt.engine.dispose()
    click.echo(
        f"re-encrypted {count} stored credential(s) with the newest of {keyring.size} key(s); "
        "keys after the first can now be dropped"
    )
