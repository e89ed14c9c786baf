"""``connector fb`` self-service commands: a store's account numbers and distributor, a distributor's own
programs and service area (the same use cases as the console and the API).

Without ``--as-retailer`` / ``--as-distributor`` the operator acts as the platform (``cli``); with one, the
command acts as that retailer or distributor user, so its scope is checked exactly as in the console:
another retailer's enrollment or another distributor is "not found" and nothing changes.

The commands are added to ``fb`` when this module is imported (``connector.cli`` does), which is why it
re-exports ``fb``.
"""

from __future__ import annotations

from typing import Any

import click

from connector.commands import fail
from connector.commands.frequent_buyer import _csv_option, _program_id, _runtime, fb

__all__ = ["fb"]

_AS_RETAILER = click.option("--as-retailer", type=int, default=None, help="Act as this retailer's user (id).")
_AS_DISTRIBUTOR = click.option("--as-distributor", type=int, default=None, help="Act as this distributor's user (id).")


def _actor(retailer_id: int | None = None, distributor_id: int | None = None) -> Any:
    from connector.core.access import Actor
    from connector.core.model import Role

    if retailer_id is not None and distributor_id is not None:
        raise click.UsageError("give --as-retailer or --as-distributor, not both")
    if retailer_id is not None:
        return Actor("cli", Role.RETAILER, retailer_id=retailer_id)
    if distributor_id is not None:
        return Actor("cli", Role.DISTRIBUTOR, distributor_id=distributor_id)
    return Actor.system("cli")


def _enrollment_line(e: Any) -> str:
    who = f"with {e.distributor_name}" if e.distributor_name else f"({e.fulfilment_type}-fulfilled)"
    account = f", account {e.account_number}" if e.account_number else ", no account number"
    return f"enrollment {e.id}: {e.retailer_name} in {e.program_name} {who}{account if e.distributor_id else ''}"


@fb.command("change-distributor", help="Choose another distributor for an enrollment (checked like enrolling).")
@click.argument("enrollment_id", type=int)
@click.option("--distributor", required=True, help="Distributor slug or id.")
@click.option("--account-number", default=None, help="The store's account number with the new distributor.")
@_AS_RETAILER
@click.pass_context
def fb_change_distributor(
    ctx: click.Context, enrollment_id: int, distributor: str, account_number: str | None, as_retailer: int | None
) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.programs import change_distributor, find_distributor

    rt = _runtime(ctx)
    try:
        with rt.sessions() as s:
            distributor_id = find_distributor(s, distributor).id
        e = change_distributor(rt, _actor(as_retailer), enrollment_id, distributor_id, account_number)
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo(_enrollment_line(e))


@fb.command("account-number", help="Set an enrollment's account number with its distributor ('' clears it).")
@click.argument("enrollment_id", type=int)
@click.argument("account_number")
@_AS_RETAILER
@click.pass_context
def fb_account_number(ctx: click.Context, enrollment_id: int, account_number: str, as_retailer: int | None) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.programs import set_account_number

    try:
        e = set_account_number(_runtime(ctx), _actor(as_retailer), enrollment_id, account_number)
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo(_enrollment_line(e))


@fb.command("account-number-changes", help="List account number changes (tab-separated), oldest first.")
@click.option("--enrollment", "enrollment_id", type=int, default=None, help="Only this enrollment.")
@_AS_RETAILER
@_AS_DISTRIBUTOR
@click.pass_context
def fb_account_number_changes(
    ctx: click.Context, enrollment_id: int | None, as_retailer: int | None, as_distributor: int | None
) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.programs import list_account_number_changes

    try:
        changes = list_account_number_changes(
            _runtime(ctx), _actor(as_retailer, as_distributor), enrollment_id=enrollment_id
        )
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo("changed_at\tretailer\tprogram\tdistributor\told\tnew\tchanged_by")
    for c in changes:
        click.echo(
            f"{c.changed_at:%Y-%m-%d %H:%M}\t{c.retailer_name}\t{c.program_name}\t{c.distributor_name or ''}\t"
            f"{c.old_account_number or ''}\t{c.new_account_number or ''}\t{c.changed_by}"
        )


@fb.command("distributor-programs", help="Choose every program a distributor is an option for (replaces the list).")
@click.argument("distributor")
@click.option("--program", "program_refs", multiple=True, help="Program id or code; repeat per program.")
@click.option("--brand", default=None, help="Brand slug, when two brands share a program code.")
@_AS_DISTRIBUTOR
@click.pass_context
def fb_distributor_programs(
    ctx: click.Context, distributor: str, program_refs: tuple[str, ...], brand: str | None, as_distributor: int | None
) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.programs import find_distributor, set_associated_programs

    rt = _runtime(ctx)
    try:
        with rt.sessions() as s:
            distributor_id = find_distributor(s, distributor).id
            program_ids = [_program_id(s, ref, brand) for ref in program_refs]
        d = set_associated_programs(rt, _actor(None, as_distributor), distributor_id, program_ids)
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo(f"distributor {d.id}: {d.name}; programs {list(d.program_ids)}")


@fb.command("service-area", help="Replace a distributor's service area (states and/or ZIP prefixes).")
@click.argument("distributor")
@click.option("--states", default="", help="Comma-separated states served, like WA,OR.")
@click.option("--zips", default="", help="Comma-separated ZIP prefixes served, like 980,981.")
@_AS_DISTRIBUTOR
@click.pass_context
def fb_service_area(ctx: click.Context, distributor: str, states: str, zips: str, as_distributor: int | None) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.programs import find_distributor, set_service_area

    rt = _runtime(ctx)
    try:
        with rt.sessions() as s:
            distributor_id = find_distributor(s, distributor).id
        d = set_service_area(
            rt,
            _actor(None, as_distributor),
            distributor_id,
            service_states=_csv_option(states),
            service_zip_prefixes=_csv_option(zips),
        )
    except ConnectorError as exc:
        raise fail(exc) from exc
    area = ", ".join([*d.service_states, *(f"{z}*" for z in d.service_zip_prefixes)])
    click.echo(f"distributor {d.id}: {d.name}; serves {area}")
