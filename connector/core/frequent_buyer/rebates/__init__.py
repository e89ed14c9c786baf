"""Rebates (seeds 001, 002): dollars-off redemptions credited to the retailer through its distributor.

A program with a ``rebate_amount`` is a dollars-off program: each processed redemption of it owes the retailer
that many dollars (a ``Rebate``, status ``unbatched``) instead of a free good. The distributor rolls a
retailer's unbatched rebates into a Distributor Rebate Credit Batch (``batched``, the batch ``unfulfilled``),
then marks the batch credited (``fulfilled``; its rebates ``credited``). Before that it can unbatch rebates,
or decline them with a reason the retailer sees, and release a declined rebate back to unbatched.

The moves reuse the free-goods machinery of ``distribution`` (roles, input checks, row locks, lifecycle
refusals, conditional UPDATEs, ``fb_events``); the rules are ``lifecycle.REBATE_TRANSITIONS`` and
``REBATE_BATCH_TRANSITIONS``. Another distributor's rebate or batch is reported as not found.
"""

from __future__ import annotations

from connector.core.frequent_buyer.rebates.read_models import (
    RebateBatchDetail,
    RebateBatchView,
    RebatesMoved,
    RebateView,
    get_rebate_batch,
    rebate_select,
    rebate_view,
)
from connector.core.frequent_buyer.rebates.sections import (
    REBATE_SECTION_TITLES,
    RebateSection,
    RebateSectionPage,
    parse_rebate_section,
    rebate_filters,
    rebate_section,
    rebate_section_counts,
    retailer_rebate_batches,
)
from connector.core.frequent_buyer.rebates.use_cases import (
    create_rebate_batch,
    decline_rebates,
    mark_rebate_batch_credited,
    release_rebates,
    unbatch_rebates,
)

__all__ = [
    "REBATE_SECTION_TITLES",
    "RebateBatchDetail",
    "RebateBatchView",
    "RebateSection",
    "RebateSectionPage",
    "RebateView",
    "RebatesMoved",
    "create_rebate_batch",
    "decline_rebates",
    "get_rebate_batch",
    "mark_rebate_batch_credited",
    "parse_rebate_section",
    "rebate_filters",
    "rebate_section",
    "rebate_section_counts",
    "rebate_select",
    "rebate_view",
    "release_rebates",
    "retailer_rebate_batches",
    "unbatch_rebates",
]
