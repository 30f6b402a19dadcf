"""Outgoing mail: the Mailer protocol, message composition, and the outbox Mailer.

Everything the site mails (address verification, password resets, subscription
confirmations, digests) is composed here as an ``EmailMessage`` and handed to a Mailer. The
outbox Mailer records the message in the database and sends nothing: the default when no
SMTP server is configured, and what tests read links from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol

from paperwire.settings import Settings
from paperwire.store import Store


class Mailer(Protocol):
    """Delivers one composed message; raises MailError when it cannot."""

    def send(self, message: EmailMessage, *, kind: str) -> None: ...


def compose(settings: Settings, to: str, subject: str, text: str, html: str | None = None,
            *, message_id: str | None = None,
            headers: dict[str, str] | None = None) -> EmailMessage:
    """A plain-text message (multipart/alternative when ``html`` is given), with Date and a
    Message-ID; ``message_id`` keeps a retried message recognisable as the same one."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain=_domain(settings))
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def _domain(settings: Settings) -> str:
    address = settings.mail_from.rsplit("<", 1)[-1].rstrip(">")
    return address.rpartition("@")[2] or "localhost"


class OutboxMailer:
    """Records each message in the outbox table and sends nothing."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def send(self, message: EmailMessage, *, kind: str) -> None:
        self.store.record_mail(message, kind=kind, sent=False)


def mailer_for(settings: Settings, store: Store) -> Mailer:
    """The configured Mailer: SMTP when PAPERWIRE_SMTP_URL is set, else the outbox."""
    if not settings.smtp_url:
        return OutboxMailer(store)
    raise NotImplementedError("SMTP sending is not built yet")
