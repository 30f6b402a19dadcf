"""What a subscription request is: validated fields, the signed confirmation link and mail.

Shared by the web form, the CLI and CSV imports, so all three accept and refuse the same
things. Double opt-in: a request from the web is written nowhere until its signed, expiring
confirmation link comes back, so nobody can subscribe (or re-configure) someone else's
address, and the response never tells whether an address was known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from paperwire import throttle
from paperwire.accounts import may_mail
from paperwire.errors import PaperwireError
from paperwire.mail import compose
from paperwire.models import DIGEST_PERIODS, Filters, SearchSpec, Subscription
from paperwire.search import MAX_QUERY_CHARS, QueryError, check_filters
from paperwire.settings import Settings
from paperwire.signing import Signer
from paperwire.store import Store

CONFIRM_PURPOSE = "confirm-subscription"
CONFIRM_MAX_AGE_S = 7 * 24 * 3600
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class SubscriptionError(PaperwireError):
    """A subscription request cannot be accepted; ``field`` names the part that is wrong."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True)
class Request:
    """A validated subscription: address, period, trending (in categories), saved searches."""

    email: str
    period: str = "daily"
    trending: bool = True
    categories: tuple[str, ...] = ()
    searches: tuple[SearchSpec, ...] = field(default=())

    def to_payload(self) -> dict[str, Any]:
        return {"email": self.email, "period": self.period, "trending": self.trending,
                "categories": list(self.categories),
                "searches": [[s.query, list(s.categories), s.author] for s in self.searches]}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Request:
        return cls(email=data["email"], period=data["period"], trending=data["trending"],
                   categories=tuple(data["categories"]),
                   searches=tuple(SearchSpec(q, tuple(c), a) for q, c, a in data["searches"]))

    def save(self, store: Store, *, status: str, user_id: int | None = None
             ) -> Subscription:
        return store.upsert_subscription(self.email, period=self.period,
                                         trending=self.trending, categories=self.categories,
                                         searches=self.searches, status=status,
                                         user_id=user_id)


def check_email(value: str) -> str:
    email = value.strip().lower()
    if not email:
        raise SubscriptionError("email", "an e-mail address is required")
    if not email.isascii():
        # Non-ASCII mailboxes need SMTPUTF8 end to end, which many servers still lack.
        raise SubscriptionError("email", "addresses with non-ASCII characters are not "
                                "supported yet")
    if len(email) > 320 or not _EMAIL.match(email):
        raise SubscriptionError("email", f"{value.strip()!r} is not an e-mail address")
    return email


def check_categories(settings: Settings, codes: tuple[str, ...], name: str = "categories"
                     ) -> tuple[str, ...]:
    codes = tuple(dict.fromkeys(c.strip() for c in codes if c.strip()))
    try:
        check_filters(Filters(categories=codes), settings.extra_categories)
    except QueryError as exc:
        raise SubscriptionError(name, str(exc)) from None
    return codes


def build(settings: Settings, email: str, *, period: str = "daily", trending: bool = True,
          categories: tuple[str, ...] = (), searches: tuple[SearchSpec, ...] = ()
          ) -> Request:
    """A Request from raw input; SubscriptionError names the first field that is wrong."""
    if period not in DIGEST_PERIODS:
        raise SubscriptionError("period", f"expected daily or weekly, got {period!r}")
    checked = []
    for spec in searches:
        query = " ".join(spec.query.split())
        if not query:
            raise SubscriptionError("search", "a saved search needs some words")
        if len(query) > MAX_QUERY_CHARS:
            raise SubscriptionError("search", f"query is {len(query):,} characters (limit "
                                    f"{MAX_QUERY_CHARS:,})")
        checked.append(SearchSpec(query, check_categories(settings, spec.categories,
                                                          "search categories"),
                                  (spec.author or "").strip() or None))
    if not trending and not checked:
        raise SubscriptionError("trending", "choose trending papers, a saved search, or both")
    return Request(check_email(email), period, trending,
                   check_categories(settings, categories), tuple(checked))


def confirm_token(settings: Settings, request: Request) -> str:
    return Signer(settings, CONFIRM_PURPOSE).sign(request.to_payload())


def read_confirm_token(settings: Settings, token: str) -> Request:
    """The request a confirmation link carries; raises signing.InvalidToken."""
    return Request.from_payload(Signer(settings, CONFIRM_PURPOSE).unsign(token,
                                                                         CONFIRM_MAX_AGE_S))


def confirmation_message(settings: Settings, request: Request) -> EmailMessage:
    link = (f"{settings.base_url.rstrip('/')}/subscribe/confirm?token="
            f"{confirm_token(settings, request)}")
    what = []
    if request.trending:
        cats = ", ".join(request.categories) or "all categories"
        what.append(f"- trending papers ({cats})")
    what += [f"- new papers for “{s.query}”" for s in request.searches]
    text = "\n".join([
        f"Someone (hopefully you) asked for a {request.period} paperwire digest at this "
        "address:", "", *what, "",
        "To start receiving it, follow this link within 7 days:", "", link, "",
        "If you did not ask for this, ignore this message: nothing will be sent.", ""])
    return compose(settings, request.email, "Confirm your paperwire subscription", text)


def may_send_confirmation(store: Store, settings: Settings, email: str,
                          client_ip: str | None) -> tuple[bool, int]:
    """Whether to mail a confirmation now, and else how long the client should wait.

    The form mails whatever address it is given, so without a limit it could be used to
    flood a stranger's inbox: at most ``mails_per_address_per_hour`` confirmations go to one
    address, and one client may ask for ``subscribe_per_ip_per_hour``. Over the address
    limit nothing is sent but the answer stays the same (it must not tell whether the
    address is known); over the client limit the client is told to wait (HTTP 429).
    """
    if client_ip:
        try:
            throttle.reserve(store, [(throttle.client_limit(settings, "subscribe"), client_ip)])
        except throttle.Throttled as exc:
            return False, exc.retry_after
    return may_mail(store, settings, "confirm", email), 0
