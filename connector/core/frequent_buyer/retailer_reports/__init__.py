"""The retailer's own reports: Frequent Buyer Participation, Redemption by Date, the transaction export.

A retailer (its admin users), support and platform admins on its behalf read them; nobody else does:
they name the retailer's customers, and the retailer is the caretaker of that data (manufacturers and
distributors ask the retailer; reports sent to distributors carry the customer's name only). Another
retailer's data answers "not found", like a missing one.

Every report reads the cards the store's POS reports carried (``fb_pos_redemptions``), filtered by
manufacturer (brand), location and a date range. What each number counts is in ``participation``.
"""

from __future__ import annotations

from connector.core.frequent_buyer.retailer_reports.participation import (
    DETAIL_METRICS,
    DetailTable,
    ParticipationReport,
    ParticipationRow,
    ReportFilters,
    check_reads_retailer_reports,
    participation,
    participation_detail,
)
from connector.core.frequent_buyer.retailer_reports.redemptions import (
    EXPORT_COLUMNS,
    RedemptionLine,
    RedemptionsByDate,
    redemptions_by_date,
    transaction_export,
)

__all__ = [
    "DETAIL_METRICS",
    "EXPORT_COLUMNS",
    "DetailTable",
    "ParticipationReport",
    "ParticipationRow",
    "RedemptionLine",
    "RedemptionsByDate",
    "ReportFilters",
    "check_reads_retailer_reports",
    "participation",
    "participation_detail",
    "redemptions_by_date",
    "transaction_export",
]
