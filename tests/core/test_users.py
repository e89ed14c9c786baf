"""Console users: hashed passwords, one account per email, scope per role, sign-in that leaks nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from connector.core.access import Actor, check_scope
from connector.core.database import transaction
from connector.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from connector.core.model import Role
from connector.core.tables import User
from connector.core.users import SignInError, actor_for, create_user, disable_user, set_password, sign_in
from tests.conftest import seed_world

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
#: Explicitly cheap hashes where the test is not about the hash cost (tests/core/test_password_hashing.py is).
CHEAP = 2**4


def test_password_is_stored_hashed_and_sign_in_is_case_insensitive(make_runtime):
    rt = make_runtime()
    world = seed_world(rt)
    with transaction(rt.sessions) as s:
        create_user(
            s,
            email=" Ana@Example.com ",
            name="Ana",
            password=PASSWORD,
            role=Role.BRAND_ADMIN,
            brand_id=world.brand.id,
            scrypt_n=CHEAP,
        )
    with transaction(rt.sessions) as s:
        stored = s.scalars(select(User)).one()
        assert stored.email == "ana@example.com"
        assert PASSWORD not in stored.password_hash and stored.password_hash.startswith("scrypt$")
    user = sign_in(rt.sessions, "ANA@example.com", PASSWORD, NOW, scrypt_n=CHEAP)
    assert user.last_login_at == NOW
    assert actor_for(user) == Actor(name="user:ana@example.com", role=Role.BRAND_ADMIN, brand_id=world.brand.id)


def test_wrong_password_unknown_email_and_disabled_account_get_the_same_answer(make_runtime):
    rt = make_runtime()
    with transaction(rt.sessions) as s:
        user = create_user(s, email="sam@example.com", name="Sam", password=PASSWORD, role=Role.SUPPORT, scrypt_n=CHEAP)
    messages = []
    for email, password in [("sam@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)]:
        with pytest.raises(SignInError) as err:
            sign_in(rt.sessions, email, password, NOW, scrypt_n=CHEAP)
        messages.append(err.value.message)
    with transaction(rt.sessions) as s:
        disable_user(s, s.get(User, user.id), NOW)
    with pytest.raises(SignInError) as err:
        sign_in(rt.sessions, "sam@example.com", PASSWORD, NOW, scrypt_n=CHEAP)
    messages.append(err.value.message)
    assert len(set(messages)) == 1


def test_one_account_per_email_and_short_passwords_are_refused(make_runtime):
    rt = make_runtime()
    with transaction(rt.sessions) as s:
        create_user(s, email="a@example.com", name="A", password=PASSWORD, role=Role.SUPPORT, scrypt_n=CHEAP)
    with transaction(rt.sessions) as s, pytest.raises(ConflictError):
        create_user(s, email="A@EXAMPLE.COM", name="A2", password=PASSWORD, role=Role.SUPPORT, scrypt_n=CHEAP)
    with transaction(rt.sessions) as s, pytest.raises(ValidationError) as err:
        create_user(s, email="b@example.com", name="B", password="short", role=Role.SUPPORT, scrypt_n=CHEAP)
    assert "password" in err.value.fields
    with rt.sessions() as s:
        assert s.scalars(select(User.email)).all() == ["a@example.com"]


def test_password_change_ends_old_sessions(make_runtime):
    rt = make_runtime()
    with transaction(rt.sessions) as s:
        user = create_user(s, email="a@example.com", name="A", password=PASSWORD, role=Role.SUPPORT, scrypt_n=CHEAP)
        before = user.session_version
        set_password(s, user, "another long passphrase", scrypt_n=CHEAP)
        assert user.session_version == before + 1
    with pytest.raises(SignInError):
        sign_in(rt.sessions, "a@example.com", PASSWORD, NOW, scrypt_n=CHEAP)
    sign_in(rt.sessions, "a@example.com", "another long passphrase", NOW, scrypt_n=CHEAP)


@pytest.mark.parametrize(
    ("role", "scope", "field"),
    [
        (Role.BRAND_ADMIN, {}, "brand"),
        (Role.DISTRIBUTOR, {}, "distributor"),
        (Role.RETAILER, {}, "retailer"),
        (Role.RETAILER, {"retailer_id": 1, "brand_id": 1}, "brand"),
        (Role.SUPPORT, {"distributor_id": 1}, "role"),
    ],
)
def test_each_role_needs_its_scope(role, scope, field):
    kwargs = {"brand_id": None, "distributor_id": None, "retailer_id": None} | scope
    with pytest.raises(ValidationError) as err:
        check_scope(role, **kwargs)
    assert field in err.value.fields


def test_party_users_never_see_brand_redemptions():
    distributor = Actor(name="d", role=Role.DISTRIBUTOR, distributor_id=3)
    assert not distributor.sees_brand(1)
    with pytest.raises(NotFoundError):
        distributor.check_brand(1)
    with pytest.raises(PermissionDeniedError):
        distributor.check_sees_redemptions()
    Actor(name="s", role=Role.SUPPORT).check_sees_redemptions()
