"""Comment notifications by mail: gather each reader's pending notices, compose one mail,
and queue it in the outbox in the transaction that settles them.

What a reader hears of, by choice (the account page; models.NOTICE_DEFAULTS where they
never chose): replies to their comments, mentions, and new comments on papers they wrote
(a confirmed author claim), saved or upvoted. Notices are written with their comment
(store/notices.py); a pass of the background runner mails them.

**Batched.** A reader is mailed once their oldest pending notice is ``notice_delay_seconds``
old, and at most once per ``notice_interval_seconds``; a mail holds every notice since the
last, one line per comment (the most personal reason names it).

**Never twice.** A mail's notices are marked sent, its ledger row (notice_batches) written
and the message queued in the outbox, all in one transaction; a notice is taken only while
pending, so of two senders only one takes it. From there the outbox delivers it as it does
every queued message (mail_queue.py): a sender that dies after its claim is taken over, with
the same Message-ID, so a crash anywhere sends nothing twice.

**Nothing hidden.** A notice of a comment that was hidden or deleted, or whose paper was
hidden, is dropped; one of a comment that waits for a moderator waits with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from html import escape
from typing import Any

from paperwire.mail import compose, mail_domain
from paperwire.models import NOTICE_KINDS
from paperwire.settings import Settings
from paperwire.signing import InvalidToken, Signer
from paperwire.store import Store
from paperwire.store.database import utcnow

UNSUBSCRIBE_PATH = "/notifications/unsubscribe/"
UNSUBSCRIBE_PURPOSE = "notice-unsubscribe"
TOKEN_MAX_AGE_S = 400 * 86_400  # a link in an old mail still unsubscribes
PER_PASS = 50  # readers composed per pass: bounds one pass's time
# New comments whose notices one transaction writes, and at most how many such transactions
# a pass runs (what is left waits for the next pass).
FAN_OUT_BATCH, FAN_OUT_BATCHES = 200, 10
SHOWN = 30  # comments written out in one mail; the rest are counted, with a link
EXCERPT = 600  # characters of a comment's text in the plain part
LABELS = {"reply": "replies to your comments", "mention": "mentions of you",
          "authored": "comments on papers you wrote",
          "saved": "comments on papers you saved",
          "voted": "comments on papers you upvoted"}
_SAYS = {"reply": "replied to you", "mention": "mentioned you",
         "authored": "commented on your paper", "saved": "commented on a paper you saved",
         "voted": "commented on a paper you upvoted"}


@dataclass(frozen=True)
class Notice:
    """One comment a mail tells of, and the (most personal) reason."""

    comment_id: int
    kind: str
    author: str
    arxiv_id: str
    title: str
    body: str
    html: str


@dataclass
class NoticeReport:
    readers: int = 0  # readers looked at
    mailed: int = 0  # mails queued
    notices: int = 0  # notices settled into them
    dropped: int = 0  # hidden, deleted, turned off, or for an account that cannot get mail
    lost: int = 0  # readers another sender took first

    def summary(self) -> str:
        return (f"{self.mailed} notice mails queued ({self.notices} notices), "
                f"{self.dropped} dropped, {self.lost} taken by another sender")


def unsubscribe_token(settings: Settings, user_id: int, kinds: Sequence[str]) -> str:
    return Signer(settings, UNSUBSCRIBE_PURPOSE).sign([user_id, list(kinds)])


def read_unsubscribe_token(settings: Settings, token: str) -> tuple[int, tuple[str, ...]]:
    """(reader, kinds) of a one-click link; InvalidToken when forged, altered or stale."""
    payload = Signer(settings, UNSUBSCRIBE_PURPOSE).unsign(token, TOKEN_MAX_AGE_S)
    try:
        user_id, kinds = payload
        found = tuple(k for k in NOTICE_KINDS if k in kinds)
        if not isinstance(user_id, int) or not found or len(found) != len(kinds):
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidToken("this link is not valid") from None
    return user_id, found


def sort_out(prefs: Mapping[str, bool], rows: Sequence[dict[str, Any]]
             ) -> tuple[list[Notice], list[int], list[int]]:
    """(what to tell, notice ids the mail settles, notice ids to drop): one Notice per
    comment, named by its most personal kind the reader still wants."""
    by_comment: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_comment.setdefault(row["comment_id"], []).append(row)
    told: list[Notice] = []
    settled: list[int] = []
    dropped: list[int] = []
    for comment_id, found in by_comment.items():
        ids = [r["id"] for r in found]
        first = found[0]
        wanted = sorted((r["kind"] for r in found if prefs.get(r["kind"])),
                        key=NOTICE_KINDS.index)
        if first["hidden"] or first["deleted"] or first["paper_hidden"] or not wanted:
            dropped += ids
            continue
        settled += ids
        told.append(Notice(comment_id, wanted[0], first["author"], first["arxiv_id"],
                           first["title"], first["body"], first["html"]))
    return told, settled, dropped


def message_id(user_id: int, first_notice: int, domain: str) -> str:
    """Derived from the reader and the mail's first notice, which no other mail holds."""
    return f"<notice.{user_id}.{first_notice}@{domain}>"


def _subject(told: Sequence[Notice]) -> str:
    if len(told) == 1:
        n = told[0]
        title = n.title if len(n.title) <= 70 else n.title[:69] + "…"
        return f"paperwire: {n.author} {_SAYS[n.kind]} on “{title}”"
    return f"paperwire: {len(told)} new comments for you"


def _links(settings: Settings, user_id: int, kinds: Sequence[str]) -> dict[str, str]:
    base = settings.base_url.rstrip("/")
    return {k: f"{base}{UNSUBSCRIBE_PATH}{unsubscribe_token(settings, user_id, [k])}"
            for k in kinds}


def render_text(told: Sequence[Notice], base: str, stops: Mapping[str, str],
                settings_url: str) -> str:
    lines: list[str] = []
    for n in told[:SHOWN]:
        body = " ".join(n.body.split())
        lines += [f"{n.author} {_SAYS[n.kind]} on “{n.title}”:",
                  f"  {body[:EXCERPT]}{'…' if len(body) > EXCERPT else ''}",
                  f"  {base}/papers/{n.arxiv_id}#c{n.comment_id}", ""]
    if len(told) > SHOWN:
        lines += [f"… and {len(told) - SHOWN} more: {base}/discussed", ""]
    lines += ["--", f"Choose what you hear of: {settings_url}"]
    lines += [f"No more mail about {LABELS[k]} (one click): {url}" for k, url in stops.items()]
    return "\n".join(lines + [""])


_SMALL = "color:#555;font-size:13px;margin:0 0 14px 0;"


def render_html(told: Sequence[Notice], base: str, stops: Mapping[str, str],
                settings_url: str) -> str:
    """Inline styles only (mail clients drop <style>). Comment HTML was sanitised when it
    was written (formats.markdown); everything else is escaped here."""
    out = ['<!DOCTYPE html><html><body style="font-family:Helvetica,Arial,sans-serif;'
           'max-width:640px;margin:0 auto;padding:16px;color:#111;">']
    for n in told[:SHOWN]:
        url = escape(f"{base}/papers/{n.arxiv_id}#c{n.comment_id}", quote=True)
        out.append(f'<p style="margin:0 0 4px 0;"><strong>{escape(n.author)}</strong> '
                   f'{_SAYS[n.kind]} on <a href="{url}" style="color:#1a4fa0;">'
                   f'{escape(n.title)}</a>:</p>'
                   f'<blockquote style="margin:0 0 14px 0;padding-left:10px;'
                   f'border-left:3px solid #ddd;">{n.html}</blockquote>')
    if len(told) > SHOWN:
        out.append(f'<p style="{_SMALL}">… and {len(told) - SHOWN} more.</p>')
    stop = " · ".join(f'<a href="{escape(url, quote=True)}" style="color:#555;">no more '
                      f'{escape(LABELS[k])}</a>' for k, url in stops.items())
    out.append(f'<p style="{_SMALL}border-top:1px solid #ddd;padding-top:8px;">'
               f'<a href="{escape(settings_url, quote=True)}" style="color:#555;">Choose what '
               f'you hear of</a> · {stop}</p></body></html>')
    return "\n".join(out)


def message(settings: Settings, user_id: int, email: str, told: Sequence[Notice],
            first_notice: int) -> EmailMessage:
    base = settings.base_url.rstrip("/")
    kinds = [k for k in NOTICE_KINDS if any(n.kind == k for n in told)]
    stops = _links(settings, user_id, kinds)
    every = f"{base}{UNSUBSCRIBE_PATH}{unsubscribe_token(settings, user_id, kinds)}"
    domain = mail_domain(settings)
    headers = {"List-Unsubscribe": f"<{every}>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
               "List-Id": f"paperwire comment notices <notices.{domain}>",
               "Auto-Submitted": "auto-generated"}
    settings_url = f"{base}/account#notifications"
    return compose(settings, email, _subject(told),
                   render_text(told, base, stops, settings_url),
                   render_html(told, base, stops, settings_url),
                   message_id=message_id(user_id, first_notice, domain), headers=headers)


def _one_reader(settings: Settings, store: Store, user_id: int, now: datetime,
                quiet_since: datetime, report: NoticeReport) -> None:
    # Due (its oldest notice has waited): the mail takes everything pending, however new.
    reader, prefs, rows = store.pending_notices(user_id, now)
    if not rows:
        return
    if reader is None or not reader["active"]:
        store.drop_notices([r["id"] for r in rows])
        report.dropped += len(rows)
        return
    told, settled, dropped = sort_out(prefs, rows)
    if not told:
        store.drop_notices(dropped)
        report.dropped += len(dropped)
        return
    mail = message(settings, user_id, reader["email"], told, min(settled))
    if store.take_notices(user_id, settled, dropped, mail, now, quiet_since) is None:
        report.lost += 1
        return
    report.mailed += 1
    report.notices += len(settled)
    report.dropped += len(dropped)


def send_notices(settings: Settings, store: Store, now: datetime | None = None, *,
                 on_queued: Callable[[], None] | None = None, limit: int = PER_PASS
                 ) -> NoticeReport:
    """One pass: write the notices of new comments, then queue a mail for each reader (up
    to ``limit``) whose notices are due."""
    for _ in range(FAN_OUT_BATCHES):
        if store.fan_out_notices(FAN_OUT_BATCH) < FAN_OUT_BATCH:
            break
    now = now or utcnow()
    quiet_since = now - timedelta(seconds=settings.notice_interval_seconds)
    ready_before = now - timedelta(seconds=settings.notice_delay_seconds)
    report = NoticeReport()
    for user_id in store.notice_readers_due(ready_before, quiet_since, limit):
        report.readers += 1
        _one_reader(settings, store, user_id, now, quiet_since, report)
    if report.mailed and on_queued is not None:
        on_queued()
    return report


def set_choices(store: Store, user_id: int, choices: Mapping[str, bool]) -> dict[str, bool]:
    """Change the reader's choices (kinds not named stay as they are); all of them now."""
    unknown = set(choices) - set(NOTICE_KINDS)
    if unknown:
        raise ValueError(f"no kind of notice {sorted(unknown)[0]!r} "
                         f"(choose from {', '.join(NOTICE_KINDS)})")
    store.set_notice_prefs(user_id, choices)
    return store.notice_prefs(user_id)


__all__ = ["LABELS", "UNSUBSCRIBE_PATH", "Notice", "NoticeReport", "message",
           "read_unsubscribe_token", "send_notices", "set_choices", "sort_out",
           "unsubscribe_token"]
