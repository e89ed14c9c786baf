"""The brand (manufacturer) side of free goods: what direct- and retailer-fulfilled programs owe and have
credited, and the batches distributors grouped for MFG credit.

Seed 000: in a Direct Fulfillment program "the Manufacturer is directly monitoring the fulfillment of their
program"; in a Retailer Fulfilled program the store secures reimbursement itself. Their free goods have no
distributor, so they never appear in the Distributor Portal or on the retailer's Distributor Free Goods Credit
Status. This module is their view, for brand admins and viewers (their own brand only), support and platform
admins (every brand, or one by ``brand_id``).

The smallest faithful lifecycle, on the same tables as the distributor's: a processed redemption of such a
program becomes a free good ``unbatched`` (shown here as **Owed**); the brand side marks it **Credited**
(``credit_direct``: ``unbatched → credited``) once the manufacturer has reimbursed the store. There is no
batching step (a Batch Report is a distributor's, for one retailer and one credit memo), and declining or
holding stays with the platform admin's existing moves (shown as **Declined/Held**).

Alongside, the brand sees the **Batches Grouped for MFG Credit** of its distributor-fulfilled programs: the
credit groups distributors made to claim from the manufacturer, with totals over the brand's free goods only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, select

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import IllegalTransitionError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.frequent_buyer.distribution import (
    REASON_MAX,
    BatchView,
    FreeGoodView,
    batch_select,
    batch_view,
    clean_ids,
    effective_unit_cost,
    free_good_scope,
    free_good_select,
    free_good_view,
    lock_free_goods,
    optional_text,
)
from connector.core.frequent_buyer.distribution.moves import _check_moves, _update_free_goods
from connector.core.frequent_buyer.events import record_event
from connector.core.frequent_buyer.model import BatchStatus, CreditEvent, CreditStatus, FulfilmentType
from connector.core.frequent_buyer.tables import Batch, CreditGroup, FreeGood, PriceListEntry
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import Brand

#: Page size of a section (the newest ids first); ``more`` says when there are more.
PAGE_MAX = 500


class BrandSection(StrEnum):
    OWED = "owed"
    CREDITED = "credited"
    DECLINED_HELD = "declined-held"


SECTION_TITLES: dict[BrandSection, str] = {
    BrandSection.OWED: "Owed",
    BrandSection.CREDITED: "Credited",
    BrandSection.DECLINED_HELD: "Declined/Held",
}

_SECTION_STATUSES: dict[BrandSection, tuple[CreditStatus, ...]] = {
    BrandSection.OWED: (CreditStatus.UNBATCHED,),
    BrandSection.CREDITED: (CreditStatus.CREDITED,),
    BrandSection.DECLINED_HELD: (CreditStatus.DECLINED, CreditStatus.HELD),
}

#: The fulfilment types this view is about: no distributor stands between the brand and the store.
BRAND_FULFILLED = (FulfilmentType.DIRECT, FulfilmentType.RETAILER)

_READERS = {Role.PLATFORM_ADMIN, Role.SUPPORT, Role.BRAND_ADMIN, Role.VIEWER}
_ACTORS = {Role.PLATFORM_ADMIN, Role.BRAND_ADMIN}


@dataclass(frozen=True)
class SectionCount:
    free_goods: int
    quantity: int
    approximate_cost: Decimal | None


@dataclass(frozen=True)
class MfgCreditGroup:
    """A distributor's credit group as the brand sees it: totals over the brand's free goods in it."""

    id: int
    distributor_id: int
    distributor_name: str
    description: str
    created_by: str
    created_at: Any
    batches: list[BatchView]
    free_goods: int
    quantity: int
    approximate_cost: Decimal | None


@dataclass(frozen=True)
class BrandFulfilment:
    brand_id: int | None
    brand_name: str | None
    section: BrandSection
    fulfilment_type: FulfilmentType | None
    #: Per section: free goods, quantity and approximate cost (over the costed ones).
    counts: dict[BrandSection, SectionCount]
    free_goods: list[FreeGoodView]
    more: bool
    mfg_groups: list[MfgCreditGroup] = field(default_factory=list)


def check_reads_brand_fulfilment(actor: Actor) -> None:
    if actor.role not in _READERS:
        raise PermissionDeniedError(
            f"role {actor.role.value} does not see the brand's fulfilment; distributors have the Distributor "
            "Portal and retailers their credit status"
        )


def check_credits_direct(actor: Actor) -> None:
    if actor.role not in _ACTORS:
        raise PermissionDeniedError(
            f"role {actor.role.value} cannot mark free goods credited for the manufacturer; a brand admin (or a "
            "platform admin) does"
        )


def parse_brand_section(value: str | None) -> BrandSection:
    try:
        return BrandSection((value or BrandSection.OWED.value).strip().lower())
    except ValueError:
        raise ValidationError(
            "unknown section",
            fields={"section": f"one of: {', '.join(s.value for s in BrandSection)}; got {value!r}"},
        ) from None


def _brand_filter(s: Any, actor: Actor, brand_id: int | None) -> tuple[int | None, str | None]:
    """The brand shown: a brand-scoped actor's own (another brand's id is not found), or the one asked for."""
    wanted = brand_id if brand_id is not None else actor.brand_id
    if wanted is None:
        return None, None
    if actor.brand_id is not None and wanted != actor.brand_id:
        raise NotFoundError(f"brand {wanted} not found")
    name = s.scalar(select(Brand.name).where(Brand.id == wanted))
    if name is None:
        raise NotFoundError(f"brand {wanted} not found")
    return wanted, name


def brand_fulfilment(
    rt: Runtime,
    actor: Actor,
    *,
    brand_id: int | None = None,
    section: BrandSection | str = BrandSection.OWED,
    fulfilment_type: FulfilmentType | str | None = None,
    limit: int = 100,
) -> BrandFulfilment:
    """One section of the brand's direct/retailer-fulfilled free goods, the counts of every section, and the
    batches its distributors grouped for MFG credit."""
    check_reads_brand_fulfilment(actor)
    chosen = parse_brand_section(section) if isinstance(section, str) else section
    kinds: tuple[FulfilmentType, ...] = BRAND_FULFILLED
    if fulfilment_type:
        try:
            kind = FulfilmentType(fulfilment_type)
        except ValueError:
            kind = None
        if kind not in BRAND_FULFILLED:
            raise ValidationError(
                "unknown fulfilment type",
                fields={"fulfilment_type": f"direct or retailer (the programs without a distributor); got "
                        f"{fulfilment_type!r}"},
            )  # fmt: skip
        kinds = (kind,)
    if not 1 <= limit <= PAGE_MAX:
        raise ValidationError("limit out of range", fields={"limit": f"from 1 to {PAGE_MAX}"})
    with rt.sessions() as s:
        shown_brand, brand_name = _brand_filter(s, actor, brand_id)
        where = [
            *free_good_scope(actor),
            FreeGood.distributor_id.is_(None),
            FreeGood.fulfilment_type.in_([k.value for k in kinds]),
        ]
        if shown_brand is not None:
            where.append(FreeGood.brand_id == shown_brand)
        rows = s.execute(
            free_good_select()
            .where(*where, FreeGood.status.in_(_SECTION_STATUSES[chosen]))
            .order_by(FreeGood.id.desc())
            .limit(limit + 1)
        ).all()
        goods = [free_good_view(r) for r in rows[:limit]]
        counts = _counts(s, where)
        groups = _mfg_groups(s, actor, shown_brand)
    kind_shown = kinds[0] if len(kinds) == 1 else None
    return BrandFulfilment(shown_brand, brand_name, chosen, kind_shown, counts, goods, len(rows) > limit, groups)


def _counts(s: Any, where: list[Any]) -> dict[BrandSection, SectionCount]:
    cost = effective_unit_cost()  # as the rows show it: the processing-time cost, else the price list's
    price = and_(PriceListEntry.retailer_id == FreeGood.retailer_id, PriceListEntry.sku == FreeGood.sku)
    q = (
        select(
            FreeGood.status, func.count(FreeGood.id), func.sum(FreeGood.quantity), func.sum(cost * FreeGood.quantity)
        )
        .outerjoin(PriceListEntry, price)
        .where(*where)
        .group_by(FreeGood.status)
    )
    totals = {status: (int(n or 0), int(qty or 0), c) for status, n, qty, c in s.execute(q)}
    out: dict[BrandSection, SectionCount] = {}
    for section, statuses in _SECTION_STATUSES.items():
        n = sum(totals.get(st, (0, 0, None))[0] for st in statuses)
        qty = sum(totals.get(st, (0, 0, None))[1] for st in statuses)
        costs = [Decimal(str(totals[st][2])) for st in statuses if st in totals and totals[st][2] is not None]
        out[section] = SectionCount(n, qty, sum(costs, Decimal("0")).quantize(Decimal("0.01")) if costs else None)
    return out


def _mfg_groups(s: Any, actor: Actor, brand_id: int | None) -> list[MfgCreditGroup]:
    rows = s.execute(
        batch_select(actor, brand_id=brand_id)
        .where(Batch.status == BatchStatus.GROUPED, Batch.credit_group_id.is_not(None))
        .order_by(Batch.credit_group_id.desc(), Batch.id)
    ).all()
    by_group: dict[int, list[BatchView]] = {}
    for r in rows:
        view = batch_view(r)
        assert view.credit_group_id is not None
        by_group.setdefault(view.credit_group_id, []).append(view)
    if not by_group:
        return []
    groups = {g.id: g for g in s.scalars(select(CreditGroup).where(CreditGroup.id.in_(list(by_group))))}
    out: list[MfgCreditGroup] = []
    for group_id, batches in by_group.items():
        g = groups[group_id]
        costs = [b.approximate_cost for b in batches if b.approximate_cost is not None]
        out.append(
            MfgCreditGroup(
                id=g.id,
                distributor_id=g.distributor_id,
                distributor_name=batches[0].distributor_name,
                description=g.description,
                created_by=g.created_by,
                created_at=g.created_at,
                batches=batches,
                free_goods=sum(b.free_goods for b in batches),
                quantity=sum(b.quantity for b in batches),
                approximate_cost=sum(costs, Decimal("0.00")) if costs else None,
            )
        )
    return out


@dataclass(frozen=True)
class BrandChoice:
    id: int
    name: str


def list_brands(rt: Runtime, actor: Actor) -> list[BrandChoice]:
    """The brands the actor may pick on the page: its own, or every brand for staff."""
    check_reads_brand_fulfilment(actor)
    with rt.sessions() as s:
        q = select(Brand.id, Brand.name).order_by(Brand.name)
        if actor.brand_id is not None:
            q = q.where(Brand.id == actor.brand_id)
        return [BrandChoice(i, n) for i, n in s.execute(q)]


def mark_direct_credited(rt: Runtime, actor: Actor, free_good_ids: Iterable[Any], note: str | None = None) -> list[int]:
    """Owed → Credited for direct/retailer-fulfilled free goods: the manufacturer reimbursed the store.

    All or nothing: a free good of another brand is not found; a distributor's free good (its distributor
    credits it, through a batch) or one not owed refuses the whole call naming each; nothing happens twice
    (a credited free good cannot be credited again).
    """
    check_credits_direct(actor)
    ids = clean_ids(free_good_ids)
    note = optional_text(note, "note", REASON_MAX)
    now = rt.now()
    with transaction(rt.sessions) as s:
        goods = lock_free_goods(s, actor, ids)
        with_distributor = [g.id for g in goods.values() if g.distributor_id is not None]
        if with_distributor:
            raise ValidationError(
                "only direct- and retailer-fulfilled free goods are credited here",
                fields={
                    "free_good_ids": f"free goods {', '.join(map(str, with_distributor))} are distributor-fulfilled: "
                    "their distributor credits them through a batch. Nothing was changed."
                },
            )
        not_owed = {g.id: g.status for g in goods.values() if g.status != CreditStatus.UNBATCHED}
        if not_owed:
            shown = "; ".join(f"{i} is {st}" for i, st in sorted(not_owed.items()))
            raise IllegalTransitionError(
                f"only owed free goods can be marked credited: {shown}. Nothing was changed.",
                event=CreditEvent.CREDIT_DIRECT.value,
                current={str(i): st for i, st in not_owed.items()},
            )
        targets = _check_moves(goods, CreditEvent.CREDIT_DIRECT)
        _update_free_goods(s, ids, CreditEvent.CREDIT_DIRECT, CreditStatus.CREDITED, now)
        detail = "credited by the manufacturer" + (f": {note}" if note else "")
        for i in ids:
            record_event(
                s,
                "free_good",
                i,
                CreditEvent.CREDIT_DIRECT,
                actor,
                now,
                detail,
                from_status=goods[i].status,
                to_status=targets[i],
            )
    return ids
