"""One-time links and invitations under concurrency, on the real database: one wins, the other is refused.

Two threads, each with its own connection, run the same use case at the same moment (a barrier
releases them together); on PostgreSQL the row lock and the unique email decide, not timing.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from connector.core.access import Actor
from connector.core.errors import ConflictError
from connector.core.model import Role
from connector.core.user_admin import Scope
from connector.core.user_links import LinkUnusable, invite, redeem, send_link
from connector.mail import SmtpMailer
from tests.conftest import seed_world
from tests.web.admin.users_support import audit_rows, link_path, mails_to, user_row

ADMIN = Actor("user:pat@platform.example", Role.PLATFORM_ADMIN)
BASE = "http://connector.test/admin/welcome/"
NEW = "nina@acme.example"


def _race(rt, fn: Callable[[], Any]) -> list[Any]:
    """Run ``fn`` twice at once; each outcome is its result or the exception it raised."""
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def run() -> None:
        barrier.wait()
        try:
            outcomes.append(fn())
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def _closed_port() -> int:
    """A local port nothing listens on: a mail server that refuses the connection."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def rt(make_runtime):
    runtime = make_runtime()
    seed_world(runtime)
    return runtime


def test_one_link_submitted_twice_at_once_sets_one_password(rt):
    invite(rt, ADMIN, email=NEW, name="Nina", scope=Scope(Role.SUPPORT), link_base=BASE)
    token = link_path(mails_to(rt, NEW)[0]).rsplit("/", 1)[1]
    outcomes = _race(rt, lambda: redeem(rt, token, "a long passphrase", scrypt_n=rt.settings.password_scrypt_n))
    assert sorted(type(o).__name__ for o in outcomes) == ["LinkUnusable", "LinkView"]
    assert [a.action for a in audit_rows(rt)] == ["user.invited", "user.invitation_accepted"]
    with pytest.raises(LinkUnusable, match="already used"):
        redeem(rt, token, "another passphrase", scrypt_n=rt.settings.password_scrypt_n)


def test_one_email_invited_twice_at_once_makes_one_user(rt):
    def once() -> object:
        return invite(rt, ADMIN, email=NEW, name="Nina", scope=Scope(Role.SUPPORT), link_base=BASE)

    outcomes = _race(rt, once)
    assert sorted(type(o).__name__ for o in outcomes) == ["ConflictError", "SentLink"]
    assert isinstance(next(o for o in outcomes if isinstance(o, Exception)), ConflictError)
    assert user_row(rt, NEW).role == "support"
    assert len(mails_to(rt, NEW)) == 1
    assert [a.action for a in audit_rows(rt)] == ["user.invited"]


def test_a_mail_failure_is_reported_and_audited_and_sending_again_works(rt):
    working = rt.mailer
    rt.mailer = SmtpMailer(f"smtp://127.0.0.1:{_closed_port()}", rt.settings.mail_from, timeout=5)
    sent = invite(rt, ADMIN, email=NEW, name="Nina", scope=Scope(Role.SUPPORT), link_base=BASE)
    assert sent.mail_error is not None and sent.mail_error.startswith("ConnectionRefusedError")
    assert [a.action for a in audit_rows(rt)] == ["user.invited", "user.invite_email_failed"]
    rt.mailer = working
    again = send_link(rt, ADMIN, sent.user_id, BASE)
    assert again.mail_error is None and again.purpose == "invite"
    assert len(mails_to(rt, NEW)) == 1
