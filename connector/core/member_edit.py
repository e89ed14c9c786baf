"""Correcting a member's details without a shell, checked by the rules the fulfilment will apply.

The rules belong to the plugins (``connector_check_member``): the Shopify plugin answers with its
own address validation, the email plugin asks for an email address. A value the plugin would call
malformed is refused and nothing is stored; an empty field a plugin needs is stored with a warning,
because support often fills a profile in over several calls, and a redemption it blocks is simply
not retried yet. Every change lands on the timelines of the member's redemptions, naming the fields
(never their values: timelines must not become a second copy of personal data) and who changed them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ConflictError, NotFoundError, ValidationError
from connector.core.hooktypes import MEMBER_FIELD_LABELS, CheckProblem
from connector.core.model import RedemptionStatus
from connector.core.redemptions import retry_redemption
from connector.core.runtime import Runtime
from connector.core.snapshots import member_info
from connector.core.tables import Member, Redemption, Reward
from connector.core.timeline import record_event

#: The fields support may correct, in form order, with the label messages use (the plugins use the same).
EDITABLE: dict[str, str] = MEMBER_FIELD_LABELS
#: What each column holds at most (the schema's lengths): checked before a plugin sees the value.
MAX_LENGTH: dict[str, int] = {
    "first_name": 100,
    "last_name": 100,
    "email": 255,
    "phone": 40,
    "address1": 255,
    "address2": 255,
    "city": 120,
    "province_code": 10,
    "country_code": 2,
    "zip": 20,
}
_LENGTH_HINTS = {
    "country_code": "use the two-letter ISO code, e.g. US, CA or GB",
    "province_code": "use the state or province code, e.g. NY or ON",
}
#: Error codes a change to the member's details can cure (the plugins' catalogue, errors.py).
MEMBER_ERROR_CODES = frozenset({"crm_id_not_found", "missing_user_information"})
#: The code of "a field the fulfilment needs is empty": stored with a warning, never refused.
INCOMPLETE = "missing_user_information"
OPEN_STATUSES = (RedemptionStatus.PENDING, RedemptionStatus.ERROR)


@dataclass(frozen=True)
class MemberWarning:
    """A plugin's problem that did not stop the save (an empty field it needs), for the page to show."""

    channel: str
    problem: CheckProblem


@dataclass(frozen=True)
class MemberUpdate:
    member_id: int
    #: Names of the fields whose value changed (``EDITABLE`` keys, in form order).
    changed: tuple[str, ...]
    warnings: tuple[MemberWarning, ...] = ()
    #: Redemption ids put back to pending by "Save and retry".
    retried: tuple[int, ...] = ()
    #: Redemption ids in error for a member reason that this save did not unblock, with why.
    still_blocked: dict[int, str] = field(default_factory=dict)


def parse_birth_date(raw: str) -> date | None:
    """A form's ``YYYY-MM-DD`` (empty: no date), or ``ValidationError`` saying how to write it."""
    text = raw.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            "date of birth is not a date", fields={"date_of_birth": "write it as YYYY-MM-DD, e.g. 1990-12-10"}
        ) from None


def clean_changes(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The given editable fields, trimmed (empty text becomes None), or ``ValidationError`` for them all at once."""
    unknown = sorted(set(raw) - set(EDITABLE))
    if unknown:
        raise ValidationError(
            f"these member fields cannot be edited: {', '.join(unknown)}",
            fields={name: "not an editable member field" for name in unknown},
        )
    out: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, value in raw.items():
        if name == "date_of_birth":
            if isinstance(value, str):
                try:
                    value = parse_birth_date(value)
                except ValidationError as exc:
                    problems.update(exc.fields)
                    continue
            out[name] = value
            continue
        text = " ".join(str(value).split()) if value is not None else ""
        if has_control_characters(text):
            problems[name] = f"{EDITABLE[name]} contains invisible control characters: remove them"
            continue
        if len(text) > MAX_LENGTH[name]:
            hint = _LENGTH_HINTS.get(name, "shorten it")
            problems[name] = f"{EDITABLE[name]} is longer than {MAX_LENGTH[name]} characters: {hint}"
            continue
        if name in ("first_name", "last_name"):
            out[name] = text
        else:
            out[name] = text or None
    if problems:
        raise ValidationError(_summary(problems), fields=problems)
    return out


def has_control_characters(text: str, allowed: str = "") -> bool:
    """Control characters (and lone surrogates) no column may store: PostgreSQL refuses NUL outright."""
    return any(
        (unicodedata.category(ch) == "Cc" and ch not in allowed) or unicodedata.category(ch) == "Cs" for ch in text
    )


def _summary(problems: Mapping[str, str]) -> str:
    return "the member was not saved: " + "; ".join(problems.values())


def channels_to_check(s: Session, member: Member) -> list[str]:
    """The channels whose rules the member must meet: every active reward of the brand, and open redemptions."""
    by_rewards = s.scalars(
        select(Reward.channel).where(Reward.brand_id == member.brand_id, Reward.active.is_(True)).distinct()
    ).all()
    by_redemptions = s.scalars(
        select(Redemption.channel)
        .where(Redemption.member_id == member.id, Redemption.status.in_(OPEN_STATUSES))
        .distinct()
    ).all()
    return sorted(set(by_rewards) | set(by_redemptions))


def check_member(rt: Runtime, member: Member, channels: list[str]) -> dict[str, list[CheckProblem]]:
    """Each channel's problems with the member as it stands (channels no plugin checks are left out)."""
    info = member_info(member)
    out: dict[str, list[CheckProblem]] = {}
    for channel in channels:
        found: list[CheckProblem] | None = rt.plugins.hook.connector_check_member(
            member=info, channel=channel, ctx=rt.hook_context(channel)
        )
        if found is not None:
            out[channel] = list(found)
    return out


def blocked_redemptions(s: Session, member_id: int) -> list[Redemption]:
    """The member's redemptions in error for a reason a change to their details can cure."""
    return list(
        s.scalars(
            select(Redemption)
            .where(
                Redemption.member_id == member_id,
                Redemption.status == RedemptionStatus.ERROR,
                Redemption.error_code.in_(MEMBER_ERROR_CODES),
            )
            .order_by(Redemption.id)
        )
    )


def load_member(s: Session, actor: Actor, member_id: int, *, lock: bool = False) -> Member:
    actor.check_sees_redemptions()
    q = select(Member).where(Member.id == member_id)
    m = s.scalars(q.with_for_update() if lock else q).one_or_none()
    if m is None or not actor.sees_brand(m.brand_id):
        raise NotFoundError("member not found")
    return m


def update_member(
    rt: Runtime, actor: Actor, member_id: int, raw: Mapping[str, Any], *, retry: bool = False
) -> MemberUpdate:
    """Store the corrected details if no plugin would call any of them malformed; optionally retry what they cure.

    Refused (``ValidationError``, nothing stored) when a value is too long for its column or a plugin
    reports a malformed value; the message and fix are the plugin's own. With ``retry``, each redemption
    in error for a member reason is retried when this save changed a field its error names (or its error
    names none) and its channel's check now passes.
    """
    actor.check_can_act()
    changes = clean_changes(raw)
    now = rt.now()
    with transaction(rt.sessions) as s:
        m = load_member(s, actor, member_id, lock=True)
        if m.redacted_at is not None:
            raise ConflictError("this member's personal data was erased at the shop's request; it cannot be edited")
        changed = tuple(name for name in EDITABLE if name in changes and getattr(m, name) != changes[name])
        for name in changed:
            setattr(m, name, changes[name])
        with s.no_autoflush:  # checked before anything is written
            problems = check_member(rt, m, channels_to_check(s, m))
        refused = {ch: [p for p in found if p.code != INCOMPLETE] for ch, found in problems.items()}
        refusals = [p for found in refused.values() for p in found]
        if refusals:
            raise _refusal(refusals)  # rolls back: nothing stored
        warnings = tuple(MemberWarning(ch, p) for ch, found in problems.items() for p in found)
        if changed:
            m.updated_at = now
            message = "member details changed: " + ", ".join(EDITABLE[name] for name in changed)
            for r in s.scalars(select(Redemption).where(Redemption.member_id == m.id).order_by(Redemption.id)):
                record_event(
                    s,
                    r,
                    actor=actor.name,
                    kind="member_updated",
                    at=now,
                    message=message,
                    detail={"fields": list(changed)},
                )
        blocked = blocked_redemptions(s, m.id)
        to_retry, still_blocked = _sort_blocked(blocked, changed, problems)
    retried: list[int] = []
    if retry:
        note = "member details corrected (" + ", ".join(EDITABLE[n] for n in changed) + ")"
        for redemption_id in to_retry:
            try:
                retry_redemption(rt, redemption_id, actor, note=note)
            except ConflictError as exc:  # retried by someone else meanwhile: not this save's to do again
                still_blocked[redemption_id] = exc.message
            else:
                retried.append(redemption_id)
    else:
        still_blocked.update({rid: "not retried: use Save and retry" for rid in to_retry})
    return MemberUpdate(member_id, changed, warnings, tuple(retried), still_blocked)


def _sort_blocked(
    blocked: list[Redemption], changed: tuple[str, ...], problems: Mapping[str, list[CheckProblem]]
) -> tuple[list[int], dict[int, str]]:
    """Which blocked redemptions this save cures, and why each other one stays blocked."""
    to_retry: list[int] = []
    still: dict[int, str] = {}
    for r in blocked:
        error_fields = {name for name in (r.error_field or "").split(",") if name}
        remaining = problems.get(r.channel, [])
        if remaining:
            still[r.id] = remaining[0].message
        elif not changed:
            still[r.id] = "nothing was changed"
        elif error_fields and not error_fields & set(changed):
            names = ", ".join(EDITABLE.get(n, n) for n in sorted(error_fields))
            still[r.id] = f"its error names {names}, which this save did not change"
        else:
            to_retry.append(r.id)
    return to_retry, still


def _refusal(problems: list[CheckProblem]) -> ValidationError:
    fields: dict[str, str] = {}
    for p in problems:
        for name, text in p.field_messages:
            fields.setdefault(name, text)
        for name in p.fields or ("_member",):
            fields.setdefault(name, p.message)
    text = " ".join(f"{p.message} {p.fix}".strip() for p in problems)
    return ValidationError(f"the member was not saved: {text}", fields=fields)
