"""Helpers for the Users, API tokens and Audit log tests: the outbox's links, audit rows, user rows."""

from __future__ import annotations

import email
import re
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from sqlalchemy import select

from connector.core.runtime import Runtime
from connector.core.tables import ApiToken, User
from connector.core.user_admin_tables import AuditEntry, UserLink

LINK = re.compile(r"https?://\S+/admin/welcome/(\S+)")


def outbox(rt: Runtime) -> list[EmailMessage]:
    folder = Path(rt.settings.outbox_dir)
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if folder.exists() else []
    return [email.message_from_bytes(p.read_bytes(), policy=default) for p in files]  # type: ignore[misc]


def mails_to(rt: Runtime, address: str) -> list[EmailMessage]:
    return [m for m in outbox(rt) if m["To"] == address]


def link_path(message: EmailMessage) -> str:
    """The set-password page's path from an invitation or reset email."""
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found, body.get_content()
    return f"/admin/welcome/{found.group(1)}"


def audit_rows(rt: Runtime) -> list[AuditEntry]:
    with rt.sessions() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def user_row(rt: Runtime, email_address: str) -> User:
    with rt.sessions() as s:
        user = s.scalars(select(User).where(User.email == email_address)).one()
        s.expunge(user)
        return user


def token_rows(rt: Runtime) -> list[ApiToken]:
    with rt.sessions() as s:
        rows = list(s.scalars(select(ApiToken).order_by(ApiToken.id)))
        for r in rows:
            s.expunge(r)
        return rows


def link_rows(rt: Runtime) -> list[UserLink]:
    with rt.sessions() as s:
        rows = list(s.scalars(select(UserLink).order_by(UserLink.id)))
        for r in rows:
            s.expunge(r)
        return rows


def state(rt: Runtime) -> dict[str, Any]:
    """Everything the pages change, to prove a refused request changed nothing."""
    with rt.sessions() as s:
        users = [(u.email, u.role, u.brand_id, u.disabled_at, u.password_hash) for u in s.scalars(select(User))]
        tokens = [(t.name, t.role, t.revoked_at) for t in s.scalars(select(ApiToken))]
        links = [(link.token_digest, link.used_at, link.voided) for link in s.scalars(select(UserLink))]
        audits = [a.id for a in s.scalars(select(AuditEntry))]
    return {"users": sorted(users, key=repr), "tokens": sorted(tokens, key=repr), "links": links, "audit": audits}
