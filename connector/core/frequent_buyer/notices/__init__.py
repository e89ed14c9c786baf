"""Frequent-buyer notices by email: a retailer's POS report denials, its credited batches, and a distributor's
daily digest of New Rewards; each can be switched off per user (``preferences``).

What is owed is derived from the database on every run (``owed``) and written to an outbox unique per user,
kind and subject (``outbox``), so a re-run or retried job emails each user once per event or day.
"""

from __future__ import annotations

from connector.core.frequent_buyer.notices.outbox import (
    MAX_ATTEMPTS,
    NoticeRun,
    deliver_pending,
    run_notices,
    write_owed,
)
from connector.core.frequent_buyer.notices.preferences import (
    NOTICE_LABELS,
    ROLE_KINDS,
    NoticeKind,
    NoticePreference,
    NoticePreferences,
    notice_preferences,
    own_user_id,
    set_notice_preferences,
)

__all__ = [
    "MAX_ATTEMPTS",
    "NOTICE_LABELS",
    "ROLE_KINDS",
    "NoticeKind",
    "NoticePreference",
    "NoticePreferences",
    "NoticeRun",
    "deliver_pending",
    "notice_preferences",
    "own_user_id",
    "run_notices",
    "set_notice_preferences",
    "write_owed",
]
