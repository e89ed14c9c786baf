"""The notices the database says are owed, derived afresh on every run (so a lost job loses nothing).

* **Denials** (seed 003, "we will email you about denials"): each POS report uploaded in the last
  ``LOOKBACK`` with denied redemptions, to each active user of *that report's retailer*: every denial with
  its card, rows, customer name, the seeds' reason, the detail and what to do about it.
* **Credited**: each batch marked fulfilled/credited in the last ``LOOKBACK``, to each active user of the
  batch's retailer.
* **Daily digest of New Rewards**: for each of the last ``LOOKBACK`` UTC days before today, to each active
  user of a distributor that got new rewards that day: how many, per retailer and program. A day is only
  digested once it is over, so its content is final.

Users who switched a kind off get none of it; a notice already written (sent or not) is never written again.
The lookback keeps a fresh install (or a user's first run) from emailing the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from connector.core.frequent_buyer.model import PosRedemptionStatus as PS
from connector.core.frequent_buyer.model import denial_label
from connector.core.frequent_buyer.notice_tables import FbNotice, FbNoticeOptOut
from connector.core.frequent_buyer.notices.preferences import NoticeKind
from connector.core.frequent_buyer.pos_dashboard import denial_of
from connector.core.frequent_buyer.tables import (
    Batch,
    Customer,
    Distributor,
    FreeGood,
    PosRedemption,
    PosReport,
    Program,
    Retailer,
)
from connector.core.model import Role
from connector.core.tables import User

LOOKBACK = timedelta(days=2)
#: Lines listed in one email; the rest are counted ("and N more") and the console has them all.
MAX_LINES = 100


@dataclass(frozen=True)
class OwedNotice:
    user_id: int
    to_email: str
    kind: NoticeKind
    subject_key: str
    subject: str
    body: str


def _recipients(s: Session, kind: NoticeKind, role: Role, **scope: int) -> list[tuple[int, str]]:
    """Active users of the role and party (``retailer_id=`` or ``distributor_id=``) who did not switch ``kind`` off."""
    q = select(User.id, User.email).where(User.role == role.value, User.disabled_at.is_(None))
    for column, value in scope.items():
        q = q.where(getattr(User, column) == value)
    q = q.where(~exists().where(FbNoticeOptOut.user_id == User.id, FbNoticeOptOut.kind == kind.value))
    return [(r[0], r[1]) for r in s.execute(q.order_by(User.id))]


def _unsent_to(s: Session, kind: NoticeKind, key: str, users: list[tuple[int, str]]) -> list[tuple[int, str]]:
    if not users:
        return []
    done = set(
        s.scalars(
            select(FbNotice.user_id).where(
                FbNotice.kind == kind.value,
                FbNotice.subject_key == key,
                FbNotice.user_id.in_([u for u, _ in users]),
            )
        )
    )
    return [(u, e) for u, e in users if u not in done]


def _more(total: int, shown: int) -> str:
    return f"\n... and {total - shown} more (the console lists them all).\n" if total > shown else ""


def _link(public_url: str | None, path: str) -> str:
    return f"\n{public_url.rstrip('/')}{path}\n" if public_url else ""


def denial_notices(s: Session, now: datetime, public_url: str | None) -> list[OwedNotice]:
    owed: list[OwedNotice] = []
    reports = s.execute(
        select(PosReport.id, PosReport.retailer_id, PosReport.filename, PosReport.uploaded_at, Retailer.name)
        .join(Retailer, Retailer.id == PosReport.retailer_id)
        .where(
            PosReport.uploaded_at >= now - LOOKBACK,
            exists().where(PosRedemption.report_id == PosReport.id, PosRedemption.status == PS.DENIED.value),
        )
        .order_by(PosReport.id)
    ).all()
    for report_id, retailer_id, filename, uploaded_at, retailer_name in reports:
        key = f"report-{report_id}"
        users = _unsent_to(
            s, NoticeKind.DENIALS, key, _recipients(s, NoticeKind.DENIALS, Role.RETAILER, retailer_id=retailer_id)
        )
        if not users:
            continue
        denied = s.execute(
            select(PosRedemption, Customer.name)
            .outerjoin(Customer, Customer.id == PosRedemption.customer_id)
            .where(PosRedemption.report_id == report_id, PosRedemption.status == PS.DENIED.value)
            .order_by(PosRedemption.id)
        ).all()
        lines = []
        for r, name in denied[:MAX_LINES]:
            rows = ", ".join(map(str, r.source_rows or ())) or "?"
            denial = denial_of(r.denial_reason, r.denial_detail)
            fix = denial.fix if denial is not None else ""
            lines.append(
                f"- Card {r.pos_key} (rows {rows}, redeemed {r.redeemed_on.isoformat()}, customer {name or '-'}): "
                f"{denial_label(r.denial_reason)}. {r.denial_detail or ''}\n  What to do: {fix}"
            )
        body = (
            f"Your POS report {filename} for {retailer_name}, uploaded {uploaded_at:%Y-%m-%d %H:%M} UTC, has "
            f"{len(denied)} denied redemption(s). A denied redemption is not sent to your distributor for credit "
            "until a corrected row is resubmitted.\n\n" + "\n".join(lines) + _more(len(denied), len(lines))
            + _link(public_url, f"/admin/pos-reports/{report_id}")
        )  # fmt: skip
        subject = f"{len(denied)} denied redemption(s) in your POS report {filename}"
        owed += [OwedNotice(u, e, NoticeKind.DENIALS, key, subject, body) for u, e in users]
    return owed


def credited_notices(s: Session, now: datetime, public_url: str | None) -> list[OwedNotice]:
    owed: list[OwedNotice] = []
    batches = s.execute(
        select(
            Batch.id,
            Batch.retailer_id,
            Batch.description,
            Batch.fulfilled_at,
            Distributor.name,
            Batch.credit_memo_number,
            Batch.credit_memo_amount,
        )
        .join(Distributor, Distributor.id == Batch.distributor_id)
        .where(Batch.fulfilled_at.is_not(None), Batch.fulfilled_at >= now - LOOKBACK)
        .order_by(Batch.id)
    ).all()
    for batch_id, retailer_id, description, fulfilled_at, distributor, memo_number, memo_amount in batches:
        key = f"batch-{batch_id}"
        users = _unsent_to(
            s, NoticeKind.CREDITED, key, _recipients(s, NoticeKind.CREDITED, Role.RETAILER, retailer_id=retailer_id)
        )
        if not users:
            continue
        count, quantity = s.execute(
            select(func.count(), func.coalesce(func.sum(FreeGood.quantity), 0)).where(FreeGood.batch_id == batch_id)
        ).one()
        body = (
            f"{distributor} marked batch {batch_id} ({description}) credited on {fulfilled_at:%Y-%m-%d}: "
            f"{count} free good(s), {quantity} item(s)."
            + (
                f" The distributor recorded credit memo {memo_number} for ${memo_amount:,.2f}."
                if memo_number and memo_amount is not None
                else ""
            )
            + " Compare it with the credit memo your distributor sends you and reconcile it under Distributor"
            " Free Goods Credit Status.\n" + _link(public_url, f"/admin/credit-status/batches/{batch_id}")
        )
        subject = f"Batch {batch_id} from {distributor} was credited"
        owed += [OwedNotice(u, e, NoticeKind.CREDITED, key, subject, body) for u, e in users]
    return owed


def digest_notices(s: Session, now: datetime, public_url: str | None) -> list[OwedNotice]:
    owed: list[OwedNotice] = []
    today = now.astimezone(UTC).date()
    days = [today - timedelta(days=n) for n in range(LOOKBACK.days, 0, -1)]
    for distributor_id, name in s.execute(select(Distributor.id, Distributor.name).order_by(Distributor.id)).all():
        for day in days:
            owed += _digest(s, distributor_id, name, day, public_url)
    return owed


def _digest(s: Session, distributor_id: int, name: str, day: date, public_url: str | None) -> list[OwedNotice]:
    key = f"day-{day.isoformat()}"
    users = _unsent_to(
        s, NoticeKind.NEW_REWARDS_DIGEST, key,
        _recipients(s, NoticeKind.NEW_REWARDS_DIGEST, Role.DISTRIBUTOR, distributor_id=distributor_id),
    )  # fmt: skip
    if not users:
        return []
    start = datetime.combine(day, time.min, tzinfo=UTC)
    groups = s.execute(
        select(Retailer.name, Program.name, func.count(), func.sum(FreeGood.quantity))
        .join(Retailer, Retailer.id == FreeGood.retailer_id)
        .join(Program, Program.id == FreeGood.program_id)
        .where(
            FreeGood.distributor_id == distributor_id,
            FreeGood.created_at >= start,
            FreeGood.created_at < start + timedelta(days=1),
        )
        .group_by(Retailer.name, Program.name)
        .order_by(Retailer.name, Program.name)
    ).all()
    total = sum(int(g[2]) for g in groups)
    if not total:
        return []
    lines = [f"- {retailer}, {program}: {n} New Reward(s), {qty} item(s)" for retailer, program, n, qty in groups]
    body = (
        f"{name} got {total} New Reward(s) on {day.isoformat()} (UTC). They wait in Unbatched Free Goods "
        "for you to roll into Batch Reports.\n\n" + "\n".join(lines[:MAX_LINES]) + _more(len(lines), MAX_LINES)
        + _link(public_url, "/admin/distribution")
    )  # fmt: skip
    subject = f"{total} New Reward(s) on {day.isoformat()}"
    return [OwedNotice(u, e, NoticeKind.NEW_REWARDS_DIGEST, key, subject, body) for u, e in users]
