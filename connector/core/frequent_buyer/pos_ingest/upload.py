"""The upload use case: a report file parsed by the format a plugin provides, then imported.

Both upload routes (the API's and the console's) and the ``connector pos import`` command call
``upload_pos_report`` once, so the order of checks (who may upload, for which retailer, which
format) and the file's name are the same whichever way a report arrives.
"""

from __future__ import annotations

from typing import IO

from connector.core.access import Actor
from connector.core.frequent_buyer.filenames import clean_filename
from connector.core.frequent_buyer.pos_ingest.checks import check_can_upload
from connector.core.frequent_buyer.pos_ingest.formats import find_pos_format
from connector.core.frequent_buyer.pos_ingest.importer import import_pos_report
from connector.core.frequent_buyer.pos_ingest.summary import ImportSummary
from connector.core.frequent_buyer.programs import check_retailer_write
from connector.core.runtime import Runtime


def upload_pos_report(
    rt: Runtime,
    actor: Actor,
    retailer_id: int,
    format_name: str,
    stream: IO[bytes],
    filename: str | None,
    *,
    dry_run: bool = False,
) -> ImportSummary:
    """Parse ``stream`` with the installed format ``format_name`` and import it for the retailer, all or nothing.

    Raises ``PermissionDeniedError``/``NotFoundError`` before the file is read when the actor may not upload
    for ``retailer_id``, ``ValidationError`` (field ``format``) for a format no plugin provides, and
    ``PosReportRejected`` with every problem when the file cannot be imported. The stream stays open.
    """
    check_can_upload(actor)
    check_retailer_write(actor, retailer_id, "upload POS reports")
    fmt = find_pos_format(rt, format_name)
    name = clean_filename(filename)
    report = fmt.parse(stream, name)
    return import_pos_report(rt, actor, retailer_id, report, name, dry_run=dry_run)
