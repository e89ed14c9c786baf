"""Which frequent-buyer notices a user gets, and switching each off (and on again) for their own account.

Every notice is on until its user switches it off (a row in ``fb_notice_optouts``). A user changes their
own preferences; a user manager (a platform admin, a brand admin for its brand's users) may read and change
another user's, within the scope ``user_admin`` gives them. Each kind applies to one role: the retailer's
denials and credited batches to retailer users, the daily digest of new rewards to distributor users.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import NotFoundError, ValidationError
from connector.core.frequent_buyer.notice_tables import FbNoticeOptOut
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import User
from connector.core.user_admin import check_manages_users, is_self
from connector.core.user_admin import load as load_managed_user


class NoticeKind(StrEnum):
    DENIALS = "denials"  # a POS report's denials, with reasons and fixes (seed 003)
    CREDITED = "credited"  # a batch marked fulfilled/credited by the distributor (seed 000)
    NEW_REWARDS_DIGEST = "new_rewards_digest"  # a distributor's day of New Rewards (seed 000)


#: What each notice is, as the preferences page and the API describe it.
NOTICE_LABELS: dict[NoticeKind, str] = {
    NoticeKind.DENIALS: "Denied redemptions in a POS report, with the reasons",
    NoticeKind.CREDITED: "A batch of your free goods was marked credited",
    NoticeKind.NEW_REWARDS_DIGEST: "Daily digest of New Rewards",
}
ROLE_KINDS: dict[Role, tuple[NoticeKind, ...]] = {
    Role.RETAILER: (NoticeKind.DENIALS, NoticeKind.CREDITED),
    Role.DISTRIBUTOR: (NoticeKind.NEW_REWARDS_DIGEST,),
}


@dataclass(frozen=True)
class NoticePreference:
    kind: NoticeKind
    label: str
    enabled: bool


@dataclass(frozen=True)
class NoticePreferences:
    user_id: int
    email: str
    #: Only the kinds that apply to the user's role (none for roles that get no notices).
    preferences: list[NoticePreference]


def _user(s: Session, actor: Actor, user_id: int) -> User:
    """The user if it is the actor itself, or one the actor manages; anyone else's is "not found"."""
    user = s.get(User, user_id)
    if user is not None and is_self(actor, user):
        return user
    check_manages_users(actor)
    return load_managed_user(s, actor, user_id)[0]


def _view(s: Session, user: User) -> NoticePreferences:
    off = set(s.scalars(select(FbNoticeOptOut.kind).where(FbNoticeOptOut.user_id == user.id)))
    kinds = ROLE_KINDS.get(Role(user.role), ())
    return NoticePreferences(
        user.id, user.email, [NoticePreference(k, NOTICE_LABELS[k], k.value not in off) for k in kinds]
    )


def notice_preferences(rt: Runtime, actor: Actor, user_id: int) -> NoticePreferences:
    with rt.sessions() as s:
        return _view(s, _user(s, actor, user_id))


def own_user_id(rt: Runtime, actor: Actor) -> int:
    """The console user behind an actor (``user:<email>``); an API token is no user and is not found."""
    email = actor.name.removeprefix("user:") if actor.name.startswith("user:") else None
    with rt.sessions() as s:
        found = s.scalar(select(User.id).where(User.email == email)) if email else None
    if found is None:
        raise NotFoundError("no user account behind this caller; name the user instead")
    return found


def set_notice_preferences(rt: Runtime, actor: Actor, user_id: int, enabled: Mapping[str, bool]) -> NoticePreferences:
    """Switch the named kinds on or off; kinds left out stay as they are. Unknown kinds change nothing."""
    with transaction(rt.sessions) as s:
        user = _user(s, actor, user_id)
        allowed = {k.value for k in ROLE_KINDS.get(Role(user.role), ())}
        wrong = {k: f"not a notice for a {user.role} user; one of: {', '.join(sorted(allowed)) or 'none'}"
                 for k in enabled if k not in allowed}  # fmt: skip
        if wrong:
            raise ValidationError("unknown notice", fields=wrong)
        for kind, on in enabled.items():
            s.execute(delete(FbNoticeOptOut).where(FbNoticeOptOut.user_id == user.id, FbNoticeOptOut.kind == kind))
            if not on:
                s.add(FbNoticeOptOut(user_id=user.id, kind=kind, opted_out_at=rt.now()))
        s.flush()
        return _view(s, user)
