"""The Export link: the current tab, search and filters as a CSV download, streamed.

The rows come from ``core.export`` (the list's own query and scope, read in
keyset batches), so a large export holds one batch in memory and the file
matches what the table shows, across all its pages.
"""

from __future__ import annotations

from flask import Response, request, stream_with_context

from connector.admin.blueprint import bp
from connector.admin.filters import parse_filters
from connector.admin.session_auth import current_actor
from connector.core.errors import ValidationError
from connector.core.export import export_csv, in_chunks
from connector.request_context import current_runtime


@bp.get("/fulfilments/export.csv")
def export_fulfilments() -> Response:
    actor = current_actor()
    rt = current_runtime()
    form = parse_filters(request.args)
    if form.errors:
        summary = "; ".join(f"{name}: {text}" for name, text in form.errors.items())
        raise ValidationError(f"the filters are not valid: {summary}", fields=form.errors)
    lines = export_csv(rt, actor, form.filter)  # refuses a role without redemptions before the first byte
    response = Response(stream_with_context(in_chunks(lines)), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    filename = f"fulfilments-{form.tab}-{rt.now():%Y-%m-%d}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
