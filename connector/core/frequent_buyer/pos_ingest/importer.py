"""The import use case: one transaction that checks, maps, judges and stores every card of a report, or none."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.errors import NotFoundError
from connector.core.frequent_buyer.filenames import clean_filename
from connector.core.frequent_buyer.lifecycle import pos_transition
from connector.core.frequent_buyer.model import PosRedemptionEvent as PE
from connector.core.frequent_buyer.model import PosRedemptionStatus as PS
from connector.core.frequent_buyer.pos_ingest.bulk import Bulk, chunks
from connector.core.frequent_buyer.pos_ingest.checks import check_can_upload, check_report
from connector.core.frequent_buyer.pos_ingest.customers import Cust, Customers
from connector.core.frequent_buyer.pos_ingest.rows import (
    EVENTS,
    FREE_GOODS,
    REBATES,
    card_json,
    event_row,
    free_good_values,
    reward_values,
)
from connector.core.frequent_buyer.pos_ingest.rule_book import load_rule_book
from connector.core.frequent_buyer.pos_ingest.summary import MAX_DENIAL_LINES, DenialLine, ImportSummary
from connector.core.frequent_buyer.pos_types import ParsedReport, PosCard
from connector.core.frequent_buyer.programs import check_retailer_write, record, store_code_key
from connector.core.frequent_buyer.rules import Denied, Outcome, Passed, evaluate_card, sku_key
from connector.core.frequent_buyer.tables import (
    FbEvent,
    PosRedemption,
    PosReport,
    PriceListEntry,
    Retailer,
    RetailerLocation,
)
from connector.core.runtime import Runtime
from connector.core.scheduling import owe_notices

#: Cards written per round trip; bounded memory, few statements.
CHUNK = 2_000

_REDEMPTIONS: Table = PosRedemption.__table__  # type: ignore[assignment]


@dataclass
class _Plan:
    card: PosCard
    prior_id: int | None
    outcome: Outcome
    customer: Cust
    how: str
    id: int = 0


class _Importer:
    def __init__(
        self,
        s: Session,
        actor: Actor,
        now: datetime,
        retailer_id: int,
        report_id: int,
        report: ParsedReport,
        locations: dict[str, int],
        summary: ImportSummary,
        customer: Cust | None = None,
    ) -> None:
        self.s, self.actor, self.now = s, actor, now
        #: The customer every card is for, when the caller already knows them (Checkout looked them up).
        self.pinned = customer
        self.retailer_id, self.report_id, self.report, self.summary = retailer_id, report_id, report, summary
        self.locations = locations
        self.only_location = next(iter(locations.values())) if len(locations) == 1 else None
        self.book = load_rule_book(s, retailer_id, report.cards)
        self.prices = {
            sku_key(sku): cost
            for sku, cost in s.execute(
                select(PriceListEntry.sku, PriceListEntry.unit_cost).where(PriceListEntry.retailer_id == retailer_id)
            )
        }
        self.bulk = Bulk(s)
        self.customers = Customers(self.bulk, retailer_id, report.cards, now)

    def location_of(self, card: PosCard) -> int | None:
        if card.store_code is not None and card.store_code.strip():
            return self.locations[store_code_key(card.store_code)]
        return self.only_location

    def run(self) -> None:
        for chunk in chunks(self.report.cards, CHUNK):
            self._chunk(chunk)
        self.customers.save_filled(self.s)
        self.summary.customers_created = self.customers.created
        self.summary.customers_matched = self.customers.matched

    def _chunk(self, cards: Sequence[PosCard]) -> None:
        s, summary = self.s, self.summary
        keys = [c.key.strip() for c in cards]
        prior = {
            row.pos_key: (row.id, row.status)
            for row in s.execute(
                select(PosRedemption.id, PosRedemption.pos_key, PosRedemption.status).where(
                    PosRedemption.retailer_id == self.retailer_id, self.bulk.among(PosRedemption.pos_key, keys)
                )
            )
        }
        plans: list[_Plan] = []
        for card, key in zip(cards, keys, strict=True):
            before = prior.get(key)
            if before is not None and before[1] != PS.DENIED:
                summary.already_imported += 1
                continue
            outcome = evaluate_card(card, self.book)
            customer, how = (self.pinned, "checkout") if self.pinned else self.customers.resolve(card.customer)
            plans.append(_Plan(card, before[0] if before else None, outcome, customer, how))
        self.customers.insert_new()

        fresh = [p for p in plans if p.prior_id is None]
        if fresh:
            ids = self.bulk.insert(_REDEMPTIONS, [self._row(p) for p in fresh], ids=True)
            for p, new_id in zip(fresh, ids, strict=True):
                p.id = new_id
        replaced = [p for p in plans if p.prior_id is not None]
        if replaced:
            for p in replaced:
                p.id = p.prior_id or 0
            s.execute(
                update(_REDEMPTIONS)
                .where(_REDEMPTIONS.c.id == bindparam("b_id"))
                .values({name: bindparam("b_" + name) for name in self._row(replaced[0])}),
                [{"b_id": p.id, **{"b_" + k: v for k, v in self._row(p).items()}} for p in replaced],
            )
        events: list[dict[str, Any]] = []
        rewards: dict[Table, list[dict[str, Any]]] = {FREE_GOODS: [], REBATES: []}
        for p in plans:
            self._walk(p, events, rewards)
        self.bulk.insert(EVENTS, events)
        self.bulk.insert(FREE_GOODS, rewards[FREE_GOODS])
        self.bulk.insert(REBATES, rewards[REBATES])
        summary.imported += len(fresh)
        summary.replaced += len(replaced)
        summary.free_goods_created += len(rewards[FREE_GOODS])
        summary.rebates_created += len(rewards[REBATES])

    def _final_status(self, outcome: Outcome) -> PS:
        if isinstance(outcome, Denied):
            return PS.DENIED
        return PS.QUALITY_CHECK if outcome.program.quality_check_required else PS.PROCESSED

    def _row(self, p: _Plan) -> dict[str, Any]:
        outcome = p.outcome
        program = outcome.program
        denied = outcome if isinstance(outcome, Denied) else None
        passed = outcome if isinstance(outcome, Passed) else None
        return {
            "retailer_id": self.retailer_id,
            "report_id": self.report_id,
            "location_id": self.location_of(p.card),
            "pos_key": p.card.key.strip(),
            "source_rows": list(p.card.rows),
            "status": self._final_status(outcome).value,
            "denial_reason": denied.reason.value if denied is not None else None,
            "denial_detail": denied.detail if denied is not None else None,
            "customer_id": p.customer.id,
            "program_id": program.id if program else None,
            "brand_id": program.brand_id if program else None,
            "distributor_id": passed.distributor_id if passed is not None else None,
            "redeemed_on": p.card.redeemed_on,
            "card": card_json(p.card, outcome),
            "updated_at": self.now,
        } | ({"created_at": self.now} if p.prior_id is None else {})

    def _walk(self, p: _Plan, events: list[dict[str, Any]], rewards: dict[Table, list[dict[str, Any]]]) -> None:
        """The moves this card made, as event rows (and its free good, or rebate, when processed)."""
        actor, now, summary = self.actor.name, self.now, self.summary
        state = PS.NEW
        if p.prior_id is not None:
            state = pos_transition(PS.DENIED, PE.RESUBMIT)
            events.append(
                event_row(p.id, PE.RESUBMIT, PS.DENIED, state, actor, now, f"corrected card in report {self.report_id}")
            )
        after = pos_transition(state, PE.MAP_CUSTOMER)
        who = f"created customer {p.customer.id}" if p.how == "created" else f"customer {p.customer.id} by {p.how}"
        events.append(event_row(p.id, PE.MAP_CUSTOMER, state, after, actor, now, who))
        state = after
        outcome = p.outcome
        if isinstance(outcome, Denied):
            after = pos_transition(state, PE.DENY)
            events.append(
                event_row(p.id, PE.DENY, state, after, actor, now, f"{outcome.reason.value}: {outcome.detail}")
            )
            summary.denied += 1
            reason = outcome.reason.value
            summary.denied_by_reason[reason] = summary.denied_by_reason.get(reason, 0) + 1
            if len(summary.denials) < MAX_DENIAL_LINES:
                summary.denials.append(DenialLine(p.id, p.card.key.strip(), tuple(p.card.rows), reason, outcome.detail))
            return
        after = pos_transition(state, PE.PASS_RULES)
        to = f"distributor {outcome.distributor_id}" if outcome.distributor_id else outcome.program.fulfilment_type
        events.append(
            event_row(p.id, PE.PASS_RULES, state, after, actor, now, f"program {outcome.program.name!r}; {to}")
        )
        state = after
        if outcome.program.quality_check_required:
            summary.quality_check += 1
            return
        after = pos_transition(state, PE.PROCESS)
        reward = "free good" if outcome.program.rebate_amount is None else "rebate"
        events.append(event_row(p.id, PE.PROCESS, state, after, actor, now, f"{reward} sent to {to}"))
        summary.processed += 1
        item = outcome.free_item
        table, values = reward_values(
            free_good_values(
                redemption_id=p.id,
                retailer_id=self.retailer_id,
                location_id=self.location_of(p.card),
                customer_id=p.customer.id,
                program=outcome.program,
                distributor_id=outcome.distributor_id,
                item=item,
                quantity=outcome.free_quantity,
                redeemed_on=p.card.redeemed_on,
                unit_cost=self.prices.get(sku_key(item.sku)),
                now=now,
            ),
            outcome.program.rebate_amount,
        )
        rewards[table].append(values)


def record_cards(
    s: Session,
    actor: Actor,
    now: datetime,
    retailer_id: int,
    report_id: int,
    report: ParsedReport,
    summary: ImportSummary,
    *,
    customer: Cust | None = None,
) -> None:
    """Judge and store ``report``'s cards under report ``report_id``: the one write path for POS uploads and Checkout.

    Each card becomes a redemption with its events and, when processed, its free good, exactly as an
    upload makes them; ``customer`` pins every card to a known customer instead of matching one.
    """
    _Importer(
        s, actor, now, retailer_id, report_id, report, retailer_locations(s, retailer_id), summary, customer
    ).run()


def retailer_locations(s: Session, retailer_id: int) -> dict[str, int]:
    """The retailer's locations by store code (as ``store_code_key`` compares them)."""
    return {
        store_code_key(code): loc_id
        for loc_id, code in s.execute(
            select(RetailerLocation.id, RetailerLocation.store_code)
            .where(RetailerLocation.retailer_id == retailer_id)
            .order_by(RetailerLocation.id)
        )
    }


def _stored_summary(s: Session, report: PosReport) -> ImportSummary:
    stored = s.scalar(
        select(FbEvent.detail)
        .where(FbEvent.subject_type == "pos_report", FbEvent.subject_id == report.id, FbEvent.event == "import")
        .order_by(FbEvent.id)
        .limit(1)
    )
    data = json.loads(stored) if stored else {}
    known = {f for f in ImportSummary.__dataclass_fields__ if f != "denials"}
    summary = ImportSummary(
        **{
            "retailer_id": report.retailer_id,
            "filename": report.filename,
            "format": report.format,
            "sha256": report.sha256,
            "row_count": report.row_count,
            "cards": 0,
            **{k: v for k, v in data.items() if k in known},
        }
    )
    denied = s.execute(
        select(
            PosRedemption.id,
            PosRedemption.pos_key,
            PosRedemption.source_rows,
            PosRedemption.denial_reason,
            PosRedemption.denial_detail,
        )
        .where(PosRedemption.report_id == report.id, PosRedemption.status == PS.DENIED)
        .order_by(PosRedemption.id)
        .limit(MAX_DENIAL_LINES)
    )
    summary.denials = [
        DenialLine(r.id, r.pos_key, tuple(r.source_rows or ()), r.denial_reason or "", r.denial_detail or "")
        for r in denied
    ]
    summary.report_id = summary.duplicate_of = report.id
    return summary


def import_pos_report(
    rt: Runtime,
    actor: Actor,
    retailer_id: int,
    report: ParsedReport,
    filename: str,
    *,
    dry_run: bool = False,
) -> ImportSummary:
    """Import a parsed report for a retailer, all or nothing; ``dry_run`` reports the same and stores nothing.

    Raises ``PosReportRejected`` (every bad row and column) when the file cannot be imported,
    ``NotFoundError`` for a retailer the actor cannot act for, ``PermissionDeniedError`` for
    roles that never upload.
    """
    check_can_upload(actor)
    check_retailer_write(actor, retailer_id, "upload POS reports")
    filename = clean_filename(filename)
    s = rt.sessions()
    try:
        # One import per retailer at a time: the lock makes "same file twice" and "same card in two files"
        # sequential, so the second sees the first's rows instead of failing on a unique key.
        retailer = s.scalars(select(Retailer).where(Retailer.id == retailer_id).with_for_update()).one_or_none()
        if retailer is None:
            raise NotFoundError(f"retailer {retailer_id} not found")
        existing = s.scalars(
            select(PosReport).where(PosReport.retailer_id == retailer_id, PosReport.sha256 == report.sha256)
        ).one_or_none()
        if existing is not None:
            summary = _stored_summary(s, existing)
            summary.dry_run = dry_run
            s.rollback()
            return summary
        locations = retailer_locations(s, retailer_id)
        check_report(report, retailer.name, locations, filename)
        now = rt.now()
        row = PosReport(
            retailer_id=retailer_id,
            format=report.format[:50],
            filename=filename,
            sha256=report.sha256,
            row_count=report.row_count,
            uploaded_by=actor.name[:200],
            uploaded_at=now,
        )
        s.add(row)
        s.flush()
        summary = ImportSummary(
            retailer_id=retailer_id,
            filename=filename,
            format=report.format,
            sha256=report.sha256,
            row_count=report.row_count,
            cards=len(report.cards),
            report_id=row.id,
            dry_run=dry_run,
        )
        _Importer(s, actor, now, retailer_id, row.id, report, locations, summary).run()
        record(s, "pos_report", row.id, "import", actor, now, json.dumps(summary.counts(), sort_keys=True))
        if dry_run:
            s.rollback()
            summary.report_id = None
            summary.denials = [DenialLine(None, d.pos_key, d.rows, d.reason, d.detail) for d in summary.denials]
        else:
            if summary.denied:
                owe_notices(s)  # the retailer's users get the denials by email once this commits
            s.commit()
        return summary
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()
