"""The distributor's side of free goods: batching, crediting, declining, holding, grouping (seed 001).

A processed POS redemption becomes a ``FreeGood`` in ``unbatched`` (a "New Reward").
The distributor rolls a retailer's unbatched free goods into a Batch Report
(``batched``, the batch ``unfulfilled``), reviews it against its invoices, marks the
batch fulfilled/credited (its free goods ``credited``), and later groups fulfilled
batches to claim from the manufacturer (``grouped``). Free goods can be declined or
held from unbatched or batched, released back to unbatched, and unbatched while
their batch is still unfulfilled. A credited free good can still be unbatched or
declined (seed 001: "in the Unfulfilled or Fulfilled section") while its batch is
fulfilled but neither grouped for MFG credit nor reconciled by the retailer; a
fulfilled batch that loses every free good stays, empty, and can be neither grouped
nor reconciled.

Every move is one transaction that

* locks what it moves (batches first, then free goods, each in id order, so two
  moves never deadlock and a concurrent move waits and then sees the new state),
* checks every subject against the lifecycle tables (``CREDIT_TRANSITIONS``,
  ``BATCH_TRANSITIONS``) and refuses the whole call, naming each offending id and
  its status, when any one cannot move,
* applies the change with a conditional ``UPDATE ... WHERE status IN (sources)``
  (a belt to the lock's braces: a lost race can never move a row twice),
* and writes an ``FbEvent`` row per subject (who, from, to, why) in the same commit.

Who may do what is decided here, not in the web layers (see ``check_acts`` and
``free_good_scope``): distributor users act on their own distributor's free goods
and batches only, platform admins act on all, everyone else reads within their
scope and acts on nothing. Another distributor's free good or batch is reported
as not found, so its existence does not leak.
"""

from __future__ import annotations

from connector.core.frequent_buyer.distribution.batches import (
    BATCH_ADD,
    BATCH_CREATE,
    add_to_batch,
    create_batch,
    get_credit_group,
    group_for_mfg_credit,
    mark_batch_fulfilled,
)
from connector.core.frequent_buyer.distribution.free_goods import BATCH_REMOVE, decline, hold, release, unbatch
from connector.core.frequent_buyer.distribution.input_checks import (
    CONTROL_CHARS,
    DESCRIPTION_MAX,
    MAX_IDS,
    REASON_MAX,
    clean_ids,
    optional_text,
    required_text,
)
from connector.core.frequent_buyer.distribution.moves import (
    _leavable_batch,
    _update_free_goods,
    closed_batch_reason,
    credits_can_be_taken_back,
    free_good_can_be_taken_back,
    lock_batches,
    lock_free_goods,
)
from connector.core.frequent_buyer.distribution.permissions import (
    batch_scope,
    check_acts,
    check_reads_distribution,
    free_good_scope,
)
from connector.core.frequent_buyer.distribution.read_models import (
    BatchDetail,
    BatchView,
    CreditGroupView,
    EventView,
    FreeGoodDetail,
    FreeGoodView,
    Moved,
    batch_select,
    batch_view,
    effective_unit_cost,
    events_of,
    free_good_select,
    free_good_view,
    get_batch,
    get_free_good,
    line_cost,
    load_batch_view,
)
from connector.core.frequent_buyer.distribution.sections import (
    SECTION_TITLES,
    DistributionFilter,
    Section,
    SectionPage,
    day_start,
    free_good_filters,
    parse_section,
    section,
    section_counts,
)
from connector.core.frequent_buyer.lifecycle import batch_transition
from connector.core.frequent_buyer.paging import encode_cursor

__all__ = [
    "BATCH_ADD",
    "BATCH_CREATE",
    "BATCH_REMOVE",
    "BatchDetail",
    "BatchView",
    "CONTROL_CHARS",
    "CreditGroupView",
    "DESCRIPTION_MAX",
    "DistributionFilter",
    "EventView",
    "FreeGoodDetail",
    "FreeGoodView",
    "MAX_IDS",
    "Moved",
    "REASON_MAX",
    "SECTION_TITLES",
    "Section",
    "SectionPage",
    "_leavable_batch",
    "_update_free_goods",
    "add_to_batch",
    "batch_scope",
    "batch_select",
    "batch_transition",
    "batch_view",
    "check_acts",
    "check_reads_distribution",
    "clean_ids",
    "closed_batch_reason",
    "create_batch",
    "credits_can_be_taken_back",
    "day_start",
    "decline",
    "effective_unit_cost",
    "encode_cursor",
    "events_of",
    "free_good_can_be_taken_back",
    "free_good_filters",
    "free_good_scope",
    "free_good_select",
    "free_good_view",
    "get_batch",
    "get_credit_group",
    "get_free_good",
    "group_for_mfg_credit",
    "hold",
    "line_cost",
    "load_batch_view",
    "lock_batches",
    "lock_free_goods",
    "mark_batch_fulfilled",
    "optional_text",
    "parse_section",
    "release",
    "required_text",
    "section",
    "section_counts",
    "unbatch",
]
