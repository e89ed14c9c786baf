"""Console users: creation, password hashing and sign-in checks.

Passwords are hashed with the standard library's scrypt (memory-hard, salted per user), so
the core needs no web framework to create or check a user: the CLI, the admin UI and the
tests share this one module. A failed sign-in never says whether the email exists.

The cost is OWASP's current recommendation for scrypt (Password Storage Cheat Sheet: N=2**17,
i.e. 128 MiB, r=8, p=1; about 1 s a check on a small server). Each hash records its own cost, so
hashes made at a lower cost still verify, and are replaced at the current cost on the user's next
successful sign-in. A lower cost exists for tests only, passed explicitly (``scrypt_n``, from
``Settings.password_scrypt_n``), never as a silent default.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.core import console_sessions, sign_in_throttle
from connector.core.access import Actor, check_scope
from connector.core.database import transaction
from connector.core.errors import ConflictError, ValidationError
from connector.core.model import Role
from connector.core.tables import User

#: OWASP Password Storage Cheat Sheet, scrypt: N=2**17 (128 MiB with r=8), r=8, p=1.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
#: A stored hash asking for more than this (N=2**20, 1 GiB) is refused rather than computed.
_MAX_N = 2**20
MIN_PASSWORD_LENGTH = 10
#: The password hash of an invited user who has not set a password yet: no password matches it.
NO_PASSWORD = "!invited"
SIGN_IN_FAILED = "wrong email or password"

log = logging.getLogger("connector.users")


class SignInError(ValidationError):
    """Wrong email or password, or a disabled account: one message for all, so nothing leaks."""

    status_code = 401
    code = "sign_in_failed"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # OpenSSL needs 128*r*n*p bytes for the work plus some room; allow twice that.
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * r * n * p + 2**20)


def _check_n(n: int) -> None:
    if n < 2 or n & (n - 1) or n > _MAX_N:
        raise ValueError(f"scrypt N must be a power of two between 2 and {_MAX_N}, not {n}")


def hash_password(password: str, *, scrypt_n: int = SCRYPT_N) -> str:
    """A salted scrypt hash that records its own cost: ``scrypt$N$r$p$salt$digest``."""
    _check_n(scrypt_n)
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, scrypt_n, SCRYPT_R, SCRYPT_P)
    return f"scrypt${scrypt_n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        _check_n(int(n))
        expected = base64.b64decode(digest)
        got = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def needs_rehash(stored: str, *, scrypt_n: int = SCRYPT_N) -> bool:
    """True when ``stored`` was made at a lower cost than ``scrypt_n``, r=8, p=1 (or is unreadable)."""
    try:
        scheme, n, r, p, _, _ = stored.split("$")
        return scheme != "scrypt" or int(n) < scrypt_n or int(r) < SCRYPT_R or int(p) < SCRYPT_P
    except ValueError:
        return True


@functools.cache
def _dummy_hash(scrypt_n: int) -> str:
    """Checked against when the email is unknown, so a miss costs the same time as a wrong password.

    Made on first use (not at import: at the OWASP cost that would add a second to every command).
    """
    return hash_password(secrets.token_urlsafe(16), scrypt_n=scrypt_n)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "password too short",
            fields={"password": f"use at least {MIN_PASSWORD_LENGTH} characters; a passphrase is easiest"},
        )


def checked_email(email: str) -> str:
    """``email`` normalised, or a ``ValidationError`` naming the field."""
    email = normalise_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 320:
        raise ValidationError("invalid email", fields={"email": "give an address like ana@example.com"})
    return email


def create_user(
    s: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    brand_id: int | None = None,
    distributor_id: int | None = None,
    retailer_id: int | None = None,
    scrypt_n: int = SCRYPT_N,
) -> User:
    email = checked_email(email)
    check_password_strength(password)
    check_scope(role, brand_id=brand_id, distributor_id=distributor_id, retailer_id=retailer_id)
    if s.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name.strip() or email,
        password_hash=hash_password(password, scrypt_n=scrypt_n),
        role=role.value,
        brand_id=brand_id,
        distributor_id=distributor_id,
        retailer_id=retailer_id,
    )
    s.add(user)
    s.flush()
    return user


def sign_in(
    sessions: sessionmaker[Session],
    email: str,
    password: str,
    now: datetime,
    *,
    address: str | None = None,
    scrypt_n: int = SCRYPT_N,
) -> User:
    """The user for these credentials, with ``last_login_at`` stamped; ``SignInError`` otherwise.

    ``address`` is the client's address when the attempt came over the network: wrong sign-ins are
    counted per (account, address) and per address (``sign_in_throttle``), and a throttled address
    gets ``SignInThrottled`` before its password is checked. The account itself is never locked, so
    a guesser elsewhere cannot keep its owner out. ``address=None`` (a local caller such as a test or
    a command) is not throttled. The answer is the same for an unknown email, a wrong password and a
    disabled account. A right password stored at a lower cost than ``scrypt_n`` is rehashed at it.

    It takes the session factory, not a session, because the scrypt check (about 0.4 s at OWASP's
    cost) must run outside any transaction: SQLite takes its write lock when a transaction begins
    (``BEGIN IMMEDIATE``), so a check inside one stalled every writer, webhooks included, and queued
    concurrent sign-ins behind each other. So: a short transaction reads the throttle and the stored
    hash, the hash is checked (and a new one made) with no transaction open, and a second short
    transaction records the outcome. The returned user is detached, its columns loaded.
    """
    with transaction(sessions) as s:
        if address is not None:
            sign_in_throttle.check(s, email, address, now)
        found = s.execute(select(User.id, User.password_hash).where(User.email == normalise_email(email))).first()
    stored = found.password_hash if found is not None else None
    correct = verify_password(password, stored if stored is not None else _dummy_hash(scrypt_n))
    rehashed = (
        hash_password(password, scrypt_n=scrypt_n)
        if correct and needs_rehash(stored or "", scrypt_n=scrypt_n)
        else None
    )
    with transaction(sessions) as s:
        user = s.get(User, found.id, with_for_update=True) if found is not None and correct else None
        # The password may have changed, or the account been disabled, while the hash was being checked.
        if user is None or user.password_hash != stored or user.disabled_at is not None:
            if address is not None:
                sign_in_throttle.record_failure(s, email, address, now)
            user = None
        else:
            if address is not None:
                sign_in_throttle.record_success(s, email, address)
            if rehashed is not None:
                user.password_hash = rehashed
                log.info("password hash of user %s upgraded to scrypt N=%s", user.id, scrypt_n)
            user.last_login_at = now
    if user is None:
        raise SignInError(SIGN_IN_FAILED)
    return user


def set_password(s: Session, user: User, password: str, *, scrypt_n: int = SCRYPT_N) -> None:
    """A new password; every open console session of the user ends."""
    check_password_strength(password)
    replace_password_hash(s, user, hash_password(password, scrypt_n=scrypt_n))


def replace_password_hash(s: Session, user: User, password_hash: str) -> None:
    """A hash made beforehand (outside the transaction, see ``sign_in``); every open session of the user ends."""
    user.password_hash = password_hash
    user.session_version += 1
    console_sessions.end_all_sessions(s, user.id)


def disable_user(s: Session, user: User, now: datetime) -> None:
    """Sign-in stops and every open console session of the user ends."""
    user.disabled_at = now
    user.session_version += 1
    console_sessions.end_all_sessions(s, user.id)


def find_user(s: Session, email: str) -> User | None:
    return s.scalars(select(User).where(func.lower(User.email) == normalise_email(email))).one_or_none()


def actor_for(user: User) -> Actor:
    """The actor a signed-in user acts as: named by email in every event row."""
    return Actor(
        name=f"user:{user.email}",
        role=Role(user.role),
        brand_id=user.brand_id,
        distributor_id=user.distributor_id,
        retailer_id=user.retailer_id,
    )
