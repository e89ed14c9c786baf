"""What an import did: the counts and the first denials, returned to the caller and stored with the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Denials listed one by one in a summary (all are counted by reason).
MAX_DENIAL_LINES = 1_000


@dataclass(frozen=True)
class DenialLine:
    redemption_id: int | None
    pos_key: str
    rows: tuple[int, ...]
    reason: str
    detail: str


@dataclass
class ImportSummary:
    """What an import did (or, with ``dry_run``, would do). Counts are over the file's cards."""

    retailer_id: int
    filename: str
    format: str
    sha256: str
    row_count: int
    cards: int
    report_id: int | None = None
    dry_run: bool = False
    #: The report these same bytes were imported as before; nothing was imported now.
    duplicate_of: int | None = None
    #: New redemptions created.
    imported: int = 0
    #: Denied redemptions replaced by a corrected card (same id, judged again).
    replaced: int = 0
    #: Cards whose POS key was imported before and not denied: skipped, so nothing counts twice.
    already_imported: int = 0
    processed: int = 0
    quality_check: int = 0
    denied: int = 0
    denied_by_reason: dict[str, int] = field(default_factory=dict)
    customers_created: int = 0
    customers_matched: int = 0
    free_goods_created: int = 0
    #: Processed redemptions of dollars-off programs: rebates owed instead of free goods.
    rebates_created: int = 0
    #: The first ``MAX_DENIAL_LINES`` denials with their detail (``denied`` counts them all).
    denials: list[DenialLine] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """Everything but the denial lines: what the import event stores."""
        out = asdict(self)
        out.pop("denials")
        return out
