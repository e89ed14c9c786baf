"""POS reports (seed 003): the Status Dashboard, the upload with its dry run, Review, the quality check.

Retailer users see and upload their own reports; support and platform admins
every retailer's (they upload on a retailer's behalf, as the POS team does).
The upload is ``multipart/form-data`` and may be as large as the API allows
(``CONNECTOR_POS_MAX_BYTES``): ``raise_upload_limits`` lifts the console's 1 MiB
body limit for this one route, for users who may upload, before the CSRF check
reads the form. "Preview" runs the import as a dry run (the core's own code path,
then a rollback), so what it shows is exactly what "Import" would do.

A file the parser or the import refuses is answered with every problem (row,
column, what was found, what was expected) in ``table#pos-problems`` and stores
nothing; it is never an error page, since fixing the file is the user's next step.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from connector.admin.blueprint import bp
from connector.admin.frequent_buyer.common import (
    INT,
    PAGE_SIZE,
    allowed,
    back_to,
    here,
    parse_query,
    plural,
    refusal,
)
from connector.admin.session_auth import current_actor, load_user
from connector.core.access import Actor
from connector.core.errors import ConflictError, ValidationError
from connector.core.frequent_buyer import pos_dashboard, pos_ingest
from connector.core.frequent_buyer.filenames import clean_filename
from connector.core.frequent_buyer.model import PosRedemptionStatus
from connector.core.frequent_buyer.pos_types import PosFormat, PosReportRejected
from connector.core.frequent_buyer.programs import RetailerView, check_retailer_write, is_staff, list_retailers
from connector.core.model import Role
from connector.request_context import current_runtime

#: The format the upload form picks first: the one the API defaults to.
DEFAULT_FORMAT = "darts-bxgy"
#: Problems listed on the page (the count says how many there were), as the API lists them.
MAX_LISTED_PROBLEMS = 1_000
#: Room for the multipart framing and the form's other fields around the report itself.
_FRAMING = 64 * 1024

#: The dashboard's columns, in the order the seed names them.
STATUSES: tuple[tuple[str, str], ...] = (
    (PosRedemptionStatus.NEW.value, "New"),
    (PosRedemptionStatus.PENDING.value, "Pending"),
    (PosRedemptionStatus.DENIED.value, "Denied"),
    (PosRedemptionStatus.QUALITY_CHECK.value, "Quality Check"),
    (PosRedemptionStatus.PROCESSED.value, "Processed"),
)

UPLOAD_ENDPOINT = "admin.fb_pos_upload"


@bp.before_app_request
def raise_pos_upload_limit() -> None:
    """Let a POS report through the console's 1 MiB body limit, for users who may upload one.

    Runs as an app-level hook, so before the blueprint's guard parses the form for its CSRF
    token (which is where a too-large body would be refused). Everyone else keeps 1 MiB, so a
    distributor's 50 MiB POST is still refused unread.
    """
    if request.endpoint != UPLOAD_ENDPOINT:
        return
    user = load_user()
    if user is not None and allowed(pos_ingest.check_can_upload, user.actor):
        request.max_content_length = current_runtime().settings.pos_max_bytes + _FRAMING


def _upload_context(actor: Actor, *, retailer_id: int | None = None, fmt: str | None = None) -> dict[str, Any]:
    """What the upload form needs: the formats, and the retailers for staff (who upload on their behalf)."""
    rt = current_runtime()
    if not allowed(pos_ingest.check_can_upload, actor):
        return {"can_upload": False}
    formats: dict[str, PosFormat] = pos_ingest.pos_formats(rt)
    chosen = fmt if fmt in formats else (DEFAULT_FORMAT if DEFAULT_FORMAT in formats else next(iter(formats), ""))
    retailers: list[RetailerView] = list_retailers(rt, actor) if is_staff(actor) else []
    return {
        "can_upload": True,
        "formats": list(formats.values()),
        "chosen_format": chosen,
        "upload_retailers": retailers,
        "chosen_retailer": retailer_id,
    }


@bp.get("/pos-reports")
def fb_pos_reports() -> tuple[str, int]:
    """The POS Reports Status Dashboard: a row per report with its counts per status, each linking to Review."""
    actor = current_actor()
    pos_dashboard.check_sees_pos_reports(actor)
    rt = current_runtime()
    form = parse_query(request.args, {"retailer_id": INT})
    page = None
    if not form.errors:
        page = pos_dashboard.dashboard(
            rt, actor, retailer_id=form.get("retailer_id"), limit=PAGE_SIZE, cursor=form.cursor or None
        )
    staff_view = actor.role != Role.RETAILER
    html = render_template(
        "admin/fb/pos_dashboard.html",
        page=page,
        form=form,
        statuses=STATUSES,
        filter_retailers=list_retailers(rt, actor) if staff_view else [],
        staff_view=staff_view,
        **_upload_context(actor, retailer_id=form.get("retailer_id")),
    )
    return html, 400 if form.errors else 200


def _upload_refused(message: str) -> Response:
    flash(message, "error")
    return redirect(url_for("admin.fb_pos_reports"))


@bp.post("/pos-reports/upload")
def fb_pos_upload() -> Response | tuple[str, int]:
    """Preview (a dry run: nothing stored) or import a report; a refused file shows its problems."""
    actor = current_actor()
    rt = current_runtime()
    pos_ingest.check_can_upload(actor)
    mode = request.form.get("mode", "")
    if mode not in {"preview", "import"}:
        return _upload_refused("Choose Preview (dry run) or Import. Nothing was imported.")
    if actor.role == Role.RETAILER:
        retailer_id = actor.retailer_id
    else:
        raw = (request.form.get("retailer_id") or "").strip()
        retailer_id = int(raw) if raw.isdigit() and 0 < int(raw) < 2**31 else None
    if retailer_id is None:
        return _upload_refused("Choose the retailer the report is for, then upload it again. Nothing was imported.")
    check_retailer_write(actor, retailer_id, "upload POS reports")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_refused("Choose the report file to upload. Nothing was imported.")
    filename = clean_filename(upload.filename)
    fmt_name = (request.form.get("format") or DEFAULT_FORMAT).strip()
    context = _upload_context(actor, retailer_id=retailer_id, fmt=fmt_name)
    try:
        summary = pos_ingest.upload_pos_report(
            rt, actor, retailer_id, fmt_name, upload.stream, filename, dry_run=mode == "preview"
        )
    except PosReportRejected as exc:
        html = render_template(
            "admin/fb/pos_upload.html",
            rejected=exc,
            problems=exc.problems[:MAX_LISTED_PROBLEMS],
            problem_count=len(exc.problems),
            filename=filename,
            mode=mode,
            **context,
        )
        return html, 422
    except ValidationError as exc:
        return _upload_refused(refusal(exc, "Nothing was imported."))
    if summary.dry_run:
        return render_template(
            "admin/fb/pos_upload.html", summary=summary, filename=filename, mode=mode, **context
        ), 200
    if summary.duplicate_of is not None:
        flash(
            f"{filename} was imported before as report {summary.duplicate_of} (the same file): nothing was imported "
            "again. Its denials are listed below.",
            "error",
        )
        return redirect(url_for("admin.fb_pos_review", report_id=summary.duplicate_of, status="denied"))
    flash(_import_message(filename, summary), "success")
    return redirect(url_for("admin.fb_pos_reports", retailer_id=None if actor.role == Role.RETAILER else retailer_id))


def _import_message(filename: str, s: pos_ingest.ImportSummary) -> str:
    parts = [
        f"Imported {filename} as report {s.report_id}: {plural(s.cards, 'card')}",
        f"{s.processed} processed, {s.quality_check} in quality check, {s.denied} denied",
    ]
    extra = []
    if s.already_imported:
        extra.append(f"{s.already_imported} skipped (imported before)")
    if s.replaced:
        extra.append(f"{plural(s.replaced, 'corrected card')} replaced denied ones")
    text = " — ".join(parts) + (f"; {'; '.join(extra)}" if extra else "") + "."
    if s.denied:
        text += " Review the denied cards: each says why and how to fix it."
    return text


@bp.get("/pos-reports/<id:report_id>")
def fb_pos_review(report_id: int) -> str:
    """Review: the report's redemptions in one status, each with its customer, denial and card."""
    actor = current_actor()
    rt = current_runtime()
    status = (request.args.get("status") or "").strip() or None
    cursor = (request.args.get("cursor") or "").strip()[:500] or None
    page = pos_dashboard.review(rt, actor, report_id, status=status, limit=PAGE_SIZE, cursor=cursor)
    return render_template(
        "admin/fb/pos_review.html",
        page=page,
        report=page.report,
        status=page.status,
        statuses=STATUSES,
        can_approve=is_staff(actor),
        here=here(),
    )


@bp.post("/pos-reports/<id:report_id>/approve")
def fb_pos_approve(report_id: int) -> Response:
    """The final quality check passed: the report's (or the ticked) redemptions go to Processed."""
    actor = current_actor()
    rt = current_runtime()
    pos_dashboard.get_report(rt, actor, report_id)  # 403/404 before anything else
    raw = [v for v in request.form.getlist("pos_redemption_ids") if v.strip()]
    ids = [int(v) for v in raw if v.strip().isdigit()]
    default = url_for("admin.fb_pos_review", report_id=report_id, status="quality_check")
    if len(ids) != len(raw):
        flash("The selection is not valid: reload the page and try again. Nothing was processed.", "error")
        return redirect(back_to(default))
    try:
        result = pos_ingest.approve_quality_check(rt, actor, pos_redemption_ids=ids or None, report_id=report_id)
    except (ConflictError, ValidationError) as exc:
        flash(refusal(exc, "Nothing was processed; reload the page to see where the redemptions are now."), "error")
        return redirect(back_to(default))
    if not result.processed_ids:
        flash(f"Report {report_id} has nothing in Quality Check; nothing was processed.", "error")
    else:
        flash(
            f"Quality check passed for {plural(len(result.processed_ids), 'redemption')} of report {report_id}: "
            f"now Processed, {plural(result.free_goods_created, 'free good')} sent on for crediting.",
            "success",
        )
    return redirect(back_to(default))


@bp.get("/pos-redemptions/<id:redemption_id>")
def fb_pos_redemption(redemption_id: int) -> str:
    """The second Review: one card's purchases and free goods, its denial and its timeline."""
    actor = current_actor()
    item = pos_dashboard.get_pos_redemption(current_runtime(), actor, redemption_id)
    back = url_for("admin.fb_pos_review", report_id=item.report_id, status=item.status)
    return render_template("admin/fb/pos_redemption.html", item=item, back=back)
