"""Outgoing mail: the Mailer protocol, message composition, the outbox and SMTP Mailers.

Everything the site mails (address verification, password resets, subscription
confirmations, digests) is composed here as an ``EmailMessage`` and handed to a Mailer. The
outbox Mailer queues the message in the database and returns at once: what every web
request uses, so no request waits on an SMTP server. The background sender (mail_queue.py)
delivers queued mail when ``PAPERWIRE_SMTP_URL`` is set; without it the mail stays in the
outbox (``paperwire outbox``), which is also what tests read links from. The SMTP Mailer
sends through ``PAPERWIRE_SMTP_URL`` with aiosmtplib; ``send_many`` keeps a few connections
open and reuses each for many messages (a digest run, a batch of queued mail).

Failures are classified where they happen: a 5xx answer to RCPT is permanent (the address
bounced: stop mailing it); a 4xx answer, a timeout or a dropped connection is transient
(reconnect and retry with backoff); any other 5xx fails the message without retrying.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Literal, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import aiosmtplib

from paperwire.errors import ConfigError, PaperwireError
from paperwire.settings import Settings
from paperwire.store import Store

K = TypeVar("K")
Outcome = Literal["sent", "bounced", "failed"]


class MailError(PaperwireError):
    """A message could not be delivered; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Delivery:
    """What became of one message: sent, bounced (the recipient was refused for good) or
    failed (transient errors outlasted the retries, or the server refused the message)."""

    outcome: Outcome
    attempts: int
    error: str | None = None
    permanent: bool = False  # retrying cannot help (bounced, or refused with a 5xx)


OnResult = Callable[[K, Delivery], None]


class Mailer(Protocol):
    """Delivers one composed message; raises MailError when it cannot."""

    def send(self, message: EmailMessage, *, kind: str) -> None: ...


def compose(settings: Settings, to: str, subject: str, text: str, html: str | None = None,
            *, message_id: str | None = None,
            headers: dict[str, str] | None = None, date: datetime | None = None
            ) -> EmailMessage:
    """A plain-text message (multipart/alternative when ``html`` is given), with Date and a
    Message-ID; ``message_id`` keeps a retried message recognisable as the same one."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id or make_msgid(domain=mail_domain(settings))
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def mail_domain(settings: Settings) -> str:
    """The domain of the From address (Message-IDs are made under it)."""
    address = settings.mail_from.rsplit("<", 1)[-1].rstrip(">")
    return address.rpartition("@")[2] or "localhost"


class OutboxMailer:
    """Queues each message in the outbox (for the background sender) and sends nothing."""

    def __init__(self, store: Store, on_queued: Callable[[], None] | None = None) -> None:
        self.store = store
        self.on_queued = on_queued  # wakes this process's sender, when it runs one

    def send(self, message: EmailMessage, *, kind: str) -> None:
        self.store.record_mail(message, kind=kind, status="queued")
        if self.on_queued is not None:
            self.on_queued()

    def send_many(self, items: Sequence[tuple[K, EmailMessage]], *, kind: str,
                  on_result: OnResult[K]) -> None:
        # A digest run without SMTP: kept for preview, never queued, since the digest
        # ledger (not the outbox) owns the delivery of digests.
        for key, message in items:
            self.store.record_mail(message, kind=kind, status="kept")
            on_result(key, Delivery("sent", 1))


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to connect, from ``smtp://user:pass@host:port`` or ``smtps://…``."""

    host: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    ca_file: str | None = None  # PEM bundle trusted instead of the system's store

    @classmethod
    def from_url(cls, url: str, timeout: float = 30.0, ca_file: str = "") -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(f"PAPERWIRE_SMTP_URL={url!r}: expected smtp://[user:pass@]host"
                              "[:port] or smtps://…")
        try:
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"PAPERWIRE_SMTP_URL: {exc}") from None
        tls = parts.scheme == "smtps"
        if ca_file:
            _tls_context(ca_file)  # a bad path fails at startup, not on the first send
        return cls(host=parts.hostname, port=port or (465 if tls else 587), implicit_tls=tls,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   timeout=timeout, ca_file=ca_file or None)

    def client(self) -> aiosmtplib.SMTP:
        # start_tls=None: STARTTLS whenever the server offers it (never on smtps://).
        # tls_context=None: aiosmtplib's own context, verifying against the system's store.
        return aiosmtplib.SMTP(hostname=self.host, port=self.port, use_tls=self.implicit_tls,
                               start_tls=False if self.implicit_tls else None,
                               username=self.username, password=self.password,
                               timeout=self.timeout,
                               tls_context=_tls_context(self.ca_file) if self.ca_file else None)


def _tls_context(ca_file: str) -> ssl.SSLContext:
    """A client context trusting ``ca_file``; certificate and host name checks stay on."""
    try:
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    except OSError as exc:  # missing, unreadable, or no PEM certificate in it (ssl.SSLError)
        raise ConfigError(f"PAPERWIRE_SMTP_CA_FILE={ca_file!r}: cannot load CA certificates "
                          f"({exc})") from None


def _untrusted_certificate(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate error behind ``exc``: aiosmtplib wraps it (SMTPConnectError) on
    smtps:// and lets it through bare after STARTTLS."""
    seen: BaseException | None = exc
    for _ in range(8):  # a bounded walk: exception chains can loop
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def classify(exc: BaseException) -> tuple[str, bool, bool]:
    """(message, permanent, bounced) for an error raised while sending one message."""
    if (cert := _untrusted_certificate(exc)) is not None:
        # The server's certificate will not become trusted by retrying: fail the message now.
        return (f"SMTP server certificate not trusted: {cert.verify_message or cert} (for a "
                "private CA set PAPERWIRE_SMTP_CA_FILE)", True, False)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return f"recipient refused: {text}", permanent, permanent
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return f"recipient refused: {exc.code} {exc.message}", exc.code >= 500, exc.code >= 500
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(
            exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError):
        return f"server answered {exc.code} {exc.message}", exc.code >= 500, False
    # Timeouts, dropped or refused connections: the server may be fine a moment later.
    return f"{type(exc).__name__}: {exc}", False, False


class SMTPMailer:
    """Sends through an SMTP server (PAPERWIRE_SMTP_URL)."""

    def __init__(self, settings: Settings, *, retries: int = 3, backoff_s: float = 0.5
                 ) -> None:
        self.config = SmtpConfig.from_url(settings.smtp_url, settings.smtp_timeout,
                                          settings.smtp_ca_file)
        self.concurrency = max(1, settings.smtp_concurrency)
        self.retries = retries
        self.backoff_s = backoff_s

    def send(self, message: EmailMessage, *, kind: str) -> None:
        """Send one message now, retrying transient errors; MailError when it was not."""
        results: list[Delivery] = []
        self.send_many([(0, message)], kind=kind, on_result=lambda _k, d: results.append(d))
        if results[0].outcome != "sent":
            raise MailError(results[0].error or "not sent",
                            permanent=results[0].outcome == "bounced")

    def send_many(self, items: Sequence[tuple[K, EmailMessage]], *, kind: str,
                  on_result: OnResult[K]) -> None:
        """Send every message over at most ``concurrency`` reused connections, calling
        ``on_result`` as each one is settled. Digests are recorded in their own ledger,
        not in the outbox."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self._send_all(list(items), on_result))
            return
        # Called from async code (a view not moved to a thread): run the sends in a thread
        # of their own rather than nest event loops.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, self._send_all(list(items), on_result)).result()

    async def _send_all(self, items: list[tuple[K, EmailMessage]], on_result: OnResult[K]
                        ) -> None:
        queue: asyncio.Queue[tuple[K, EmailMessage]] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)
        workers = min(self.concurrency, len(items))
        await asyncio.gather(*(self._connection(queue, on_result) for _ in range(workers)))

    async def _connection(self, queue: asyncio.Queue[tuple[K, EmailMessage]],
                          on_result: OnResult[K]) -> None:
        smtp: aiosmtplib.SMTP | None = None
        try:
            while not queue.empty():
                key, message = queue.get_nowait()
                delivery, smtp = await self._deliver(smtp, message)
                on_result(key, delivery)
        finally:
            await _close(smtp, polite=True)

    async def _deliver(self, smtp: aiosmtplib.SMTP | None, message: EmailMessage
                       ) -> tuple[Delivery, aiosmtplib.SMTP | None]:
        error = "not attempted"
        for attempt in range(1, self.retries + 2):
            try:
                if smtp is None or not smtp.is_connected:
                    smtp = self.config.client()
                    await smtp.connect()
                await smtp.send_message(message)
                return Delivery("sent", attempt), smtp
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                error, permanent, bounced = classify(exc)
                if permanent:
                    return Delivery("bounced" if bounced else "failed", attempt, error,
                                    permanent=True), smtp
                # The connection may be half-way through a command: start a fresh one.
                await _close(smtp, polite=False)
                smtp = None
                if attempt <= self.retries:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        return Delivery("failed", self.retries + 1, error), smtp


async def _close(smtp: aiosmtplib.SMTP | None, *, polite: bool) -> None:
    if smtp is None or not smtp.is_connected:
        return
    try:
        if polite:
            await smtp.quit()
        else:
            smtp.close()
    except (TimeoutError, aiosmtplib.SMTPException, OSError):
        smtp.close()


def mailer_for(store: Store, on_queued: Callable[[], None] | None = None) -> OutboxMailer:
    """The Mailer a request uses: the outbox queue, whatever PAPERWIRE_SMTP_URL says."""
    return OutboxMailer(store, on_queued)


def batch_mailer(settings: Settings, store: Store) -> OutboxMailer | SMTPMailer:
    """The configured Mailer with ``send_many`` (what a digest run uses)."""
    return SMTPMailer(settings) if settings.smtp_url else OutboxMailer(store)


__all__ = ["Delivery", "MailError", "Mailer", "OutboxMailer", "SMTPMailer", "SmtpConfig",
           "batch_mailer", "classify", "compose", "mail_domain", "mailer_for"]
