"""What a subscription request is: validated fields, the signed confirmation link and mail.

Shared by the web form, the CLI and CSV imports, so all three accept and refuse the same
things. Double opt-in: a request from the web is written nowhere until its signed, expiring
confirmation link comes back, so nobody can subscribe (or re-configure) someone else's
address, and the response never tells whether an address was known.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from paperwire import throttle
from paperwire.accounts import may_mail
from paperwire.errors import PaperwireError
from paperwire.mail import compose
from paperwire.models import DIGEST_PERIODS, Filters, SearchSpec, Subscription, User
from paperwire.search import MAX_QUERY_CHARS, QueryError, check_filters
from paperwire.settings import Settings
from paperwire.signing import InvalidToken, Signer
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


# --- single-use confirmation links ---------------------------------------------------------
# A link names the state of the address's subscription when it was issued (none yet, or its
# status and when it was last confirmed). Confirming changes that state, and so does an
# unsubscribe or a bounce, so a link works once and never after a later unsubscribe: nothing
# needs to be stored for it, as with password-reset links.
def _state_mark(sub: Subscription | None) -> str:
    if sub is None:
        return "new"
    state = f"{sub.token}|{sub.status}|{sub.confirmed_at.isoformat() if sub.confirmed_at else ''}"
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def confirm_token(settings: Settings, request: Request, store: Store) -> str:
    payload = {**request.to_payload(),
               "state": _state_mark(store.subscription(email=request.email))}
    return Signer(settings, CONFIRM_PURPOSE).sign(payload)


def read_confirm_token(settings: Settings, token: str, store: Store) -> Request:
    """The request a confirmation link carries, while the link is still good; raises
    signing.InvalidToken when it is forged, expired, used, or older than an unsubscribe."""
    try:
        payload = Signer(settings, CONFIRM_PURPOSE).unsign(token, CONFIRM_MAX_AGE_S)
        wanted = Request.from_payload(payload)
    except (KeyError, TypeError, ValueError):
        raise InvalidToken("this link is not valid") from None
    if payload.get("state") != _state_mark(store.subscription(email=wanted.email)):
        raise InvalidToken("this link has been used already, or the subscription changed "
                           "since it was sent")
    return wanted


def confirm(settings: Settings, store: Store, token: str, user: User | None) -> Subscription:
    """Act on a confirmation link: the subscription, now active. A signed-in account owns it
    when it is the account's own confirmed address."""
    wanted = read_confirm_token(settings, token, store)
    owner = user.id if user is not None and may_manage_address(user, wanted.email) else None
    return wanted.save(store, status="active", user_id=owner)


# --- who may see and manage a subscription ---------------------------------------------------
# The one rule, for the account page, the subscribe form and any API: a subscription's manage
# link and feed tokens are shown, and its settings changed, only for an account whose address
# is confirmed, and only for that address (or subscriptions it made itself). Holding an
# unconfirmed account for an address proves nothing about its inbox.
FEED_STATUSES = frozenset({"active", "bounced"})  # a bounce stops mail, not the feed


def may_manage_address(user: User | None, email: str) -> bool:
    return user is not None and user.verified and user.email == email.strip().lower()


def may_manage(user: User | None, sub: Subscription) -> bool:
    return (user is not None and user.verified
            and (sub.user_id == user.id or may_manage_address(user, sub.email)))


def managed_by(store: Store, user: User | None) -> list[Subscription]:
    """The subscriptions ``user`` may see and manage (none for an unconfirmed account)."""
    if user is None or not user.verified:
        return []
    found = {s.id: s for s in store.subscriptions(user_id=user.id)}
    by_address = store.subscription(email=user.email)
    if by_address is not None:
        found.setdefault(by_address.id, by_address)
    return [s for s in found.values() if may_manage(user, s)]


def rotate_feed(store: Store, user: User | None, search_id: int) -> str | None:
    """Give one of ``user``'s saved searches a new feed address; None when it is not theirs."""
    for sub in managed_by(store, user):
        if any(s.id == search_id for s in sub.searches):
            return store.rotate_feed_token(search_id)
    return None


def confirmation_message(settings: Settings, request: Request, store: Store) -> EmailMessage:
    link = (f"{settings.base_url.rstrip('/')}/subscribe/confirm?token="
            f"{confirm_token(settings, request, store)}")
    what = []
    if request.trending:
        cats = ", ".join(request.categories) or "all categories"  # checked codes only
        what.append(f"- trending papers ({cats})")
    # The queries' words are the requester's, sent to an address that has not agreed to
    # hear from them: the mail counts them, the confirmation page shows them.
    if request.searches:
        what.append(f"- new papers for {len(request.searches)} saved search(es), shown on "
                    "the page the link opens")
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
