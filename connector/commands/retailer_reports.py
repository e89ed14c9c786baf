"""``connector reports``: a retailer's Frequent Buyer Participation, its details, Redemption by Date and the
transaction export, from the shell (the same core read model as the console and the API).

Runs as the platform (``cli``), so ``--retailer`` (slug or id) is required. Output is tab-separated text,
or ``--json``; the export writes CSV to stdout or ``--output``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from connector.commands import fail
from connector.commands.frequent_buyer import _actor, _runtime


def _filters(rt: Any, retailer: str, brand_id: int | None, location_id: int | None, since: Any, until: Any) -> Any:
    from connector.core.frequent_buyer.programs import find_retailer
    from connector.core.frequent_buyer.retailer_reports import ReportFilters

    with rt.sessions() as s:
        retailer_id = find_retailer(s, retailer).id
    day = lambda v: v.date() if v is not None else None  # noqa: E731
    return ReportFilters(retailer_id, brand_id, location_id, day(since), day(until))


def _options(f: Any) -> Any:
    for option in reversed(
        [
            click.option("--retailer", required=True, help="Retailer slug or id."),
            click.option("--brand-id", type=int, default=None, help="Only this manufacturer (brand id)."),
            click.option("--location-id", type=int, default=None, help="Only this store location (id)."),
            click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="YYYY-MM-DD"),
            click.option("--to", "until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="YYYY-MM-DD"),
        ]
    ):
        f = option(f)
    return f


def _cell(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else "" if value is None else str(value)


@click.group(help="A retailer's reports: Frequent Buyer Participation, Redemption by Date, the transaction export.")
def reports() -> None:
    pass


@reports.command("participation", help="Frequent Buyer Participation per manufacturer and program.")
@_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def participation_cmd(ctx: click.Context, as_json: bool, **filters: Any) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.retailer_reports import participation

    rt = _runtime(ctx)
    try:
        report = participation(rt, _actor(), _filters(rt, **filters))
    except ConnectorError as exc:
        raise fail(exc) from exc
    keys = ("unique_customers", "cards_punched", "items_sold", "rewards_earned", "rewards_redeemed")
    rows = [*report.rows, report.total]
    if as_json:
        out = [
            {"brand": r.brand_name, "program_id": r.program_id, "program": r.program_name}
            | {k: getattr(r, k) for k in keys}
            for r in rows
        ]
        click.echo(json.dumps(out, indent=2))
        return
    click.echo("manufacturer\tprogram\tunique customers\tcards punched\titems sold\trewards earned\trewards redeemed")
    for r in rows:
        click.echo("\t".join([r.brand_name, r.program_name, *(str(getattr(r, k)) for k in keys)]))


@reports.command("detail", help="What one participation number counts: customers, cards, items, earned, redeemed.")
@click.argument("metric", type=click.Choice(["customers", "cards", "items", "earned", "redeemed"]))
@_options
@click.option("--program-id", type=int, default=None, help="Only this program's row.")
@click.pass_context
def detail_cmd(ctx: click.Context, metric: str, program_id: int | None, **filters: Any) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.retailer_reports import participation_detail

    rt = _runtime(ctx)
    try:
        table = participation_detail(rt, _actor(), _filters(rt, **filters), metric, program_id=program_id)
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo("\t".join(label for _, label in table.columns))
    for row in table.rows:
        click.echo("\t".join(_cell(row.get(k)) for k, _ in table.columns))


@reports.command("redemptions", help="Redemption by Date: every redemption in the range, denials with their reason.")
@_options
@click.pass_context
def redemptions_cmd(ctx: click.Context, **filters: Any) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.retailer_reports import redemptions_by_date

    rt = _runtime(ctx)
    try:
        found = redemptions_by_date(rt, _actor(), _filters(rt, **filters))
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo("redeemed\tcard\tlocation\tcustomer\tmanufacturer\tprogram\tfree goods\tqty\tstatus\tdenial")
    for x in found.lines:
        click.echo(
            f"{x.redeemed_on}\t{x.card}\t{x.location}\t{x.customer}\t{x.brand}\t{x.program}\t{x.free_goods}\t"
            f"{x.quantity}\t{x.status}\t{x.denial}"
        )
    if found.truncated:
        click.echo(f"only the first {len(found.lines)} are listed: narrow the range with --from/--to", err=True)


@reports.command("transactions", help="The transaction export (CSV) for comparing with the POS day by day.")
@_options
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File (default stdout).")
@click.pass_context
def transactions_cmd(ctx: click.Context, output: Path | None, **filters: Any) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.retailer_reports import transaction_export

    rt = _runtime(ctx)
    try:
        lines = transaction_export(rt, _actor(), _filters(rt, **filters))
    except ConnectorError as exc:
        raise fail(exc) from exc
    if output is None:
        for line in lines:
            click.echo(line, nl=False)
        return
    with output.open("w", encoding="utf-8", newline="") as fh:
        count = sum(fh.write(line) > 0 for line in lines) - 1
    click.echo(f"wrote {count} lines to {output}")


# -- connector notices -----------------------------------------------------------------------------------


@click.group(help="Frequent-buyer email notices: send what is owed now, switch a user's notices on or off.")
def notices() -> None:
    pass


@notices.command("send", help="Write and send every notice owed now (the sweep does this every minute).")
@click.pass_context
def notices_send(ctx: click.Context) -> None:
    from connector.core.frequent_buyer.notices import run_notices

    run = run_notices(_runtime(ctx))
    click.echo(f"notices: {run.written} written, {run.sent} sent, {run.failed} could not be sent (tried again later)")


@notices.command("set", help="Switch a user's notices: --on KIND / --off KIND (denials, credited, new_rewards_digest).")
@click.option("--user", "email", required=True, help="The user's email.")
@click.option("--on", "on", multiple=True, help="A kind to switch on (repeatable).")
@click.option("--off", "off", multiple=True, help="A kind to switch off (repeatable).")
@click.pass_context
def notices_set(ctx: click.Context, email: str, on: tuple[str, ...], off: tuple[str, ...]) -> None:
    from sqlalchemy import select

    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.notices import set_notice_preferences
    from connector.core.tables import User

    rt = _runtime(ctx)
    with rt.sessions() as s:
        user_id = s.scalar(select(User.id).where(User.email == email.strip().lower()))
    if user_id is None:
        raise click.ClickException(f"no user with the email {email!r}")
    try:
        prefs = set_notice_preferences(rt, _actor(), user_id, {**{k: True for k in on}, **{k: False for k in off}})
    except ConnectorError as exc:
        raise fail(exc) from exc
    for p in prefs.preferences:
        click.echo(f"{p.kind.value}\t{'on' if p.enabled else 'off'}\t{p.label}")
