"""Mail transports: SMTP when ``CONNECTOR_SMTP_URL`` is set, else a local outbox folder.

The outbox default means a fresh install can send (and a developer can read)
confirmation emails with no mail server at all.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlparse


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@connector>"
    msg.set_content(body)
    return msg


class OutboxMailer:
    """Writes each email as an ``.eml`` file into a folder."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, to: str, subject: str, body: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        msg = _message(self.sender, to, subject, body)
        path = self.folder / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(msg.as_bytes())


class SmtpMailer:
    """``smtp://user:pass@host:25`` (STARTTLS when offered) or ``smtps://…:465``."""

    def __init__(self, url: str, sender: str, timeout: float = 10.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in {"smtp", "smtps"}:
            raise ValueError(f"CONNECTOR_SMTP_URL must start with smtp:// or smtps://, not {parsed.scheme}://")
        self.secure = parsed.scheme == "smtps"
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or (465 if self.secure else 25)
        self.user = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.sender = sender
        self.timeout = timeout

    def send(self, to: str, subject: str, body: str) -> None:
        msg = _message(self.sender, to, subject, body)
        if self.secure:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if not self.secure and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(msg)
