"""``connector rebates``: the Rebates Dashboard and Distributor Rebate Credit Batches from the shell.

Like ``connector distribution``: with ``--distributor ID`` a command acts as that distributor (another
distributor's rebates are "not found"), without it as a platform admin; ``batches --retailer ID`` shows a
retailer's Distributor Rebate Credit Batches as the retailer sees them. Every move is recorded as
``cli:<user>``. The two rebate reports are ``connector distribution report search-rebate-fulfillment`` and
``... rebate-credit-fulfillment``.
"""

from __future__ import annotations

from typing import Any

import click

from connector.commands.distribution import _DISTRIBUTOR, _actor, _money, _run

_SECTIONS = ["unbatched-rebates", "unfulfilled-batches", "fulfilled-batches", "declined-rebates"]


def _runtime(ctx: click.Context) -> Any:
    from connector.core.runtime import Runtime

    if isinstance(ctx.obj, Runtime):
        return ctx.obj
    from connector.bootstrap import build_runtime

    return build_runtime(start_jobs=False)


@click.group(help="Rebates (dollars-off redemptions) credited through distributors: sections and batch moves.")
def rebates() -> None:
    pass


@rebates.command("sections", help="How many items each section of the Rebates Dashboard holds.")
@_DISTRIBUTOR
@click.pass_context
def sections_cmd(ctx: click.Context, distributor_id: int | None) -> None:
    from connector.core.frequent_buyer import rebates as core

    counts = _run(lambda: core.rebate_section_counts(_runtime(ctx), _actor(distributor_id)))
    for section, n in counts.items():
        click.echo(f"{core.REBATE_SECTION_TITLES[section]}\t{n}")


@rebates.command("list", help="List one section of the Rebates Dashboard (newest first).")
@click.argument("section", type=click.Choice(_SECTIONS))
@_DISTRIBUTOR
@click.option("--retailer", "retailer_id", type=int, default=None)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.pass_context
def list_cmd(ctx: click.Context, section: str, distributor_id: int | None, retailer_id: int | None, limit: int) -> None:
    from connector.core.frequent_buyer import rebates as core
    from connector.core.frequent_buyer.distribution import DistributionFilter

    f = DistributionFilter(retailer_id=retailer_id)
    page = _run(lambda: core.rebate_section(_runtime(ctx), _actor(distributor_id), section, f, limit=limit))
    click.echo(f"{page.title}: {page.count}")
    for r in page.rebates:
        click.echo(
            f"{r.id}\t{r.status}\t{r.redeemed_on}\t{r.retailer_name}\t{r.sku}\t{_money(r.amount)}\t{r.reason or ''}"
        )
    for b in page.batches:
        click.echo(f"{b.id}\t{b.status}\t{b.retailer_name}\t{b.description}\t{b.rebates} rebates\t{_money(b.amount)}")


@rebates.command("batch", help="Roll unbatched rebates of one retailer into a new Distributor Rebate Credit Batch.")
@click.option("--distributor", "distributor_id", type=int, required=True, help="The distributor (id).")
@click.option("--retailer", "retailer_id", type=int, required=True, help="The retailer the rebates belong to.")
@click.option("--description", required=True, help="The batch description.")
@click.argument("rebate_ids", nargs=-1, type=int, required=True)
@click.pass_context
def batch_cmd(
    ctx: click.Context, distributor_id: int, retailer_id: int, description: str, rebate_ids: tuple[int, ...]
) -> None:
    from connector.core.frequent_buyer import rebates as core

    view = _run(
        lambda: core.create_rebate_batch(
            _runtime(ctx), _actor(distributor_id), list(rebate_ids), description, retailer_id=retailer_id
        )
    )
    click.echo(
        f"rebate batch {view.id} ({view.description}): {view.rebates} rebates, {_money(view.amount)}, unfulfilled"
    )


@rebates.command("credit", help="Mark an unfulfilled rebate credit batch credited.")
@click.argument("batch_id", type=int)
@click.option("--note", default="", help="Shown on the batch's timeline (e.g. the credit memo number).")
@_DISTRIBUTOR
@click.pass_context
def credit_cmd(ctx: click.Context, batch_id: int, note: str, distributor_id: int | None) -> None:
    from connector.core.frequent_buyer import rebates as core

    view = _run(lambda: core.mark_rebate_batch_credited(_runtime(ctx), _actor(distributor_id), batch_id, note))
    click.echo(f"rebate batch {view.id} credited: {view.rebates} rebates, {_money(view.amount)}")


@rebates.command("decline", help="Decline unbatched or batched rebates (a reason is required; the retailer sees it).")
@click.argument("rebate_ids", nargs=-1, type=int, required=True)
@click.option("--reason", required=True, help="Why (shown to the retailer).")
@_DISTRIBUTOR
@click.pass_context
def decline_cmd(ctx: click.Context, rebate_ids: tuple[int, ...], reason: str, distributor_id: int | None) -> None:
    from connector.core.frequent_buyer import rebates as core

    moved = _run(lambda: core.decline_rebates(_runtime(ctx), _actor(distributor_id), list(rebate_ids), reason))
    click.echo(f"decline: rebates {', '.join(map(str, moved.rebate_ids))} are now {moved.to_status}")


def _plain_move(name: str, help_text: str) -> None:
    @rebates.command(name, help=help_text)
    @click.argument("rebate_ids", nargs=-1, type=int, required=True)
    @_DISTRIBUTOR
    @click.pass_context
    def command(ctx: click.Context, rebate_ids: tuple[int, ...], distributor_id: int | None) -> None:
        from connector.core.frequent_buyer import rebates as core

        move = getattr(core, f"{name}_rebates")
        moved = _run(lambda: move(_runtime(ctx), _actor(distributor_id), list(rebate_ids)))
        click.echo(f"{moved.event}: rebates {', '.join(map(str, moved.rebate_ids))} are now {moved.to_status}")


_plain_move("unbatch", "Take rebates out of their unfulfilled batch, back to unbatched.")
_plain_move("release", "Release declined rebates back to unbatched.")


@rebates.command("batches", help="Distributor Rebate Credit Batches (newest first), as a distributor or a retailer.")
@_DISTRIBUTOR
@click.option("--retailer", "retailer_id", type=int, default=None, help="As this retailer (id) sees them.")
@click.pass_context
def batches_cmd(ctx: click.Context, distributor_id: int | None, retailer_id: int | None) -> None:
    from connector.core.access import Actor
    from connector.core.frequent_buyer import rebates as core
    from connector.core.model import Role

    actor = _actor(distributor_id)
    if retailer_id is not None:
        actor = Actor(actor.name, Role.RETAILER, retailer_id=retailer_id)
    for b in _run(lambda: core.retailer_rebate_batches(_runtime(ctx), actor)):
        credited = f"credited {b.credited_at:%Y-%m-%d}" if b.credited_at else "not yet credited"
        click.echo(
            f"{b.id}\t{b.status}\t{b.distributor_name}\t{b.retailer_name}\t{b.description}\t{b.rebates} rebates\t"
            f"{_money(b.amount)}\t{credited}"
        )
