"""``connector pos`` (import POS reports, watch their status) and ``connector fb`` (set a demo world up).

Both groups run as the platform (``cli``): whoever holds the shell holds the database anyway.
Errors print the use case's message with each field and its fix, and exit non-zero; a
rejected report prints every problem with its row and column and exits 1. Tests pass a
``Runtime`` as the click context object; otherwise one is built from the environment.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
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


def _csv_option(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


# -- connector pos ---------------------------------------------------------------------------------------


@click.group(help="POS redemption reports: import them, watch their status, approve quality checks.")
def pos() -> None:
    pass


def _print_summary(summary: Any, retailer: str) -> None:
    what = f"{summary.filename} ({summary.cards} cards, {summary.row_count} rows) for {retailer}"
    if summary.duplicate_of is not None:
        click.echo(f"already imported as report {summary.duplicate_of}: {what}; nothing imported again")
    elif summary.dry_run:
        click.echo(f"dry run of {what}: nothing was stored")
    else:
        click.echo(f"imported report {summary.report_id}: {what}")
    click.echo(
        f"  cards: {summary.imported} new, {summary.replaced} replaced a denial, "
        f"{summary.already_imported} already imported (skipped)"
    )
    from connector.core.frequent_buyer.model import denial_label

    reasons = ", ".join(f"{denial_label(k)}: {v}" for k, v in sorted(summary.denied_by_reason.items()))
    click.echo(
        f"  processed {summary.processed}, quality check {summary.quality_check}, denied {summary.denied}"
        + (f" ({reasons})" if reasons else "")
    )
    click.echo(
        f"  customers: {summary.customers_created} created, {summary.customers_matched} matched; "
        f"free goods: {summary.free_goods_created}"
    )
    for d in summary.denials:
        rows = ", ".join(map(str, d.rows)) or "?"
        click.echo(f"  denied {d.pos_key} (rows {rows}): {denial_label(d.reason)}: {d.detail}")
    if summary.denied > len(summary.denials):
        click.echo(f"  ... and {summary.denied - len(summary.denials)} more denials (see `connector pos status`)")


@pos.command("import", help="Import a POS redemption report for a retailer: all cards or none.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--retailer", required=True, help="Retailer slug or id.")
@click.option("--format", "format_name", default="darts-bxgy", show_default=True, help="Report format (a plugin's).")
@click.option("--dry-run", is_flag=True, help="Check and count everything; store nothing.")
@click.pass_context
def pos_import(ctx: click.Context, path: Path, retailer: str, format_name: str, dry_run: bool) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.pos_ingest import upload_pos_report
    from connector.core.frequent_buyer.pos_types import PosReportRejected
    from connector.core.frequent_buyer.programs import find_retailer

    rt = _runtime(ctx)
    try:
        with rt.sessions() as s:
            found = find_retailer(s, retailer)
            retailer_id, retailer_name = found.id, found.name
        with path.open("rb") as stream:
            summary = upload_pos_report(rt, _actor(), retailer_id, format_name, stream, path.name, dry_run=dry_run)
    except PosReportRejected as exc:
        click.echo(exc.message, err=True)
        for problem in exc.problems:
            click.echo(f"  {problem.describe()}", err=True)
        sys.exit(1)
    except ConnectorError as exc:
        raise fail(exc) from exc
    _print_summary(summary, retailer_name)


@pos.command("status", help="The POS Reports Status Dashboard: each report's cards per status.")
@click.option("--retailer", default=None, help="Only this retailer (slug or id).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@click.pass_context
def pos_status(ctx: click.Context, retailer: str | None, limit: int) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.pos_dashboard import dashboard
    from connector.core.frequent_buyer.programs import find_retailer

    rt = _runtime(ctx)
    try:
        retailer_id = None
        if retailer:
            with rt.sessions() as s:
                retailer_id = find_retailer(s, retailer).id
        page = dashboard(rt, _actor(), retailer_id=retailer_id, limit=limit)
    except ConnectorError as exc:
        raise fail(exc) from exc
    if not page.reports:
        click.echo("no POS reports yet; import one with: connector pos import FILE --retailer SLUG")
        return
    click.echo("report\tretailer\tfile\tuploaded\tnew\tpending\tdenied\tquality_check\tprocessed\ttotal")
    for r in page.reports:
        c = r.counts
        click.echo(
            f"{r.id}\t{r.retailer_name}\t{r.filename}\t{r.uploaded_at:%Y-%m-%d %H:%M}\t"
            f"{c.new}\t{c.pending}\t{c.denied}\t{c.quality_check}\t{c.processed}\t{c.total}"
        )
    t = page.totals
    click.echo(f"total\t\t\t\t{t.new}\t{t.pending}\t{t.denied}\t{t.quality_check}\t{t.processed}\t{t.total}")


@pos.command("approve", help="Quality check passed: process a report's redemptions waiting in Quality Check.")
@click.option("--report", "report_id", required=True, type=int)
@click.pass_context
def pos_approve(ctx: click.Context, report_id: int) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.pos_ingest import approve_quality_check

    try:
        result = approve_quality_check(_runtime(ctx), _actor(), report_id=report_id)
    except ConnectorError as exc:
        raise fail(exc) from exc
    click.echo(f"processed {len(result.processed_ids)} redemptions; {result.free_goods_created} free goods created")


# -- connector fb ----------------------------------------------------------------------------------------


@click.group(help="Frequent-buyer setup: programs, retailers, distributors, enrollments.")
def fb() -> None:
    pass


@fb.group("programs", help="Buy X Get Y programs.")
def fb_programs() -> None:
    pass


_PROGRAM_KEYS = {
    "brand",
    "name",
    "code",
    "buy_quantity",
    "free_quantity",
    "fulfilment_type",
    "starts_on",
    "ends_on",
    "quality_check_required",
    "minimum_purchase_amount",
    "rebate_amount",
    "items",
}
_ITEM_KEYS = {"sku", "upc", "description", "size_value", "size_unit", "category"}


def _program_args(n: int, raw: Any) -> dict[str, Any]:
    """One program of the file as ``create_program`` arguments; ValueError says what is wrong where."""
    if not isinstance(raw, dict):
        raise ValueError(f"programs[{n}]: expected an object")
    unknown = set(raw) - _PROGRAM_KEYS
    if unknown:
        raise ValueError(
            f"programs[{n}]: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_PROGRAM_KEYS))}"
        )
    for key in ("brand", "name", "buy_quantity", "items"):
        if key not in raw:
            raise ValueError(f"programs[{n}]: missing {key!r}")
    args = {k: v for k, v in raw.items() if k not in {"brand", "items"}}
    for key in ("starts_on", "ends_on"):
        if args.get(key):
            try:
                args[key] = date.fromisoformat(str(args[key]))
            except ValueError:
                raise ValueError(f"programs[{n}].{key}: {args[key]!r} is not a date like 2026-01-31") from None
    items = []
    for m, item in enumerate(raw["items"] if isinstance(raw["items"], list) else []):
        if not isinstance(item, dict) or set(item) - _ITEM_KEYS:
            raise ValueError(f"programs[{n}].items[{m}]: expected an object with keys {', '.join(sorted(_ITEM_KEYS))}")
        items.append(item)
    args["items"] = items
    return args


@fb_programs.command("import", help="Create programs from a JSON file; existing brand+code pairs are skipped.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def fb_programs_import(ctx: click.Context, path: Path) -> None:
    """The file: ``{"programs": [{"brand": "acme", "name": ..., "code": ..., "buy_quantity": 10, "items": [...]}]}``.

    Keys are the API's (``POST /api/v1/programs``) with ``brand`` as a slug or name (created
    when new). Each program is created whole or not at all; the command exits 1 if any failed.
    """
    from sqlalchemy import func, select

    from connector.core import catalog
    from connector.core.database import transaction
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer import programs
    from connector.core.frequent_buyer.tables import Program
    from connector.core.tables import Brand

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise click.ClickException(f"{path} is not a UTF-8 JSON file: {exc}") from exc
    raw_programs = data.get("programs") if isinstance(data, dict) else data
    if not isinstance(raw_programs, list):
        raise click.ClickException(f'{path}: expected {{"programs": [...]}} or a list of programs')
    rt, actor = _runtime(ctx), _actor()
    failed = 0
    for n, raw in enumerate(raw_programs):
        try:
            args = _program_args(n, raw)
            with transaction(rt.sessions) as s:
                slug = catalog.slugify(str(raw["brand"]))
                brand = s.scalars(select(Brand).where(Brand.slug == slug)).first() or catalog.create_brand(
                    s, str(raw["brand"]), slug
                )
                brand_id = brand.id
                code = str(args.get("code") or args["name"]).strip()
                exists = s.scalar(
                    select(Program.id).where(Program.brand_id == brand_id, func.lower(Program.code) == code.lower())
                )
            if exists:
                click.echo(f"skipped {code!r} ({slug}): program {exists} already has this code")
                continue
            items = [programs.ItemSpec(**item) for item in args.pop("items")]
            program = programs.create_program(rt, actor, brand_id=brand_id, items=items, **args)
            click.echo(f"program {program.id}: {program.name} ({program.code}, {program.item_count} items, {slug})")
        except ValueError as exc:
            failed += 1
            click.echo(f"error: {exc}", err=True)
        except ConnectorError as exc:
            failed += 1
            click.echo(f"error: programs[{n}]: {fail(exc).message}", err=True)
    if failed:
        sys.exit(1)


@fb_programs.command("list", help="List programs.")
@click.pass_context
def fb_programs_list(ctx: click.Context) -> None:
    from connector.core.frequent_buyer.programs import list_programs

    for p in list_programs(_runtime(ctx), _actor()):
        dates = f"{p.starts_on or '-'}..{p.ends_on or '-'}"
        click.echo(
            f"{p.id}\t{p.code}\t{p.name}\t{p.brand_name}\tbuy {p.buy_quantity} get {p.free_quantity}\t"
            f"{p.fulfilment_type}\t{p.item_count} items\t{dates}\t"
            f"minimum purchase {'$' + str(p.minimum_purchase_amount) if p.minimum_purchase_amount is not None else '-'}"
        )


@fb_programs.command(
    "set-minimum",
    help="Set a program's minimum purchase in dollars (Insufficient Purchase Amount); 'none' removes it.",
)
@click.argument("program_id", type=int)
@click.argument("amount")
@click.pass_context
def fb_programs_set_minimum(ctx: click.Context, program_id: int, amount: str) -> None:
    """AMOUNT is dollars like 25.00 (checked against the store's price list), or ``none``."""
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.programs import set_minimum_purchase

    value = None if amount.strip().lower() in {"none", ""} else amount
    try:
        p = set_minimum_purchase(_runtime(ctx), _actor(), program_id, value)
    except ConnectorError as exc:
        raise click.ClickException(fail(exc).message) from exc
    shown = f"${p.minimum_purchase_amount}" if p.minimum_purchase_amount is not None else "none"
    click.echo(f"program {p.id} ({p.code}): minimum purchase {shown}")


def _location(text: str) -> Any:
    from connector.core.frequent_buyer.programs import LocationSpec

    parts = [p.strip() for p in text.split("|")]
    if len(parts) < 4:
        raise click.BadParameter(f"{text!r}: use STORE_CODE|NAME|STATE|ZIP[|ADDRESS|CITY]", param_hint="--location")
    code, name, state, zip_code, *rest = parts
    return LocationSpec(name, code, state, zip_code, rest[0] if rest else "", rest[1] if len(rest) > 1 else "")


@fb.command("retailer", help="Add a retailer with its store locations.")
@click.option("--name", required=True)
@click.option("--slug", default=None)
@click.option(
    "--location", "locations", multiple=True, help="STORE_CODE|NAME|STATE|ZIP[|ADDRESS|CITY]; repeat per store."
)
@click.pass_context
def fb_retailer(ctx: click.Context, name: str, slug: str | None, locations: tuple[str, ...]) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.programs import create_retailer

    specs = [_location(text) for text in locations]
    try:
        r = create_retailer(_runtime(ctx), _actor(), name=name, slug=slug, locations=specs)
    except ConnectorError as exc:
        raise fail(exc) from exc
    stores = ", ".join(f"{loc.store_code} {loc.name} ({loc.state} {loc.zip})" for loc in r.locations) or "no stores"
    click.echo(f"retailer {r.id}: {r.name} ({r.slug}); {stores}")


def _program_id(s: Any, ref: str, brand: str | None) -> int:
    from connector.core.frequent_buyer.programs import find_program

    return int(find_program(s, ref, brand=brand).id)


@fb.command("distributor", help="Add a distributor with its service area and associated programs.")
@click.option("--name", required=True)
@click.option("--slug", default=None)
@click.option("--states", default="", help="Comma-separated states served, like WA,OR.")
@click.option("--zips", default="", help="Comma-separated ZIP prefixes served, like 980,981.")
@click.option("--program", "program_refs", multiple=True, help="Program id or code; repeat per program.")
@click.option("--brand", default=None, help="Brand slug, when two brands share a program code.")
@click.pass_context
def fb_distributor(
    ctx: click.Context,
    name: str,
    slug: str | None,
    states: str,
    zips: str,
    program_refs: tuple[str, ...],
    brand: str | None,
) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.programs import create_distributor

    rt = _runtime(ctx)
    try:
        with rt.sessions() as s:
            program_ids = [_program_id(s, ref, brand) for ref in program_refs]
        d = create_distributor(
            rt,
            _actor(),
            name=name,
            slug=slug,
            service_states=_csv_option(states),
            service_zip_prefixes=_csv_option(zips),
            program_ids=program_ids,
        )
    except ConnectorError as exc:
        raise fail(exc) from exc
    area = ", ".join([*d.service_states, *(f"{z}*" for z in d.service_zip_prefixes)])
    click.echo(f"distributor {d.id}: {d.name} ({d.slug}); serves {area}; programs {list(d.program_ids)}")


@fb.command("enroll", help="Enroll a retailer in a program (choosing its distributor for distributor programs).")
@click.option("--retailer", required=True, help="Retailer slug or id.")
@click.option("--program", "program_ref", required=True, help="Program id or code.")
@click.option("--brand", default=None, help="Brand slug, when two brands share the program code.")
@click.option("--distributor", default=None, help="Distributor slug or id.")
@click.option("--account-number", default=None, help="The store's account number with that distributor.")
@click.pass_context
def fb_enroll(
    ctx: click.Context,
    retailer: str,
    program_ref: str,
    brand: str | None,
    distributor: str | None,
    account_number: str | None,
) -> None:
    from connector.core.errors import ConnectorError
    from connector.core.frequent_buyer.programs import enroll, find_distributor, find_retailer

    rt = _runtime(ctx)
    try:
        with rt.sessions() as s:
            retailer_id = find_retailer(s, retailer).id
            program_id = _program_id(s, program_ref, brand)
            distributor_id = find_distributor(s, distributor).id if distributor else None
        e = enroll(
            rt,
            _actor(),
            retailer_id=retailer_id,
            program_id=program_id,
            distributor_id=distributor_id,
            account_number=account_number,
        )
    except ConnectorError as exc:
        raise fail(exc) from exc
    who = f"with {e.distributor_name}" if e.distributor_name else f"({e.fulfilment_type}-fulfilled)"
    if e.account_number:
        who += f", account {e.account_number}"
    click.echo(f"enrollment {e.id}: {e.retailer_name} in {e.program_name} {who}")
