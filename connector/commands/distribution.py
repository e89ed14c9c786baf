"""``connector distribution``: the Distributor Portal from the shell (sections, batch moves, reports).

With ``--distributor ID`` a command acts as that distributor (its scope is checked exactly
as for a distributor user: another distributor's free goods are "not found"); without it,
the operator acts as a platform admin. Every move is recorded as ``cli:<user>``.
"""

from __future__ import annotations

import getpass
import sys
from datetime import date
from typing import Any

import click

from connector.commands import error_text

_SECTIONS = [
    "unbatched-free-goods",
    "unfulfilled-batches",
    "fulfilled-batches",
    "batches-grouped-for-mfg-credit",
    "declined-held-credits",
]
_REPORTS = [
    "participating-retailers",
    "account-number-changes",
    "enrolled-programs",
    "associated-programs",
    "free-goods-fulfillment",
    "free-goods-fulfillment-history",
    "search-free-goods-fulfillment",
    "search-rebate-fulfillment",
    "rebate-credit-fulfillment",
]
_DISTRIBUTOR = click.option(
    "--distributor", "distributor_id", type=int, default=None, help="Act as this distributor (id); default: admin."
)


def _actor(distributor_id: int | None) -> Any:
    from connector.core.access import Actor
    from connector.core.model import Role

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = "operator"
    if distributor_id is not None:
        return Actor(f"cli:{user}", Role.DISTRIBUTOR, distributor_id=distributor_id)
    return Actor(f"cli:{user}", Role.PLATFORM_ADMIN)


def _runtime() -> Any:
    from connector.bootstrap import build_runtime

    return build_runtime(start_jobs=False)


def _run(call: Any) -> Any:
    from connector.core.errors import ConnectorError

    try:
        return call()
    except ConnectorError as exc:
        detail = getattr(exc, "details", None) or {}
        text = error_text(exc) + (f" (current: {detail['current']})" if "current" in detail else "")
        raise click.ClickException(text) from exc


def _money(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


@click.group(help="Distributor free-goods fulfilment: the five sections, batch moves and reports.")
def distribution() -> None:
    pass


@distribution.command("sections", help="How many items each of the five sections holds.")
@_DISTRIBUTOR
def sections_cmd(distributor_id: int | None) -> None:
    from connector.core.frequent_buyer import distribution as core

    counts = _run(lambda: core.section_counts(_runtime(), _actor(distributor_id)))
    for section, n in counts.items():
        click.echo(f"{core.SECTION_TITLES[section]}\t{n}")


@distribution.command("list", help="List one section (newest first).")
@click.argument("section", type=click.Choice(_SECTIONS))
@_DISTRIBUTOR
@click.option("--retailer", "retailer_id", type=int, default=None)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
def list_cmd(section: str, distributor_id: int | None, retailer_id: int | None, limit: int) -> None:
    from connector.core.frequent_buyer import distribution as core

    f = core.DistributionFilter(retailer_id=retailer_id)
    page = _run(lambda: core.section(_runtime(), _actor(distributor_id), section, f, limit=limit))
    click.echo(f"{page.title}: {page.count}")
    for g in page.free_goods:
        click.echo(
            f"{g.id}\t{g.status}\t{g.redeemed_on}\t{g.retailer_name}\t{g.sku}\t{g.quantity}\t"
            f"{_money(g.approximate_cost)}\t{g.reason or ''}"
        )
    for b in page.batches:
        click.echo(
            f"{b.id}\t{b.status}\t{b.retailer_name}\t{b.description}\t{b.free_goods} free goods\t"
            f"{_money(b.approximate_cost)}"
        )


@distribution.command("batch", help="Roll unbatched free goods of one retailer into a new unfulfilled batch.")
@click.option("--distributor", "distributor_id", type=int, required=True, help="The distributor (id).")
@click.option("--retailer", "retailer_id", type=int, required=True, help="The retailer the free goods belong to.")
@click.option("--description", required=True, help="The Batch Description.")
@click.argument("free_good_ids", nargs=-1, type=int, required=True)
def batch_cmd(distributor_id: int, retailer_id: int, description: str, free_good_ids: tuple[int, ...]) -> None:
    from connector.core.frequent_buyer import distribution as core

    view = _run(
        lambda: core.create_batch(
            _runtime(), _actor(distributor_id), list(free_good_ids), description, retailer_id=retailer_id
        )
    )
    click.echo(f"batch {view.id} ({view.description}): {view.free_goods} free goods, unfulfilled")


@distribution.command("add", help="Add unbatched free goods to an unfulfilled batch.")
@click.argument("batch_id", type=int)
@click.argument("free_good_ids", nargs=-1, type=int, required=True)
@_DISTRIBUTOR
def add_cmd(batch_id: int, free_good_ids: tuple[int, ...], distributor_id: int | None) -> None:
    from connector.core.frequent_buyer import distribution as core

    view = _run(lambda: core.add_to_batch(_runtime(), _actor(distributor_id), batch_id, list(free_good_ids)))
    click.echo(f"batch {view.id}: {view.free_goods} free goods")


@distribution.command("fulfil", help="Mark an unfulfilled batch fulfilled/credited.")
@click.argument("batch_id", type=int)
@click.option("--note", default="", help="Shown on the batch's timeline.")
@click.option("--memo-number", default=None, help="The credit memo's number (give it with --memo-amount).")
@click.option("--memo-amount", default=None, help="The credit memo's total in dollars, like 125.00.")
@_DISTRIBUTOR
def fulfil_cmd(
    batch_id: int, note: str, memo_number: str | None, memo_amount: str | None, distributor_id: int | None
) -> None:
    from connector.core.frequent_buyer import distribution as core

    view = _run(
        lambda: core.mark_batch_fulfilled(
            _runtime(),
            _actor(distributor_id),
            batch_id,
            note,
            credit_memo_number=memo_number,
            credit_memo_amount=memo_amount,
        )
    )
    memo = (
        f"; credit memo {view.credit_memo_number} for ${_money(view.credit_memo_amount)}"
        if view.credit_memo_number
        else ""
    )
    click.echo(f"batch {view.id} fulfilled: {view.free_goods} free goods credited{memo}")


def _retailer_actor(retailer_id: int | None) -> Any:
    from connector.core.access import Actor
    from connector.core.model import Role

    if retailer_id is None:
        return _actor(None)
    return Actor(_actor(None).name, Role.RETAILER, retailer_id=retailer_id)


_RETAILER = click.option(
    "--retailer", "retailer_id", type=int, default=None, help="Act as this retailer (id); default: admin."
)


@distribution.command("memo-check", help="Does a credited batch's credit memo match it? (the retailer's view)")
@click.argument("batch_id", type=int)
@_RETAILER
def memo_check_cmd(batch_id: int, retailer_id: int | None) -> None:
    from connector.core.frequent_buyer import credit_status

    check = _run(lambda: credit_status.memo_check(_runtime(), _retailer_actor(retailer_id), batch_id))
    click.echo(f"batch {batch_id}: credit memo {check.status}")
    for line in check.mismatches:
        click.echo(f"  {line}")


@distribution.command("reconcile", help="Reconcile a credited batch against its credit memo (the retailer's act).")
@click.argument("batch_id", type=int)
@click.option("--note", default="", help="Shown on the batch's timeline.")
@click.option(
    "--confirm-mismatch",
    is_flag=True,
    help="Reconcile although the batch's credit memo DOES NOT MATCH (without it such a batch is refused).",
)
@_RETAILER
def reconcile_cmd(batch_id: int, note: str, confirm_mismatch: bool, retailer_id: int | None) -> None:
    from connector.core.frequent_buyer import credit_status

    view = _run(
        lambda: credit_status.reconcile_batch(
            _runtime(), _retailer_actor(retailer_id), batch_id, note, confirm=confirm_mismatch
        )
    )
    click.echo(f"batch {view.id} reconciled: {view.free_goods} free goods")


@distribution.command("group", help="Group fulfilled batches for manufacturer credit.")
@click.option("--description", required=True)
@click.argument("batch_ids", nargs=-1, type=int, required=True)
@_DISTRIBUTOR
def group_cmd(description: str, batch_ids: tuple[int, ...], distributor_id: int | None) -> None:
    from connector.core.frequent_buyer import distribution as core

    group = _run(lambda: core.group_for_mfg_credit(_runtime(), _actor(distributor_id), list(batch_ids), description))
    click.echo(f"credit group {group.id} ({group.description}): batches {', '.join(map(str, group.batch_ids))}")


def _move(name: str, needs_reason: bool) -> None:
    help_text = {
        "unbatch": "Take batched or credited free goods out of their batches (a fulfilled batch: until it is "
        "reconciled or grouped).",
        "decline": "Decline unbatched, batched or credited free goods (credited: until their batch is reconciled or "
        "grouped; a reason is required).",
        "hold": "Hold unbatched or batched free goods (a reason is required).",
        "release": "Release held or declined free goods back to unbatched.",
    }[name]

    @distribution.command(name, help=help_text)
    @click.argument("free_good_ids", nargs=-1, type=int, required=True)
    @click.option(
        "--reason", help="Why (shown to the retailer).", **({"required": True} if needs_reason else {"default": ""})
    )
    @_DISTRIBUTOR
    def command(free_good_ids: tuple[int, ...], reason: str, distributor_id: int | None) -> None:
        from connector.core.frequent_buyer import distribution as core

        move = getattr(core, name)
        moved = _run(lambda: move(_runtime(), _actor(distributor_id), list(free_good_ids), reason))
        click.echo(f"{moved.event}: free goods {', '.join(map(str, moved.free_good_ids))} are now {moved.to_status}")


for _name, _needs in (("unbatch", False), ("decline", True), ("hold", True), ("release", False)):
    _move(_name, _needs)


@distribution.command("report", help="Print a Distributor Portal report (tab-separated, or CSV with --csv).")
@click.argument("name", type=click.Choice(_REPORTS))
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV (formula-safe) instead of tab-separated text.")
@_DISTRIBUTOR
@click.option("--retailer", "retailer_id", type=int, default=None)
@click.option("--brand", "brand_id", type=int, default=None)
@click.option("--program", "program_id", type=int, default=None)
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--customer", default=None, help="Search: customer name, email or phone.")
@click.option("--item", default=None, help="Search: SKU, UPC or description.")
@click.option("--batch", "batch_id", type=int, default=None, help="Search: batch id.")
@click.option("--status", default=None)
def report_cmd(
    name: str,
    as_csv: bool,
    distributor_id: int | None,
    retailer_id: int | None,
    brand_id: int | None,
    program_id: int | None,
    date_from: Any,
    date_to: Any,
    customer: str | None,
    item: str | None,
    batch_id: int | None,
    status: str | None,
) -> None:
    from connector.core.frequent_buyer import distribution_reports as reports

    params = reports.ReportParams(
        retailer_id=retailer_id,
        brand_id=brand_id,
        program_id=program_id,
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
        customer=customer,
        item=item,
        batch_id=batch_id,
        status=status,
    )
    rt, actor = _runtime(), _actor(distributor_id)
    if as_csv:
        for line in _run(lambda: reports.report_csv(rt, actor, name, params)):
            sys.stdout.write(line)
        return
    spec = reports.REPORTS[reports.ReportName(name)]
    click.echo("\t".join(c.title for c in spec.columns))
    cursor = None
    while True:
        page = _run(lambda c=cursor: reports.run_report(rt, actor, name, params, limit=500, cursor=c))
        for row in page.rows:
            click.echo("\t".join(_text(row.get(c.key)) for c in spec.columns))
        cursor = page.next_cursor
        if cursor is None:
            return


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\t", " ").replace("\n", " ")


# -- the brand (manufacturer) side ------------------------------------------------------------------------------


def _brand_actor(brand_id: int | None) -> Any:
    from connector.core.access import Actor
    from connector.core.model import Role

    if brand_id is None:
        return _actor(None)
    return Actor(_actor(None).name, Role.BRAND_ADMIN, brand_id=brand_id)


@distribution.command("brand", help="Direct/retailer-fulfilled free goods of a brand, and its MFG credit groups.")
@click.option("--brand", "brand_id", type=int, default=None, help="The brand (id); default: every brand.")
@click.option("--section", default="owed", type=click.Choice(["owed", "credited", "declined-held"]))
@click.option("--fulfilment-type", default=None, type=click.Choice(["direct", "retailer"]))
@click.option("--limit", default=100, type=click.IntRange(1, 500))
def brand_cmd(brand_id: int | None, section: str, fulfilment_type: str | None, limit: int) -> None:
    from connector.core.frequent_buyer import brand_fulfilment as core

    view = _run(
        lambda: core.brand_fulfilment(
            _runtime(), _actor(None), brand_id=brand_id, section=section, fulfilment_type=fulfilment_type, limit=limit
        )
    )
    for s, c in view.counts.items():
        cost = f", approx. ${_money(c.approximate_cost)}" if c.approximate_cost is not None else ""
        click.echo(f"{core.SECTION_TITLES[s]}: {c.free_goods} free goods, quantity {c.quantity}{cost}")
    click.echo(f"-- {core.SECTION_TITLES[view.section]} (newest first)")
    for g in view.free_goods:
        click.echo(
            f"{g.id}\t{g.retailer_name}\t{g.program_name}\t{g.sku}\tx{g.quantity}\t{g.redeemed_on}\t"
            f"{_money(g.approximate_cost)}"
        )
    if view.more:
        click.echo(f"... more than {limit}; raise --limit")
    click.echo("-- Batches Grouped for MFG Credit")
    for grp in view.mfg_groups:
        batches = ", ".join(str(b.id) for b in grp.batches)
        click.echo(
            f"group {grp.id}\t{grp.distributor_name}\t{grp.description}\tbatches {batches}\t"
            f"{grp.free_goods} free goods\t{_money(grp.approximate_cost)}"
        )


@distribution.command("brand-credit", help="Mark owed direct/retailer-fulfilled free goods credited (manufacturer).")
@click.argument("free_good_ids", nargs=-1, type=int, required=True)
@click.option("--note", default="", help="Shown on each free good's timeline (e.g. the payment reference).")
@click.option("--as-brand", "brand_id", type=int, default=None, help="Act as this brand's admin (id); default: admin.")
def brand_credit_cmd(free_good_ids: tuple[int, ...], note: str, brand_id: int | None) -> None:
    from connector.core.frequent_buyer import brand_fulfilment as core

    ids = _run(lambda: core.mark_direct_credited(_runtime(), _brand_actor(brand_id), list(free_good_ids), note))
    click.echo(f"credited {len(ids)} free good{'s' if len(ids) != 1 else ''}: {', '.join(map(str, ids))}")
