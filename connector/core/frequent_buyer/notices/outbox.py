"""Writing the owed notices and emailing them: the notices job (``scheduling.NOTICES_JOB``).

Each run derives what is owed (``owed``), writes the missing rows (the unique key on user, kind and subject
turns a concurrent run's duplicate into a skip), then sends every unsent row. Sending claims the row first
(``sent_at`` set only where it is still empty), so two runs never send one row twice; a send the mailer
refuses gives the claim back with the error, and a later run tries again, up to ``MAX_ATTEMPTS`` times.
A process that dies between the claim and the send loses that one email rather than risk sending it twice.

The job runs after a POS import with denials and after a batch is marked credited (queued when their
transaction commits), and on every sweep (in-process and under RQ alike), which also sends the digests once
a day is over.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from connector.core.database import rowcount, transaction
from connector.core.frequent_buyer.notice_tables import FbNotice
from connector.core.frequent_buyer.notices.owed import OwedNotice, credited_notices, denial_notices, digest_notices
from connector.core.runtime import Runtime

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class NoticeRun:
    written: int
    sent: int
    failed: int


def write_owed(rt: Runtime) -> int:
    """Write every owed notice not written yet; returns how many rows were added."""
    now = rt.now()
    public_url = rt.settings.public_url
    with rt.sessions() as s:
        owed: list[OwedNotice] = [
            *denial_notices(s, now, public_url),
            *credited_notices(s, now, public_url),
            *digest_notices(s, now, public_url),
        ]
    written = 0
    for n in owed:
        try:
            with transaction(rt.sessions) as s:
                s.add(
                    FbNotice(
                        user_id=n.user_id,
                        kind=n.kind.value,
                        subject_key=n.subject_key,
                        to_email=n.to_email,
                        subject=n.subject[:300],
                        body=n.body,
                        created_at=now,
                        attempts=0,
                    )
                )
            written += 1
        except IntegrityError:  # another run wrote it first: the user still gets exactly one
            continue
    return written


def deliver_pending(rt: Runtime, *, limit: int = 1000) -> tuple[int, int]:
    """Send the unsent notices, oldest first; returns (sent, failed)."""
    with rt.sessions() as s:
        ids = list(
            s.scalars(
                select(FbNotice.id)
                .where(FbNotice.sent_at.is_(None), FbNotice.attempts < MAX_ATTEMPTS)
                .order_by(FbNotice.id)
                .limit(limit)
            )
        )
    sent = failed = 0
    for notice_id in ids:
        with transaction(rt.sessions) as s:
            claimed = rowcount(
                s.execute(
                    update(FbNotice)
                    .where(FbNotice.id == notice_id, FbNotice.sent_at.is_(None))
                    .values(sent_at=rt.now(), attempts=FbNotice.attempts + 1)
                )
            )
            notice = s.get(FbNotice, notice_id) if claimed else None
            message = (notice.to_email, notice.subject, notice.body) if notice is not None else None
        if message is None:
            continue
        try:
            rt.mailer.send(*message)
            sent += 1
        except Exception as exc:  # noqa: BLE001 - any mailer failure: give the claim back and keep the error
            failed += 1
            rt.log.warning("notice %s to user could not be sent: %s", notice_id, type(exc).__name__)
            with transaction(rt.sessions) as s:
                s.execute(
                    update(FbNotice).where(FbNotice.id == notice_id).values(sent_at=None, last_error=str(exc)[:500])
                )
    return sent, failed


def run_notices(rt: Runtime, _arg: int = 0) -> NoticeRun:
    """The notices job: write what is owed, then send what is unsent."""
    written = write_owed(rt)
    sent, failed = deliver_pending(rt)
    return NoticeRun(written, sent, failed)
