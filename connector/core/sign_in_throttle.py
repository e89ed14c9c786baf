"""Sign-in throttling that slows a password guesser down without ever locking the real user out.

The old defence (five wrong passwords lock the *account* for 15 minutes) let anyone who knew an
email address keep its owner out for good. Here wrong sign-ins are counted per (account, client
address) and per client address, never per account alone, over a sliding window:

* ``PER_ACCOUNT_ADDRESS`` failures on one account from one address within ``WINDOW`` stop that
  address from trying that account until the oldest of them leaves the window;
* ``PER_ADDRESS`` failures from one address within ``WINDOW``, on any accounts (or emails that are
  no account), stop that address altogether, for the same kind of while.

A throttled attempt is refused before its password is checked (nothing is learned from it, and it
costs no hash), and is not counted itself, so the wait never grows by retrying. The real user,
signing in from their own address, is never affected by what another address does.

The failures are rows (``SignInFailure``), so every gunicorn worker and every host behind the same
database sees the same counts, on SQLite and PostgreSQL alike; rows older than the window are
deleted as new failures arrive. Two attempts racing from one address may both pass the check and
both count: the limits can be exceeded by the number of concurrent requests, never more.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from connector.core.errors import ConnectorError
from connector.core.tables import SignInFailure

#: Wrong passwords one address may try on one account per window.
PER_ACCOUNT_ADDRESS = 5
#: Wrong sign-ins one address may make per window, whatever the accounts.
PER_ADDRESS = 20
#: The sliding window both limits count over; a failure older than this no longer counts.
WINDOW = timedelta(minutes=15)
#: The address of a caller whose address the web server did not give (counted together, not trusted apart).
UNKNOWN_ADDRESS = "unknown"

log = logging.getLogger("connector.sign_in")


class SignInThrottled(ConnectorError):
    """Too many wrong sign-ins from this client address: answered 429 with ``Retry-After``."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many sign-in attempts from this address; try again in {retry_after} s", retry_after=retry_after
        )
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


def address_key(address: str | None) -> str:
    """The address failures are counted under: an IPv6 client is its /64 (one client often holds a
    whole /64 and could otherwise rotate through it); an IPv4-mapped IPv6 address is its IPv4 one."""
    if not address:
        return UNKNOWN_ADDRESS
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def account_key(email: str) -> str:
    """The account failures are counted under: a hash of the normalised email, so typed text is not stored."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _wait(s: Session, where: list[ColumnElement[bool]], limit: int, now: datetime) -> int | None:
    """Seconds until fewer than ``limit`` failures matching ``where`` remain in the window, or None if already.

    With ``c >= limit`` failures in the window, the count drops below the limit when the oldest of the
    newest ``limit`` leaves the window; so only those ``limit`` rows are read, however many there are.
    """
    newest = list(
        s.scalars(
            select(SignInFailure.at)
            .where(*where, SignInFailure.at > now - WINDOW)
            .order_by(SignInFailure.at.desc())
            .limit(limit)
        )
    )
    if len(newest) < limit:
        return None
    return max(1, math.ceil((newest[-1] + WINDOW - now).total_seconds()))


def check(s: Session, email: str, address: str | None, now: datetime) -> None:
    """Raise ``SignInThrottled`` if this address may not try this email now."""
    addr = address_key(address)
    waits = [
        _wait(s, [SignInFailure.address == addr], PER_ADDRESS, now),
        _wait(
            s, [SignInFailure.account == account_key(email), SignInFailure.address == addr], PER_ACCOUNT_ADDRESS, now
        ),
    ]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        raise SignInThrottled(wait)


def record_failure(s: Session, email: str, address: str | None, now: datetime) -> None:
    """Count one wrong sign-in (commit even though the sign-in failed), and forget expired ones."""
    s.execute(
        delete(SignInFailure).where(SignInFailure.at <= now - WINDOW).execution_options(synchronize_session=False)
    )
    account, addr = account_key(email), address_key(address)
    s.add(SignInFailure(account=account, address=addr, at=now))
    s.flush()
    _report_when_held(s, account, addr, now)


def _report_when_held(s: Session, account: str, addr: str, now: datetime) -> None:
    """Tell operators, once per crossing, that an address has reached a limit: it is guessing.

    Logged when the count *reaches* a limit (later attempts are refused before they are counted), with
    the address and a prefix of the account's hash: never the typed email or password.
    """
    recent = SignInFailure.at > now - WINDOW
    by_address = s.scalar(select(func.count()).select_from(SignInFailure).where(SignInFailure.address == addr, recent))
    if by_address == PER_ADDRESS:
        log.warning(
            "sign-in: address %s made %s wrong sign-ins within %s; it is held until they age out",
            addr, PER_ADDRESS, WINDOW,
        )  # fmt: skip
    pair = s.scalar(
        select(func.count())
        .select_from(SignInFailure)
        .where(SignInFailure.address == addr, SignInFailure.account == account, recent)
    )
    if pair == PER_ACCOUNT_ADDRESS:
        log.warning(
            "sign-in: address %s made %s wrong sign-ins on account %s… within %s; held for that account",
            addr, PER_ACCOUNT_ADDRESS, account[:12], WINDOW,
        )  # fmt: skip


def record_success(s: Session, email: str, address: str | None) -> None:
    """The right password from this address: its failures on this account no longer count (its
    failures on other accounts do, so signing in to one's own account does not reset a guesser)."""
    s.execute(
        delete(SignInFailure)
        .where(SignInFailure.account == account_key(email), SignInFailure.address == address_key(address))
        .execution_options(synchronize_session=False)
    )


def failures(s: Session, address: str | None, now: datetime) -> int:
    """Wrong sign-ins from ``address`` still inside the window (for operators and tests)."""
    return int(
        s.scalar(
            select(func.count())
            .select_from(SignInFailure)
            .where(SignInFailure.address == address_key(address), SignInFailure.at > now - WINDOW)
        )
        or 0
    )
