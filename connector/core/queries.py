"""Read models: the Fulfillments list with search, filters and keyset pagination.

Keyset (``claimed_at``, ``id``) rather than OFFSET so that page 10,000 costs
what page 1 costs; the cursor is opaque to clients.

Search takes one of three paths, so that the searches support staff make most
(a code or an email read out on the phone) are index lookups at any size:

* a term shaped like a redemption code (``R-`` and ten characters of the code
  alphabet, any case) is that code: equality on the unique ``code`` index;
* a term shaped like an email address is that email, in any case: equality on
  ``lower(members.email)`` (its own index), then the member's redemptions;
* anything else is a substring of the member's name or email, the offer name or
  the code. The member and reward parts are matched in their own (small)
  tables first and the redemptions tested against those ids, rather than
  testing every joined row; on PostgreSQL, trigram indexes serve the member part.
  The code part is left out when the term has a character no code has (a space,
  an ``O``, ...), since it would only make the database test every row for
  nothing. ``list_redemptions`` looks the matching members and rewards up first
  (at most ``SEARCH_ID_CAP`` of each) and passes their ids as values, so the
  planner knows how few they are: a name that matches a handful of members is
  read through ``ix_redemptions_member_id`` instead of walking the whole list,
  and a term that matches nothing at all is answered without reading it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, false, func, literal_column, or_, select
from sqlalchemy.orm import Session, contains_eager

from connector.core.access import Actor
from connector.core.errors import ValidationError
from connector.core.model import TAB_STATUSES, RedemptionStatus, Tab
from connector.core.redemptions import _CODE_ALPHABET
from connector.core.tables import Member, Redemption, Reward

#: What ``redemptions.new_code`` makes: ``R-`` and ten characters of its alphabet.
CODE_SHAPE = re.compile(rf"R-[{re.escape(_CODE_ALPHABET)}]{{10}}")
#: A member's name as search matches it; ``ix_members_name_trgm`` (PostgreSQL) indexes this very expression.
MEMBER_NAME_SEARCH = func.lower(Member.first_name + literal_column("' '") + Member.last_name)
#: Something@something.something, no spaces: looked up as a whole email address. Linear: the domain's first
#: character, then non-dots up to its first later dot, that dot and the rest match one way only (the old
#: ``[^@\s]+\.[^@\s]+`` could split a run of dots many ways, quadratic in the term).
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s][^@\s.]*\.[^@\s]+")
#: The code as search matches a part of it; ``ix_redemptions_code_trgm`` (PostgreSQL, migration 0007) indexes this.
CODE_SEARCH = func.upper(Redemption.code)
#: Every part of a code (upper-cased): some of its ten characters, optionally after ``-`` or ``R-``.
CODE_PART_SHAPE = re.compile(rf"(?:R?-)?[{re.escape(_CODE_ALPHABET)}]{{0,10}}")
#: ``list_redemptions`` passes the ids of at most this many matching members (and rewards) as values;
#: a term matching more (a common name) is left as a subquery, which the list walks newest first anyway.
SEARCH_ID_CAP = 500


@dataclass(frozen=True)
class RedemptionFilter:
    tab: Tab | None = None
    status: RedemptionStatus | None = None
    search: str | None = None
    reward_id: int | None = None
    brand_id: int | None = None
    claimed_from: datetime | None = None
    claimed_to: datetime | None = None


@dataclass(frozen=True)
class Page:
    items: Sequence[Redemption]
    next_cursor: str | None


def encode_cursor(r: Redemption) -> str:
    return base64.urlsafe_b64encode(f"{r.claimed_at.isoformat()}|{r.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(stamp), int(ident)
    except Exception as exc:  # noqa: BLE001 - any malformed cursor is the client's error
        raise ValidationError("invalid cursor", fields={"cursor": "pass back next_cursor unchanged"}) from exc


def filtered(actor: Actor, f: RedemptionFilter, s: Session | None = None) -> Select[Redemption]:
    """The list's query. With a session ``s`` the search's members and rewards are looked up first (see
    ``search_condition``); without one (the CSV export, which reads every match anyway) they stay subqueries."""
    actor.check_sees_redemptions()
    q = (
        select(Redemption)
        .join(Member, Member.id == Redemption.member_id)
        .join(Reward, Reward.id == Redemption.reward_id)
        .options(contains_eager(Redemption.member), contains_eager(Redemption.reward))
    )
    if actor.brand_id is not None:
        q = q.where(Redemption.brand_id == actor.brand_id)
    if f.brand_id is not None:
        q = q.where(Redemption.brand_id == f.brand_id)
    if f.tab is not None:
        q = q.where(Redemption.status.in_(TAB_STATUSES[f.tab]))
    if f.status is not None:
        q = q.where(Redemption.status == f.status)
    if f.reward_id is not None:
        q = q.where(Redemption.reward_id == f.reward_id)
    if f.claimed_from is not None:
        q = q.where(Redemption.claimed_at >= f.claimed_from)
    if f.claimed_to is not None:
        q = q.where(Redemption.claimed_at < f.claimed_to)
    term = (f.search or "").strip()
    if term:
        q = q.where(search_condition(term, s))
    return q


def search_condition(term: str, s: Session | None = None) -> ColumnElement[bool]:
    """The search box's condition on redemptions (see the module's docstring for the three paths).

    With a session, the members and rewards the term matches are read first and, when there are at
    most ``SEARCH_ID_CAP`` of each, passed as id values (none at all drops that part, and a term that
    matches nothing anywhere is ``false``); the rows found are the same either way.
    """
    if CODE_SHAPE.fullmatch(term.upper()):
        return Redemption.code == term.upper()
    if EMAIL_SHAPE.fullmatch(term):
        return Redemption.member_id.in_(select(Member.id).where(func.lower(Member.email) == term.lower()))
    pattern = "%" + escape_like(term.lower()) + "%"
    members = select(Member.id).where(
        or_(MEMBER_NAME_SEARCH.like(pattern, escape="\\"), func.lower(Member.email).like(pattern, escape="\\"))
    )
    rewards = select(Reward.id).where(func.lower(Reward.name).like(pattern, escape="\\"))
    code = [CODE_SEARCH.like(pattern.upper(), escape="\\")] if CODE_PART_SHAPE.fullmatch(term.upper()) else []
    if s is not None:
        member_ids = _few_ids(s, members)
        reward_ids = _few_ids(s, rewards) if member_ids is not None else None
        if member_ids is not None and reward_ids is not None:
            parts = [
                column.in_(ids)
                for column, ids in ((Redemption.member_id, member_ids), (Redemption.reward_id, reward_ids))
                if ids
            ]
            return or_(*parts, *code) if parts or code else false()
    # Many matches (or no session): the subqueries. Keep them OR-ed: PostgreSQL then tests each row against
    # hashed ids while walking the list newest first; a lone "member_id IN (subquery)" becomes a semi-join
    # that looks each row's member up (4x slower for a common name).
    return or_(Redemption.member_id.in_(members), Redemption.reward_id.in_(rewards), *code)


def _few_ids(s: Session, ids: Select[int]) -> list[int] | None:
    """The ids the query finds, sorted, or ``None`` when there are more than ``SEARCH_ID_CAP``.

    The cap is applied outside a ``MATERIALIZED`` CTE, which PostgreSQL plans for all its rows (and still
    reads lazily): under a bare ``LIMIT`` (or an ``OFFSET 0`` subquery, which inherits the limit) it scans
    the members table until the cap instead of using the trigram indexes (40-60 ms instead of 2-5 for a
    common name at 100,000 members).
    """
    found_ids = ids.cte("search_ids").prefix_with("MATERIALIZED", dialect="postgresql")
    found = s.scalars(select(found_ids.c.id).limit(SEARCH_ID_CAP + 1)).all()
    return sorted(found) if len(found) <= SEARCH_ID_CAP else None


def escape_like(text: str) -> str:
    """``text`` matched literally by LIKE: its ``%``, ``_`` and the escape character itself escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def older_than(at: datetime, ident: int) -> ColumnElement[bool]:
    """Rows after (``at``, ``ident``) in the list's order (newest first): the keyset condition.

    The redundant ``claimed_at <= at`` lets PostgreSQL seek straight into the (claimed_at, id)
    index; with the OR alone it reads every row before the cursor again (0.1-0.2 s at row
    600,000 of a million, against a few milliseconds with the bound).
    """
    return and_(
        Redemption.claimed_at <= at,
        or_(Redemption.claimed_at < at, and_(Redemption.claimed_at == at, Redemption.id < ident)),
    )


def list_redemptions(
    s: Session, actor: Actor, f: RedemptionFilter, *, limit: int = 50, cursor: str | None = None
) -> Page:
    if not 1 <= limit <= 500:
        raise ValidationError("invalid limit", fields={"limit": "between 1 and 500"})
    q = filtered(actor, f, s)
    if cursor:
        q = q.where(older_than(*decode_cursor(cursor)))
    rows = s.scalars(q.order_by(Redemption.claimed_at.desc(), Redemption.id.desc()).limit(limit + 1)).unique().all()
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(items[-1]) if len(rows) > limit else None)
