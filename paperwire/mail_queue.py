"""The background mail sender: claim queued outbox rows, send them over SMTP, mark them.

Requests only queue mail (mail.OutboxMailer); this delivers it, from a thread of the web
process or from ``paperwire worker`` (PAPERWIRE_QUEUE_RUNNER). Each pass claims a few due
rows (store/outbox.py: a compare-and-set, so two senders never both hold one row), sends
them over reused connections, and marks each sent, failed, or queued again with backoff.

What a crash does, step by step: before the claim, nothing (the row is still queued); after
the claim and before the SMTP server accepted the message, the row stays ``sending`` until
its claim is STALE_AFTER old, then another sender takes it over and sends it. Between the
server's accept and the mark, the takeover sends it again: nothing can close that window
without the SMTP server taking part, so the resend carries the same Message-ID and a mail
client or server that deduplicates sees one message.
"""

from __future__ import annotations

import email
import email.policy
import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from paperwire.mail import Delivery, SMTPMailer
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.store.outbox import Claimed

log = logging.getLogger(__name__)

# Longer than one pass can take (a batch of slow sends), so a live sender is not overtaken.
STALE_AFTER = timedelta(minutes=10)
MAX_AGE = timedelta(hours=24)  # links in older mail are stale or nearly: give up on it
MAX_ATTEMPTS = 6
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=8),
           timedelta(minutes=30), timedelta(hours=2))
BATCH = 20


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the store keeps times


def retry_delay(attempts: int) -> timedelta:
    """How long a message waits after its ``attempts``-th try failed transiently."""
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def deliver_due(settings: Settings, store: Store, mailer: SMTPMailer | None = None, *,
                limit: int = BATCH, stale_after: timedelta = STALE_AFTER) -> int:
    """One pass: claim up to ``limit`` due messages and settle each; how many were claimed.
    Nothing is claimed without PAPERWIRE_SMTP_URL (the mail stays in the outbox)."""
    if not settings.smtp_url:
        return 0
    claims = store.claim_mail(stale_after, limit)
    if not claims:
        return 0
    # The queue does the retrying (with backoff between passes), so one try per pass.
    mailer = mailer or SMTPMailer(settings, retries=0)
    live: list[tuple[Claimed, EmailMessage]] = []
    for claim in claims:
        if _now() - claim.created_at > MAX_AGE:
            store.mark_mail(claim, "failed", error=f"not delivered within {MAX_AGE}; given up")
            continue
        parsed = email.message_from_string(claim.message, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        live.append((claim, parsed))
    if live:
        mailer.send_many(live, kind="queued",
                         on_result=lambda claim, done: _settle(store, claim, done))
    return len(claims)


def _settle(store: Store, claim: Claimed, done: Delivery) -> None:
    if done.outcome == "sent":
        store.mark_mail(claim, "sent")
    elif done.permanent or claim.attempts >= MAX_ATTEMPTS:
        log.warning("giving up on %s mail %s: %s", claim.kind, claim.message_id, done.error)
        store.mark_mail(claim, "failed", error=done.error)
    else:
        store.mark_mail(claim, "queued", error=done.error,
                        retry_at=_now() + retry_delay(claim.attempts))


__all__ = ["MAX_AGE", "MAX_ATTEMPTS", "STALE_AFTER", "deliver_due", "retry_delay"]
