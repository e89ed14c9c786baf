"""Console users: creation, password hashing and sign-in checks.

Passwords are hashed with the standard library's scrypt (memory-hard, salted per user), so
the core needs no web framework to create or check a user: the CLI, the admin UI and the
tests share this one module. A failed sign-in never says whether the email exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from connector.core.access import Actor, check_scope
from connector.core.errors import ConflictError, ValidationError
from connector.core.model import Role
from connector.core.tables import User

#: scrypt cost: n=2**14, r=8, p=1 uses 16 MiB and ~50 ms per check: slow for a guesser, fine for a login.
_N, _R, _P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 10
#: Wrong passwords in a row that lock an account's sign-in, and for how long.
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
SIGN_IN_FAILED = "wrong email or password (5 wrong passwords in a row lock an account for 15 minutes)"

log = logging.getLogger("connector.users")


class SignInError(ValidationError):
    """Wrong email or password, or a disabled account: one message for all, so nothing leaks."""

    status_code = 401
    code = "sign_in_failed"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 * 1024)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), maxmem=64 * 1024 * 1024
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


#: Checked against when the email is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "password too short",
            fields={"password": f"use at least {MIN_PASSWORD_LENGTH} characters; a passphrase is easiest"},
        )


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
) -> User:
    email = normalise_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise ValidationError("invalid email", fields={"email": "give an address like ana@example.com"})
    check_password_strength(password)
    check_scope(role, brand_id=brand_id, distributor_id=distributor_id, retailer_id=retailer_id)
    if s.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError(f"a user with email {email} already exists")
    user = User(
        email=email,
        name=name.strip() or email,
        password_hash=hash_password(password),
        role=role.value,
        brand_id=brand_id,
        distributor_id=distributor_id,
        retailer_id=retailer_id,
    )
    s.add(user)
    s.flush()
    return user


def sign_in(s: Session, email: str, password: str, now: datetime) -> User:
    """The user for these credentials, with ``last_login_at`` stamped; ``SignInError`` otherwise.

    A wrong password is counted on the account (commit the session even when this raises, or the
    count is lost); ``MAX_FAILED_SIGN_INS`` in a row lock sign-in for ``LOCKOUT``, during which even
    the right password is refused. The answer is the same in every case, so a guesser learns
    neither which emails exist nor which account is locked; the lock is logged for operators.
    """
    user = s.scalars(select(User).where(User.email == normalise_email(email))).one_or_none()
    if user is None:
        verify_password(password, _DUMMY_HASH)
        raise SignInError(SIGN_IN_FAILED)
    correct = verify_password(password, user.password_hash)
    if user.locked_until is not None and user.locked_until > now:
        raise SignInError(SIGN_IN_FAILED)
    if not correct:
        failures = s.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_sign_ins=User.failed_sign_ins + 1)
            .returning(User.failed_sign_ins)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        if failures >= MAX_FAILED_SIGN_INS:
            s.execute(
                update(User)
                .where(User.id == user.id)
                .values(failed_sign_ins=0, locked_until=now + LOCKOUT)
                .execution_options(synchronize_session=False)
            )
            log.warning("sign-in locked for user %s after %s wrong passwords", user.id, failures)
        raise SignInError(SIGN_IN_FAILED)
    if user.disabled_at is not None:
        raise SignInError(SIGN_IN_FAILED)
    user.last_login_at = now
    user.failed_sign_ins = 0
    user.locked_until = None
    return user


def set_password(s: Session, user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = hash_password(password)
    user.session_version += 1


def disable_user(s: Session, user: User, now: datetime) -> None:
    user.disabled_at = now
    user.session_version += 1


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
