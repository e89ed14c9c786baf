"""``connector checkout``: the counter from a shell — find or add a pet owner, punch cards, show them, redeem.

Runs as the platform (``cli``), naming the retailer (slug or id) every time, and calls the same core use
cases as the console's Checkout page and ``/api/v1/checkout``. ``--key`` makes a punch or a redemption safe
to run again: the same key records nothing new. A denied redemption prints the rule's reason and words and
exits 1, recording nothing.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from connector.commands import fail


def _runtime(ctx: click.Context) -> Any:
    from connector.core.runtime import Runtime

    if isinstance(ctx.obj, Runtime):
        return ctx.obj
    from connector.bootstrap import build_runtime

    return build_runtime(start_jobs=False)


def _actor() -> Any:
    from connector.core.access import Actor

    return Actor.system("cli")


def _retailer_id(rt: Any, retailer: str) -> int:
    from connector.core.frequent_buyer.programs import find_retailer

    with rt.sessions() as s:
        return int(find_retailer(s, retailer).id)


def _print_cards(cards: Any) -> None:
    if not cards:
        click.echo("  no cards yet")
    for c in cards:
        state = "READY: " + ", ".join(f"{f.description} (item {f.item_id})" for f in c.choices) if c.eligible else ""
        if not c.eligible and c.denial_detail:
            state = f"{c.denial_reason}: {c.denial_detail}"
        click.echo(f"  program {c.program_id} {c.program_name}: {c.punched} of {c.buy_quantity}  {state}".rstrip())


@click.group(help="In-store redemption: look up pet owners, punch their cards, redeem free goods at the counter.")
def checkout() -> None:
    pass


@checkout.command("find", help="Find the retailer's pet owners by name, phone or email (exact or prefix).")
@click.argument("query")
@click.option("--retailer", required=True, help="Retailer slug or id.")
@click.pass_context
def checkout_find(ctx: click.Context, query: str, retailer: str) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer import checkout as core

    rt = _runtime(ctx)
    try:
        found = core.find_customers(rt, _actor(), query, retailer_id=_retailer_id(rt, retailer))
    except ConnectorError as exc:
        raise fail(exc) from exc
    if not found:
        click.echo(f"no customer matches {query!r}; add one with: connector checkout add-customer")
    for c in found:
        click.echo(f"{c.id}\t{c.name}\t{c.phone or ''}\t{c.email or ''}\t{c.internal_id or ''}")


@checkout.command("add-customer", help="Add a pet owner: a name and a phone, email or customer id.")
@click.option("--retailer", required=True, help="Retailer slug or id.")
@click.option("--name", required=True)
@click.option("--phone", default=None)
@click.option("--email", default=None)
@click.option("--customer-id", "internal_id", default=None, help="The POS's own customer id.")
@click.pass_context
def checkout_add(
    ctx: click.Context, retailer: str, name: str, phone: str | None, email: str | None, internal_id: str | None
) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer import checkout as core

    rt = _runtime(ctx)
    try:
        added = core.add_customer(
            rt,
            _actor(),
            name=name,
            phone=phone,
            email=email,
            internal_id=internal_id,
            retailer_id=_retailer_id(rt, retailer),
        )
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo(f"added customer {added.id}: {added.name}")


@checkout.command("cards", help="A pet owner's cards: punches toward each reward, and what they may redeem now.")
@click.argument("customer_id", type=int)
@click.option("--retailer", required=True, help="Retailer slug or id.")
@click.pass_context
def checkout_cards(ctx: click.Context, customer_id: int, retailer: str) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer import checkout as core

    rt = _runtime(ctx)
    try:
        view = core.customer_cards(rt, _actor(), customer_id, retailer_id=_retailer_id(rt, retailer))
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo(f"customer {view.customer.id}: {view.customer.name}")
    _print_cards(view.cards)


@checkout.command("punch", help="Record a purchase (an item's SKU or UPC) on the pet owner's card.")
@click.argument("customer_id", type=int)
@click.argument("item")
@click.option("--retailer", required=True, help="Retailer slug or id.")
@click.option("--quantity", default=1, show_default=True, type=click.IntRange(1, 999))
@click.option("--program", "program_id", default=None, type=int, help="When two programs hold the item.")
@click.option("--location", "location_id", default=None, type=int, help="The store (location id).")
@click.option("--key", default=None, help="Idempotency key: the same key again records nothing new.")
@click.pass_context
def checkout_punch(
    ctx: click.Context,
    customer_id: int,
    item: str,
    retailer: str,
    quantity: int,
    program_id: int | None,
    location_id: int | None,
    key: str | None,
) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer import checkout as core

    rt = _runtime(ctx)
    try:
        progress, replayed = core.record_purchase(
            rt,
            _actor(),
            customer_id,
            item=item,
            quantity=quantity,
            program_id=program_id,
            location_id=location_id,
            idempotency_key=key,
            retailer_id=_retailer_id(rt, retailer),
        )
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo("already recorded with this key; nothing new" if replayed else "punched")
    _print_cards([progress])


@checkout.command("redeem", help="Redeem a complete card's free good, as a POS report of the card would.")
@click.argument("customer_id", type=int)
@click.option("--retailer", required=True, help="Retailer slug or id.")
@click.option("--program", "program_id", required=True, type=int)
@click.option("--free-item", "free_item_id", required=True, type=int, help="The reward's item id (see `cards`).")
@click.option("--location", "location_id", default=None, type=int, help="The store (location id).")
@click.option("--key", default=None, help="Idempotency key: the same key again redeems nothing new.")
@click.pass_context
def checkout_redeem(
    ctx: click.Context,
    customer_id: int,
    retailer: str,
    program_id: int,
    free_item_id: int,
    location_id: int | None,
    key: str | None,
) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer import checkout as core

    rt = _runtime(ctx)
    try:
        done = core.redeem(
            rt,
            _actor(),
            customer_id,
            program_id=program_id,
            free_item_id=free_item_id,
            location_id=location_id,
            idempotency_key=key,
            retailer_id=_retailer_id(rt, retailer),
        )
    except core.RedemptionDenied as exc:
        click.echo(f"not redeemed: {exc.reason}: {exc.detail}; nothing was recorded", err=True)
        sys.exit(1)
    except ConnectorError as exc:
        raise fail(exc) from exc
    again = " (already redeemed with this key; nothing new)" if done.replayed else ""
    click.echo(
        f"redeemed {done.quantity} x {done.description} ({done.program_name}): redemption {done.redemption_id}, "
        f"{done.status}{again}"
    )
