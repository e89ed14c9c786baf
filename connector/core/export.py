"""CSV export of the Fulfillments list: the same filter and scope as the list, streamed in keyset batches.

The export is a generator so a million rows cost one batch of memory: it walks
the list query's filter (``queries.filtered``: same search, filters and scope)
along the (claimed_at, id) keyset, one short session per batch, so no
connection or transaction is held open while a slow client downloads.

Lines are written by ``core.csv_safe`` (shared with the frequent-buyer exports):
cells are neutralised against spreadsheet formula injection (OWASP "CSV
Injection"), since member names, reward names and error messages come from
members, shops and admins, and every cell is quoted; dates are ISO 8601 in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select

from connector.core.access import Actor
from connector.core.csv_safe import csv_line
from connector.core.model import FulfilmentChannel
from connector.core.queries import RedemptionFilter, filtered, older_than
from connector.core.runtime import Runtime
from connector.core.tables import Member, Redemption, Reward

#: Where the last batch ended: (claimed_at, id) of its last row.
_Position = tuple[datetime, int]

#: Rows read per query: large enough that round trips do not dominate, small enough to hold in memory.
BATCH_SIZE = 1000

#: The Fulfillments table's columns first (as admins know them), then ids and machine-readable state.
COLUMNS: tuple[str, ...] = (
    "name",
    "date_claimed",
    "status",
    "offer_name",
    "redemption_code",
    "instructions",
    "delivery_status",
    "redemption_id",
    "member_id",
    "member_email",
    "reward_id",
    "reward_sku",
    "points_cost",
    "channel",
    "shop_order_id",
    "shop_order_name",
    "tracking_number",
    "error_code",
    "error_message",
    "error_fix",
    "attempts",
    "fulfilled_at",
    "reversed_at",
)


#: The columns read per row: plain values, not ORM objects (building those cost half the export's time).
_SELECTED = (
    Redemption.id,
    Redemption.code,
    Redemption.claimed_at,
    Redemption.status,
    Redemption.channel,
    Redemption.delivery_status,
    Redemption.member_id,
    Redemption.reward_id,
    Redemption.points_cost,
    Redemption.external_order_id,
    Redemption.external_order_name,
    Redemption.tracking_number,
    Redemption.error_code,
    Redemption.error_message,
    Redemption.error_fix,
    Redemption.attempts,
    Redemption.fulfilled_at,
    Redemption.reversed_at,
    Member.first_name.label("member_first_name"),
    Member.last_name.label("member_last_name"),
    Member.email.label("member_email"),
    Reward.name.label("reward_name"),
    Reward.sku.label("reward_sku"),
    Reward.instructions.label("reward_instructions"),
)


def row_of(r: Row[Any]) -> list[object]:
    """One selected row as the export's cells, in ``COLUMNS`` order (``csv_line`` writes the dates in UTC)."""
    shop_order = r.channel == FulfilmentChannel.SHOPIFY
    return [
        f"{r.member_first_name} {r.member_last_name}".strip(),  # as Member.full_name shows it
        r.claimed_at,
        r.status,
        r.reward_name,
        r.code,
        r.reward_instructions,
        (r.delivery_status or "") if shop_order else "",
        r.id,
        r.member_id,
        r.member_email,
        r.reward_id,
        r.reward_sku,
        r.points_cost,
        r.channel,
        r.external_order_id,
        r.external_order_name,
        r.tracking_number,
        r.error_code,
        r.error_message,
        r.error_fix,
        r.attempts,
        r.fulfilled_at,
        r.reversed_at,
    ]


def export_csv(rt: Runtime, actor: Actor, f: RedemptionFilter, *, batch_size: int = BATCH_SIZE) -> Iterator[str]:
    """The header line, then one line per redemption the actor may see under ``f``, newest first.

    The permission check runs now, not at the first ``next()``: a web layer streams the
    generator after it has sent its headers, when a refusal could no longer be an error page.
    """
    actor.check_sees_redemptions()
    return _lines(rt, actor, f, batch_size)


def _lines(rt: Runtime, actor: Actor, f: RedemptionFilter, batch_size: int) -> Iterator[str]:
    yield csv_line(COLUMNS)
    after: _Position | None = None
    while True:
        with rt.sessions() as s:
            rows = s.execute(_batch(actor, f, after, batch_size)).all()
            lines = [csv_line(row_of(r)) for r in rows]
            if rows:
                after = (rows[-1].claimed_at, rows[-1].id)
        yield from lines
        if len(rows) < batch_size:
            return


def _batch(actor: Actor, f: RedemptionFilter, after: _Position | None, size: int) -> Select[*tuple[Any, ...]]:
    """The next ``size`` rows after ``after`` in the list's order (newest first).

    The list's keyset condition (``queries.older_than``) seeks into the (claimed_at, id) index,
    so each batch costs the same and a large export does not cost the square of its size.
    """
    q = filtered(actor, f).with_only_columns(*_SELECTED)  # the same joins, search, filters and scope
    if after is not None:
        q = q.where(older_than(*after))
    return q.order_by(Redemption.claimed_at.desc(), Redemption.id.desc()).limit(size)


def in_chunks(lines: Iterator[str], size: int = 64 * 1024) -> Iterator[str]:
    """Lines joined into pieces of about ``size`` characters: fewer, larger writes to a streaming response."""
    pending: list[str] = []
    length = 0
    for line in lines:
        pending.append(line)
        length += len(line)
        if length >= size:
            yield "".join(pending)
            pending, length = [], 0
    if pending:
        yield "".join(pending)
