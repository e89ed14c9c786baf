"""Invitations and password resets: one-time links sent by email, and setting a password through one.

The link carries a random secret; only its SHA-256 is stored (``UserLink.token_digest``), so a
database reader cannot use a pending link. A link works once, until it expires, and stops working
when a newer link of the same user is sent or the user is disabled. The email goes through the
runtime's mailer (SMTP, or the outbox folder when no SMTP server is set), after the transaction
that made the link: a mail failure is reported and audited, and sending again makes a new link.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.core.access import Actor
from connector.core.database import transaction
from connector.core.errors import ConflictError, ConnectorError, ValidationError
from connector.core.model import Role
from connector.core.runtime import Runtime
from connector.core.tables import User
from connector.core.user_admin import (
    Scope,
    audit_user,
    checked_grant,
    load,
    status_of,
    void_links,
)
from connector.core.user_admin_tables import UserLink
from connector.core.users import (
    NO_PASSWORD,
    SCRYPT_N,
    check_password_strength,
    checked_email,
    hash_password,
    replace_password_hash,
)

log = logging.getLogger("connector.user_links")

INVITE, RESET = "invite", "reset"
#: How long a link works: an invitation waits for its person to read their email; a reset is asked for now.
LIFETIME = {INVITE: timedelta(days=3), RESET: timedelta(hours=1)}
_MAX_NAME = 200
#: The console page the emailed links open (``connector.admin.users.welcome``); the secret follows it.
WELCOME_PATH = "/admin/welcome/"


class LinkUnusable(ConnectorError):
    """A one-time link that was used, replaced, expired or never existed: nothing is changed."""

    status_code = 410
    code = "link_unusable"


@dataclass(frozen=True)
class SentLink:
    user_id: int
    email: str
    purpose: str
    expires_at: datetime
    #: None when the email went out; else what the mailer said (the link exists: send again for a new one).
    mail_error: str | None


@dataclass(frozen=True)
class LinkView:
    purpose: str
    email: str
    name: str


def link_base(public_url: str | None, request_root: str) -> str:
    """Where emailed links point: ``CONNECTOR_PUBLIC_URL`` when set (never a Host header the client chose),
    else the root the admin's own request reached."""
    root = public_url if public_url else request_root
    return f"{root.rstrip('/')}{WELCOME_PATH}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_link(s: Session, actor: Actor, user: User, purpose: str, now: datetime) -> tuple[str, UserLink]:
    void_links(s, user.id)
    token = secrets.token_urlsafe(32)
    link = UserLink(
        user_id=user.id,
        purpose=purpose,
        token_digest=digest(token),
        created_by=actor.name,
        created_at=now,
        expires_at=now + LIFETIME[purpose],
    )
    s.add(link)
    s.flush()
    return token, link


def _email(purpose: str, name: str, by: str, url: str, expires_at: datetime) -> tuple[str, str]:
    until = f"{expires_at:%Y-%m-%d %H:%M} UTC"
    if purpose == INVITE:
        subject = "You are invited to the connector console"
        news = f"{by} invited you to the connector console. Choose your password here to accept:"
    else:
        subject = "Reset your connector console password"
        news = f"{by} sent you a link to set a new password for the connector console:"
    body = (
        f"Hi {name},\n\n{news}\n\n{url}\n\n"
        f"The link works once, until {until}. If you did not expect this email, ignore it: nothing changes.\n"
    )
    return subject, body


def _send(rt: Runtime, actor: Actor, user_id: int, purpose: str, token: str, link_base: str) -> str | None:
    with rt.sessions() as s:
        user = s.get(User, user_id)
        link = s.scalar(select(UserLink).where(UserLink.token_digest == digest(token)))
        assert user is not None and link is not None
        subject, body = _email(
            purpose, user.name, actor.name.partition(":")[2] or actor.name, link_base + token, link.expires_at
        )
        to = user.email
    try:
        rt.mailer.send(to, subject, body)
    except Exception as exc:  # noqa: BLE001 - a mail failure is reported and audited, not raised
        error = f"{type(exc).__name__}: {exc}"
        log.warning("%s email to user %s failed: %s", purpose, user_id, error)
        with transaction(rt.sessions) as s:
            user = s.get(User, user_id)
            assert user is not None
            audit_user(s, actor, user, f"user.{purpose}_email_failed", rt.now(), after={"error": error})
        return error
    return None


def invite(rt: Runtime, actor: Actor, *, email: str, name: str, scope: Scope, link_base: str) -> SentLink:
    """A new user with no password yet and an invitation link by email; ``link_base`` + the secret is the link."""
    now = rt.now()
    email = checked_email(email)
    name = name.strip()
    if len(name) > _MAX_NAME:
        raise ValidationError("name too long", fields={"name": f"use at most {_MAX_NAME} characters"})
    with transaction(rt.sessions) as s:
        granted = checked_grant(s, actor, scope)
        if s.scalar(select(User.id).where(User.email == email)) is not None:
            raise ConflictError(f"a user with email {email} already exists")
        user = User(
            email=email,
            name=name or email,
            password_hash=NO_PASSWORD,
            role=granted.role.value,
            brand_id=granted.brand_id,
            distributor_id=granted.distributor_id,
            retailer_id=granted.retailer_id,
            created_at=now,
        )
        s.add(user)
        try:
            s.flush()
        except IntegrityError:  # the same email invited at the same moment by someone else
            raise ConflictError(f"a user with email {email} already exists") from None
        token, link = _new_link(s, actor, user, INVITE, now)
        audit_user(
            s,
            actor,
            user,
            "user.invited",
            now,
            after={
                "email": email,
                "name": user.name,
                **granted.as_dict(),
                "link_expires_at": link.expires_at.isoformat(),
            },
        )
        user_id, expires_at = user.id, link.expires_at
    error = _send(rt, actor, user_id, INVITE, token, link_base)
    return SentLink(user_id, email, INVITE, expires_at, error)


def send_link(rt: Runtime, actor: Actor, user_id: int, link_base: str) -> SentLink:
    """A password-reset link (an invitation again, for a user who never set a password); older links end."""
    now = rt.now()
    with transaction(rt.sessions) as s:
        user, _ = load(s, actor, user_id, lock=True)
        if user.disabled_at is not None:
            raise ConflictError(f"{user.email} is disabled: enable the account before sending a link")
        purpose = INVITE if user.password_hash == NO_PASSWORD else RESET
        token, link = _new_link(s, actor, user, purpose, now)
        audit_user(
            s,
            actor,
            user,
            "user.invitation_resent" if purpose == INVITE else "user.password_reset_sent",
            now,
            after={"link_expires_at": link.expires_at.isoformat()},
        )
        email, expires_at = user.email, link.expires_at
    error = _send(rt, actor, user_id, purpose, token, link_base)
    return SentLink(user_id, email, purpose, expires_at, error)


def _usable(s: Session, token: str, now: datetime, *, lock: bool = False) -> tuple[UserLink, User]:
    if not token or len(token) > 200:
        raise LinkUnusable("this link is not valid: ask your admin for a new one")
    q = select(UserLink).where(UserLink.token_digest == digest(token))
    if lock:
        q = q.with_for_update()
    link = s.scalar(q)
    if link is None:
        raise LinkUnusable("this link is not valid: ask your admin for a new one")
    if link.voided:
        raise LinkUnusable(
            "this link was replaced by a newer one: use the latest email, or ask your admin for a new link"
        )
    if link.used_at is not None:
        raise LinkUnusable("this link was already used: sign in, or ask your admin for a new link")
    if link.expires_at <= now:
        raise LinkUnusable(f"this link expired on {link.expires_at:%Y-%m-%d %H:%M} UTC: ask your admin for a new one")
    user = s.get(User, link.user_id)
    if user is None or user.disabled_at is not None:
        raise LinkUnusable("this account is disabled: ask your admin")
    return link, user


def link_view(rt: Runtime, token: str) -> LinkView:
    """What the set-password page shows for a usable link; ``LinkUnusable`` says why a link is not."""
    with rt.sessions() as s:
        link, user = _usable(s, token, rt.now())
        return LinkView(link.purpose, user.email, user.name)


def redeem(rt: Runtime, token: str, password: str, *, scrypt_n: int = SCRYPT_N) -> LinkView:
    """Set the password through a link, once: the link is spent, the user's open sessions end.

    The password is checked against the same rules as everywhere (``check_password_strength``) and
    hashed before the transaction (scrypt is slow); the link is re-checked, locked, inside it, so two
    submissions of one link set one password.
    """
    check_password_strength(password)
    hashed = hash_password(password, scrypt_n=scrypt_n)
    now = rt.now()
    with transaction(rt.sessions) as s:
        link, user = _usable(s, token, now, lock=True)
        spent = s.execute(
            update(UserLink)
            .where(UserLink.id == link.id, UserLink.used_at.is_(None), UserLink.voided.is_(False))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            raise LinkUnusable("this link was already used: sign in, or ask your admin for a new link")
        before = status_of(user)
        replace_password_hash(s, user, hashed)
        void_links(s, user.id)
        self_actor = Actor(name=f"user:{user.email}", role=Role(user.role))
        audit_user(
            s,
            self_actor,
            user,
            "user.invitation_accepted" if link.purpose == INVITE else "user.password_reset",
            now,
            before={"status": before},
            after={"status": status_of(user)},
        )
        return LinkView(link.purpose, user.email, user.name)
