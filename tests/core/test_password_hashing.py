"""Password hashes at OWASP's scrypt cost, and older, cheaper hashes upgraded on the next sign-in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from connector.config import Settings
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.tables import User
from connector.core.users import SignInError, create_user, hash_password, needs_rehash, sign_in, verify_password

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def _cost(stored: str) -> tuple[int, int, int]:
    scheme, n, r, p, _, _ = stored.split("$")
    assert scheme == "scrypt"
    return int(n), int(r), int(p)


def test_new_hashes_use_owasps_scrypt_cost_unless_a_lower_one_is_asked_for_explicitly():
    # OWASP Password Storage Cheat Sheet: scrypt N=2**17 (128 MiB), r=8, p=1.
    stored = hash_password(PASSWORD)
    assert _cost(stored) == (2**17, 8, 1)
    assert verify_password(PASSWORD, stored) and not verify_password("wrong password!", stored)
    assert Settings.from_env({}).password_scrypt_n == 2**17  # no variable lowers it
    assert _cost(hash_password(PASSWORD, scrypt_n=2**4)) == (2**4, 8, 1)


def _old_cost_user(rt) -> tuple[int, str]:
    """A user whose hash was made at the previous cost (N=2**14), as stored before this change."""
    with transaction(rt.sessions) as s:
        user = create_user(s, email="ana@example.com", name="Ana", password=PASSWORD, role=Role.SUPPORT, scrypt_n=2**14)
        return user.id, user.password_hash


def test_an_old_cost_hash_is_upgraded_on_the_next_successful_sign_in(make_runtime):
    rt = make_runtime()
    uid, old = _old_cost_user(rt)
    assert needs_rehash(old)
    sign_in(rt.sessions, "ana@example.com", PASSWORD, NOW)
    with rt.sessions() as s:
        new = s.get(User, uid).password_hash
    assert new != old and _cost(new) == (2**17, 8, 1) and not needs_rehash(new)
    # still the same password, and no second upgrade
    assert sign_in(rt.sessions, "ana@example.com", PASSWORD, NOW).password_hash == new


def test_a_wrong_password_leaves_an_old_hash_unchanged(make_runtime):
    rt = make_runtime()
    uid, old = _old_cost_user(rt)
    with pytest.raises(SignInError):
        sign_in(rt.sessions, "ana@example.com", "wrong password!", NOW, address="192.0.2.1")
    with rt.sessions() as s:
        assert s.scalars(select(User.password_hash).where(User.id == uid)).one() == old


def test_an_unreadable_or_absurd_stored_hash_never_signs_in():
    assert not verify_password(PASSWORD, "bcrypt$whatever")
    assert not verify_password(PASSWORD, "scrypt$1073741824$8$1$AAAA$AAAA")  # 128 GiB: refused, not computed
    assert not verify_password(PASSWORD, "scrypt$1000$8$1$AAAA$AAAA")  # not a power of two


@pytest.mark.parametrize(("password", "address"), [(PASSWORD, None), ("wrong password!", "192.0.2.1")])
def test_the_password_check_holds_no_database_connection(make_runtime, monkeypatch, password, address):
    """The ~0.4 s scrypt check and rehash run with no connection checked out, so no transaction is open.

    On SQLite a transaction holds the database's write lock from its start (``BEGIN IMMEDIATE``):
    a check inside one stalled every writer, webhooks included, for the check's duration, and queued
    concurrent sign-ins behind each other (benches/sign_in.py: p95 8.4 s at 4 at once, 0.9 s after).
    """
    from connector.core import users

    rt = make_runtime()
    _old_cost_user(rt)  # an old-cost hash, so a right password is also rehashed
    held: list[int] = []
    real_verify, real_hash = users.verify_password, users.hash_password

    def watching(real):
        def call(*args, **kwargs):
            held.append(rt.engine.pool.checkedout())
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(users, "verify_password", watching(real_verify))
    monkeypatch.setattr(users, "hash_password", watching(real_hash))
    try:
        sign_in(rt.sessions, "ana@example.com", password, NOW, address=address, scrypt_n=2**15)
    except SignInError:
        assert password != PASSWORD
    assert held and held == [0] * len(held)
    assert len(held) == (2 if password == PASSWORD else 1)  # the check, and the rehash of a right password
