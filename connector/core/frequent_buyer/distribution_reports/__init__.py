"""The Distributor Portal's reports (seed 001's Reports menu), as pages of rows and as streamed CSV.

* **Participating Retailers**: retailers enrolled with the distributor: name, account number, locations,
  programs.
* **Account Number Changes**: each change of a store's account number on an enrollment with the distributor
  (old, new, who, when).
* **Enrolled Programs**: programs retailers enrolled in with the distributor, with how many retailers.
* **Associated Programs**: programs the distributor chose to be a fulfilment option for.
* **Free Goods Fulfillment**: the free goods still to be credited (unbatched, batched, held, declined), with
  status, batch, retailer, item, quantity and approximate cost.
* **Free Goods Fulfillment History**: free goods that were batched and marked credited (credited or grouped),
  by manufacturer/brand and credit date.
* **Search Free Goods Fulfillment**: any free good, by retailer, customer, SKU/UPC/description, batch, date.
* **Search Rebate Fulfillment**: any rebate (dollars off), by retailer, customer, item, batch, status, date.
* **Rebate Credit Fulfillment**: rebates marked credited in Distributor Rebate Credit Batches, by credit date.

Each report is a keyset-paginated query (``run_report``) and a CSV generator (``report_csv``) that walks the
same keyset in batches of ``CSV_BATCH`` rows, one short session per batch, so an export of any size costs one
batch of memory and holds no connection while a slow client reads. CSV cells go through
``connector.core.csv_safe`` (formula-injection neutralisation, every cell quoted).

Scope: distributor users see their own distributor only; brand-scoped users (brand admin, brand viewer) see
their brand's programs and free goods; platform admins, support and global viewers see all (and may filter by
distributor). Retailer users have their credit status instead and are refused here.
"""

from __future__ import annotations

from connector.core.frequent_buyer.distribution_reports.report_types import (
    Column,
    Fetch,
    ReportName,
    ReportPage,
    ReportParams,
    ReportSpec,
)
from connector.core.frequent_buyer.distribution_reports.runner import (
    CSV_BATCH,
    REPORTS,
    report_csv,
    report_filename,
    run_report,
)

__all__ = [
    "CSV_BATCH",
    "Column",
    "Fetch",
    "REPORTS",
    "ReportName",
    "ReportPage",
    "ReportParams",
    "ReportSpec",
    "report_csv",
    "report_filename",
    "run_report",
]
