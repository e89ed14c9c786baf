"""Sign-in throttling in the core: per (account, address) and per address, over a sliding window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.core import sign_in_throttle as throttle
from connector.core.database import transaction
from connector.core.model import Role
from connector.core.sign_in_throttle import SignInThrottled
from connector.core.users import SignInError, create_user, sign_in

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
CHEAP = 2**4


def _attempt(rt, password: str, at: datetime, address: str | None, email: str = "a@example.com") -> str:
    """``ok``, ``wrong`` or ``throttled``, as the console's form would answer."""
    try:
        sign_in(rt.sessions, email, password, at, address=address, scrypt_n=CHEAP)
    except SignInError:
        return "wrong"
    except SignInThrottled:
        return "throttled"
    return "ok"


@pytest.fixture
def rt(make_runtime):
    rt = make_runtime()
    with transaction(rt.sessions) as s:
        create_user(s, email="a@example.com", name="A", password=PASSWORD, role=Role.SUPPORT, scrypt_n=CHEAP)
    return rt


def test_the_account_is_never_locked_only_the_guessing_address_is_throttled(rt):
    for _ in range(throttle.PER_ACCOUNT_ADDRESS):
        assert _attempt(rt, "wrong password!", NOW, "203.0.113.7") == "wrong"
    assert _attempt(rt, PASSWORD, NOW, "203.0.113.7") == "throttled"
    assert _attempt(rt, PASSWORD, NOW, "198.51.100.20") == "ok"
    assert _attempt(rt, PASSWORD, NOW, None) == "ok"  # a local caller (command, test) is not throttled


def test_failures_decay_and_a_success_clears_only_that_pair(rt):
    for _ in range(throttle.PER_ACCOUNT_ADDRESS - 1):
        assert _attempt(rt, "wrong password!", NOW, "203.0.113.7") == "wrong"
    assert _attempt(rt, PASSWORD, NOW, "203.0.113.7") == "ok"  # the owner at that address: the pair restarts
    for _ in range(throttle.PER_ACCOUNT_ADDRESS):
        assert _attempt(rt, "wrong password!", NOW, "203.0.113.7") == "wrong"
    just_before = NOW + throttle.WINDOW - timedelta(seconds=1)
    with rt.sessions() as s, pytest.raises(SignInThrottled) as refused:
        throttle.check(s, "a@example.com", "203.0.113.7", just_before)
    assert refused.value.retry_after == 1 and refused.value.headers == {"Retry-After": "1"}
    assert _attempt(rt, PASSWORD, NOW + throttle.WINDOW + timedelta(seconds=1), "203.0.113.7") == "ok"


def test_expired_failures_are_deleted_as_new_ones_arrive(rt):
    for _ in range(3):
        _attempt(rt, "wrong password!", NOW, "203.0.113.7", email=f"x{_}@example.com")
    later = NOW + throttle.WINDOW + timedelta(minutes=1)
    _attempt(rt, "wrong password!", later, "192.0.2.1")
    with rt.sessions() as s:
        assert throttle.failures(s, "203.0.113.7", NOW) == 0  # the three old rows are gone
        assert throttle.failures(s, "192.0.2.1", later) == 1


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("", "unknown"),
        ("not-an-address", "unknown"),
    ],
)
def test_an_ipv6_client_is_counted_by_its_slash_64(address, key):
    assert throttle.address_key(address) == key


def test_operators_are_told_once_when_an_address_reaches_a_limit_and_never_what_was_typed(rt, caplog):
    caplog.set_level("WARNING", logger="connector.sign_in")
    for _ in range(throttle.PER_ACCOUNT_ADDRESS - 1):
        _attempt(rt, "wrong password!", NOW, "203.0.113.7")
    assert caplog.records == []  # under the limit: nothing to report
    _attempt(rt, "wrong password!", NOW, "203.0.113.7")
    _attempt(rt, "wrong password!", NOW, "203.0.113.7")  # refused before it is counted: no second report
    held = [r.getMessage() for r in caplog.records]
    assert len(held) == 1 and "203.0.113.7" in held[0] and "held for that account" in held[0]
    caplog.clear()
    for i in range(throttle.PER_ADDRESS):  # the same address spraying other emails
        _attempt(rt, "wrong password!", NOW, "198.51.100.9", email=f"guess{i}@example.com")
    held = [r.getMessage() for r in caplog.records]
    assert len(held) == 1 and "198.51.100.9" in held[0] and f"{throttle.PER_ADDRESS} wrong sign-ins" in held[0]
    for message in held:
        assert "example.com" not in message and "wrong password!" not in message
