"""The quality check: a person approves redemptions held for it, and each gets its ``FreeGood`` (or ``Rebate``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, insert, select

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import IllegalTransitionError, NotFoundError, ValidationError
from connector.core.frequent_buyer.lifecycle import pos_transition
from connector.core.frequent_buyer.model import PosRedemptionEvent as PE
from connector.core.frequent_buyer.model import PosRedemptionStatus as PS
from connector.core.frequent_buyer.pos_ingest.rows import (
    EVENTS,
    FREE_GOODS,
    REBATES,
    event_row,
    free_good_values,
    reward_values,
)
from connector.core.frequent_buyer.programs import check_staff
from connector.core.frequent_buyer.rules import sku_key
from connector.core.frequent_buyer.tables import PosRedemption, PosReport, PriceListEntry, Program, ProgramItem
from connector.core.runtime import Runtime


@dataclass(frozen=True)
class ApproveResult:
    processed_ids: tuple[int, ...]
    free_goods_created: int
    #: Redemptions of dollars-off programs owe a rebate instead of a free good.
    rebates_created: int = 0


def approve_quality_check(
    rt: Runtime,
    actor: Actor,
    *,
    pos_redemption_ids: Sequence[int] | None = None,
    report_id: int | None = None,
) -> ApproveResult:
    """The final check passed: ``quality_check → processed``, each with its ``FreeGood`` (support/admins).

    With ``report_id`` alone, every redemption of that report now in Quality Check; with ids,
    exactly those (and, with ``report_id`` too, only if they all belong to it) — all or none:
    an id not in Quality Check answers ``IllegalTransitionError`` naming it.
    """
    check_staff(actor, "approve the quality check")
    if pos_redemption_ids is None and report_id is None:
        raise ValidationError(
            "give redemption ids or a report", fields={"pos_redemption_ids": "give these, or report_id"}
        )
    now = rt.now()
    with transaction(rt.sessions) as s:
        q = select(PosRedemption).order_by(PosRedemption.id).with_for_update()
        if report_id is not None and s.get(PosReport, report_id) is None:
            raise NotFoundError(f"POS report {report_id} not found")
        if pos_redemption_ids is None:
            rows = list(
                s.scalars(q.where(PosRedemption.report_id == report_id, PosRedemption.status == PS.QUALITY_CHECK))
            )
        else:
            wanted = sorted(set(pos_redemption_ids))
            if not wanted:
                raise ValidationError("no redemptions given", fields={"pos_redemption_ids": "give at least one id"})
            rows = list(s.scalars(q.where(PosRedemption.id.in_(wanted))))
            missing = sorted(set(wanted) - {r.id for r in rows})
            if missing:
                raise NotFoundError(f"POS redemption(s) {', '.join(map(str, missing))} not found")
            outside = [r.id for r in rows if report_id is not None and r.report_id != report_id]
            if outside:
                raise ValidationError(
                    "redemptions not in this report",
                    fields={"pos_redemption_ids": f"not in report {report_id}: {', '.join(map(str, outside))}"},
                )
            for r in rows:
                try:
                    pos_transition(r.status, PE.PROCESS)
                except IllegalTransitionError as exc:
                    raise IllegalTransitionError(
                        f"redemption {r.id} ({r.pos_key}): {exc.message}", current=r.status, event=PE.PROCESS.value
                    ) from None
        if not rows:
            return ApproveResult((), 0)
        programs = {p.id: p for p in s.scalars(select(Program).where(Program.id.in_({r.program_id for r in rows})))}
        item_ids = {_free_item_id(r) for r in rows}
        items = {i.id: i for i in s.scalars(select(ProgramItem).where(ProgramItem.id.in_(item_ids)))}
        prices: dict[tuple[int, str], Decimal] = {
            (rid, sku_key(sku)): cost
            for rid, sku, cost in s.execute(
                select(PriceListEntry.retailer_id, PriceListEntry.sku, PriceListEntry.unit_cost).where(
                    PriceListEntry.retailer_id.in_({r.retailer_id for r in rows})
                )
            )
        }
        rewards: dict[Table, list[dict[str, Any]]] = {FREE_GOODS: [], REBATES: []}
        events = []
        for r in rows:
            program, item = programs[r.program_id or 0], items[_free_item_id(r)]
            after = pos_transition(r.status, PE.PROCESS)
            to = f"distributor {r.distributor_id}" if r.distributor_id else program.fulfilment_type
            events.append(
                event_row(
                    r.id,
                    PE.PROCESS,
                    PS(r.status),
                    after,
                    actor.name,
                    now,
                    f"quality check passed; {'free good' if program.rebate_amount is None else 'rebate'} sent to {to}",
                )
            )
            r.status, r.updated_at = after.value, now
            table, values = reward_values(
                free_good_values(
                    redemption_id=r.id,
                    retailer_id=r.retailer_id,
                    location_id=r.location_id,
                    customer_id=r.customer_id,
                    program=program,
                    distributor_id=r.distributor_id,
                    item=item,
                    quantity=sum(int(f["quantity"]) for f in r.card["free_goods"]),
                    redeemed_on=r.redeemed_on,
                    unit_cost=prices.get((r.retailer_id, sku_key(item.sku))),
                    now=now,
                ),
                program.rebate_amount,
            )
            rewards[table].append(values)
        s.flush()
        s.execute(insert(EVENTS), events)
        for table, values_list in rewards.items():
            if values_list:
                s.execute(insert(table), values_list)
        return ApproveResult(tuple(r.id for r in rows), len(rewards[FREE_GOODS]), len(rewards[REBATES]))


def _free_item_id(r: PosRedemption) -> int:
    item_id = r.card["free_goods"][0].get("program_item_id")
    if item_id is None:  # a passed card always has it; anything else is a corrupted row
        raise IllegalTransitionError(f"redemption {r.id} has no resolved free good; import the card again")
    return int(item_id)
