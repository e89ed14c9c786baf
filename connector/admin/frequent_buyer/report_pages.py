"""The retailer's reports in the console: Frequent Buyer Participation (each number opens its detail),
Redemption by Date, and the transaction export.

The same core read model as ``/api/v1/retailer/reports`` and ``connector reports``. A retailer user reads its
own stores (another retailer's id or location is "not found"); support and platform admins pick the retailer;
everyone else is refused by the core (and the header link is hidden from them).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Any

from flask import abort, render_template, request
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.frequent_buyer.common import DAY, INT, QueryForm, csv_download, here, parse_query
from connector.admin.session_auth import current_actor
from connector.core.access import Actor
from connector.core.errors import NotFoundError, ValidationError
from connector.core.frequent_buyer import retailer_reports as reports
from connector.core.frequent_buyer.programs import get_retailer, list_programs, list_retailers
from connector.core.frequent_buyer.programs.views import LocationView
from connector.core.model import Role
from connector.request_context import current_runtime

FILTERS = {"retailer_id": INT, "brand_id": INT, "location_id": INT, "date_from": DAY, "date_to": DAY}


def _filters(actor: Actor, form: QueryForm) -> reports.ReportFilters:
    retailer_id = actor.retailer_id if actor.role == Role.RETAILER else form.get("retailer_id")
    return reports.ReportFilters(
        retailer_id, form.get("brand_id"), form.get("location_id"), form.get("date_from"), form.get("date_to")
    )


def _page(template: str, compute: Any, **extra: Any) -> tuple[str, int]:
    """Render a report page: filters, choices, and the report ``compute`` builds (None until a retailer is chosen)."""
    actor, rt = current_actor(), current_runtime()
    reports.check_reads_retailer_reports(actor)
    form = parse_query(request.args, FILTERS)
    errors = dict(form.errors)
    f = _filters(actor, form)
    result = None
    if f.retailer_id is not None and not errors:
        try:
            result = compute(rt, actor, f)
        except ValidationError as exc:
            errors = {str(k): str(v) for k, v in exc.fields.items()} or {"filters": exc.message}
    locations: tuple[LocationView, ...] = ()
    if f.retailer_id is not None and result is not None:
        with suppress(NotFoundError):  # a retailer user whose retailer record is gone: nothing to filter by
            locations = get_retailer(rt, actor, f.retailer_id).locations
    today = rt.now().date()
    html = render_template(
        template,
        result=result,
        form=form,
        errors=errors,
        retailer_id=f.retailer_id,
        pick_retailer=actor.role != Role.RETAILER,
        retailers=[] if actor.role == Role.RETAILER else [(r.id, r.name) for r in list_retailers(rt, actor)],
        locations=[(loc.id, f"{loc.name} ({loc.store_code})") for loc in locations],
        brands=sorted({(p.brand_id, p.brand_name) for p in list_programs(rt, actor)}, key=lambda b: b[1].lower()),
        today=today.isoformat(),
        yesterday=(today - timedelta(days=1)).isoformat(),
        here=here(),
        **extra,
    )
    return html, 400 if errors else 200


@bp.get("/retailer-reports/participation")
def fb_participation() -> tuple[str, int]:
    """Frequent Buyer Participation: the five numbers per manufacturer and program."""
    return _page("admin/fb/participation.html", reports.participation, metrics=reports.DETAIL_METRICS)


@bp.get("/retailer-reports/participation/<metric>")
def fb_participation_detail(metric: str) -> tuple[str, int]:
    """What one number counts (for one program when ``program_id`` is given)."""
    if metric not in reports.DETAIL_METRICS:
        abort(404)
    program_id = request.args.get("program_id", "")
    pid = int(program_id) if program_id.isdigit() and int(program_id) < 2**31 else None
    return _page(
        "admin/fb/participation_detail.html",
        lambda rt, actor, f: reports.participation_detail(rt, actor, f, metric, program_id=pid),
        metric=metric,
        program_id=pid,
    )


@bp.get("/retailer-reports/redemptions")
def fb_redemptions_by_date() -> tuple[str, int]:
    """Redemption by Date: every redemption on the account in the range."""
    return _page("admin/fb/redemptions_by_date.html", reports.redemptions_by_date)


@bp.get("/retailer-reports/transactions.csv")
def fb_transaction_export() -> Response:
    """The transaction export for comparing with the POS day by day (a retailer must be chosen)."""
    actor, rt = current_actor(), current_runtime()
    form = parse_query(request.args, FILTERS)
    if form.errors:
        raise ValidationError("the filters are not valid", fields=form.errors)
    lines = reports.transaction_export(rt, actor, _filters(actor, form))
    return csv_download(lines, f"transactions-{rt.now():%Y%m%d}.csv")
