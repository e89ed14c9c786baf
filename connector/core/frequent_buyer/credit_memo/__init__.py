"""Importing a distributor's credit memo and comparing it, line by line, with the credited batch.

The retailer receives a credit memo from its distributor for a credited batch (seed 000:
"compare the credit memo sent to you by your distributor to your Credited Batch Report
and Reconcile it"). Importing the memo does that comparison by SKU and stores it, so the
retailer sees at once which lines match and which do not.

The memo is a CSV file (UTF-8, a BOM is fine), header on row 1, one credited item per row:

========================  ========  ==========================================================
Column                    Required  Meaning
========================  ========  ==========================================================
``SKU``                   yes       the item's SKU, as on the free good (case and surrounding
                                    spaces are ignored); also accepted: ``Item Number``, ``Item #``
``Description``           no        free text, shown with lines that are not in the batch;
                                    also accepted: ``Item Description``
``Qty``                   yes       whole number ≥ 1; also accepted: ``Quantity``
``Amount``                no        the credit for the line in dollars, e.g. ``12.50``, ``$1,012.50``;
                                    a credit may be written negative (``-12.50`` or ``(12.50)``),
                                    the absolute value is compared; blank = not stated.
                                    Also accepted: ``Credit Amount``
========================  ========  ==========================================================

Header names are case-insensitive. Any other column is refused (a misspelt ``Ammount`` silently
ignored would leave the amounts unchecked). Blank rows are skipped; rows for the same SKU are
added up. Every problem is reported with its row (the header is row 1), column, the value found
and what was expected, and a rejected file stores nothing.

Comparison, per SKU: ``matched``; ``quantity_differs``; ``amount_differs`` (the quantities agree
but the amount differs from unit cost × quantity — checked only when the batch knows a cost for
every free good of that SKU and the memo states an amount); ``not_in_batch`` (credited on the memo,
not in the batch); ``missing_from_memo`` (in the batch, not on the memo). A memo matches when every
line is ``matched``; with ``reconcile_if_matched`` a matching memo reconciles the batch in the same
transaction. The same file (same bytes) imported twice for the same batch is stored once: the
second import answers the first comparison, marked ``duplicate``.
"""

from __future__ import annotations

from connector.core.frequent_buyer.credit_memo.comparison import MemoComparison, MemoLineView, compare
from connector.core.frequent_buyer.credit_memo.parsing import (
    COLUMNS,
    MAX_MEMO_BYTES,
    MAX_MEMO_LINES,
    MAX_MEMO_UPLOAD_BYTES,
    MAX_PROBLEMS,
    REQUIRED,
    CreditMemoRejected,
    MemoLine,
    ParsedMemo,
    parse_credit_memo,
    sku_key,
)
from connector.core.frequent_buyer.credit_memo.use_cases import get_credit_memo, import_credit_memo, list_credit_memos

__all__ = [
    "COLUMNS",
    "CreditMemoRejected",
    "MAX_MEMO_BYTES",
    "MAX_MEMO_LINES",
    "MAX_MEMO_UPLOAD_BYTES",
    "MAX_PROBLEMS",
    "MemoComparison",
    "MemoLine",
    "MemoLineView",
    "ParsedMemo",
    "REQUIRED",
    "compare",
    "get_credit_memo",
    "import_credit_memo",
    "list_credit_memos",
    "parse_credit_memo",
    "sku_key",
]
