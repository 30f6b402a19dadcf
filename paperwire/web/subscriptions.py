"""Subscription pages: subscribe, confirm, unsubscribe, and saved searches' feeds.

Subscribing is double opt-in, unsubscribing RFC 8058 one-click.

The subscribe form answers the same whatever the address ("check your inbox"): the request
lives only in the signed confirmation link until that link is followed, so an address is
neither revealed nor changed by someone who does not read its mail. Unsubscribing needs
no sign-in and no CSRF token (a mail client's one-click POST carries neither): the
unguessable per-subscription token in the URL is the authority.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from paperwire import subscriptions as subs
from paperwire.formats.atom import FEED_SIZE
from paperwire.models import Filters, SearchSpec, Subscription
from paperwire.search import QueryError
from paperwire.signing import InvalidToken
from paperwire.web.cards import hit_card
from paperwire.web.params import read_form, split_words
from paperwire.web.renderers import Feed, Page, page_route, render
from paperwire.web.security import client_ip, user_of
from paperwire.web.site import notice, site_of

router = APIRouter(include_in_schema=False)
UNSUBSCRIBE_PREFIX = "/unsubscribe/"
CHECK_INBOX = ("Thanks! If the address can receive mail, a confirmation link is on its way. "
               "Nothing is sent until it is followed; the link works for 7 days.")


def install(app: FastAPI) -> None:
    """Add the routes, and exempt the one-click unsubscribe POST from the CSRF check."""
    exempt: set[str] = getattr(app.state, "csrf_exempt", set())
    exempt.add(UNSUBSCRIBE_PREFIX)
    app.state.csrf_exempt = exempt
    app.include_router(router)


def _form_data(request: Request, values: dict[str, str], error: str | None = None
               ) -> dict[str, Any]:
    user = user_of(request)
    mine = next((s for s in subs.managed_by(site_of(request).store, user)
                 if user is not None and s.email == user.email), None)
    held = mine.to_dict() if mine else {}
    return {"form": {"email": values.get("email", user.email if user else ""),
                     "period": values.get("period", held.get("period", "daily")),
                     "trending": values.get("trending", "yes") == "yes",
                     "categories": values.get("categories",
                                              " ".join(held.get("categories") or ())),
                     "query": values.get("query", ""),
                     "query_categories": values.get("query_categories", "")},
            "error": error, "mine": held or None,
            # A signed-in reader's own (confirmed) address subscribes at once, unmailed.
            "at_once": bool(user and subs.may_manage_address(user, user.email)),
            "manage_url": f"{UNSUBSCRIBE_PREFIX}{mine.token}" if mine else None}


@page_route(router, "/subscribe")
def subscribe_page(request: Request) -> Page:
    return Page("subscribe.html", _form_data(request, dict(request.query_params)))


@router.post("/subscribe")
async def subscribe(request: Request) -> Response:
    form = await read_form(request)
    site = site_of(request)
    query = form.get("query", "").strip()
    searches = (SearchSpec(query, split_words(form.get("query_categories", ""))),) if query else ()
    try:
        wanted = subs.build(site.settings, form.get("email", ""),
                            period=form.get("period", "daily"),
                            trending=form.get("trending", "") == "yes",
                            categories=split_words(form.get("categories", "")), searches=searches)
    except subs.SubscriptionError as exc:
        data = _form_data(request, {**form, "trending": form.get("trending", "no")}, str(exc))
        return render(request, Page("subscribe.html", data, 400))
    user = user_of(request)
    if subs.may_manage_address(user, wanted.email):
        assert user is not None
        # The account's address is confirmed already: a second round trip proves nothing.
        sub = await run_in_threadpool(wanted.save, site.store, status="active",
                                      user_id=user.id)
        return notice(request, "You are subscribed",
                       f"{sub.email} will get the {sub.period} paperwire digest.",
                       manage_url=f"{UNSUBSCRIBE_PREFIX}{sub.token}")
    send, wait = await run_in_threadpool(subs.may_send_confirmation, site.store,
                                         site.settings, wanted.email, client_ip(request))
    if wait:
        refused = notice(request, "Too many requests",
                          f"Too many subscription requests from here; try again in {wait} "
                          "seconds.", 429)
        refused.headers["Retry-After"] = str(wait)
        return refused
    # Whether the server took the address is the very thing not to reveal: same answer.
    if send:  # queued: the background sender delivers it, so no SMTP wait here
        message = await run_in_threadpool(subs.confirmation_message, site.settings, wanted,
                                          site.store)
        await run_in_threadpool(site.mailer.send, message, kind="confirm")
    return notice(request, "Check your inbox", CHECK_INBOX)


def _bad_confirm_link(request: Request, exc: InvalidToken) -> Response:
    return notice(request, "This link does not work", f"{exc}: subscribe again to get a new "
                  "one.", 400)


@page_route(router, "/subscribe/confirm")
def confirm_page(request: Request, token: str = "") -> Response:
    """What the link would subscribe, and a button that does it: the GET changes nothing, so
    a mail scanner that follows links subscribes nobody."""
    try:
        wanted = subs.read_confirm_token(site_of(request).settings, token, site_of(request).store)
    except InvalidToken as exc:
        return _bad_confirm_link(request, exc)
    return render(request, Page("subscribe_confirm.html", {
        "token": token, "email": wanted.email, "period": wanted.period,
        "trending": wanted.trending, "categories": list(wanted.categories),
        "searches": [s.query for s in wanted.searches]}))


def _confirm(request: Request, token: str) -> Response:
    site = site_of(request)
    try:
        sub = subs.confirm(site.settings, site.store, token, user_of(request))
    except InvalidToken as exc:
        return _bad_confirm_link(request, exc)
    return notice(request, "You are subscribed",
                   f"{sub.email} will get the {sub.period} paperwire digest. Every digest "
                   "has a link to unsubscribe.", manage_url=f"{UNSUBSCRIBE_PREFIX}{sub.token}")


@router.post("/subscribe/confirm")
async def confirm(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_confirm, request, form.get("token", ""))


def _by_token(request: Request, token: str) -> Subscription:
    sub = site_of(request).store.subscription(token=token)
    if sub is None:
        raise HTTPException(404, "no subscription has this link (it may have been removed)")
    return sub


@page_route(router, UNSUBSCRIBE_PREFIX + "{token}")
def unsubscribe_page(request: Request, token: str) -> Page:
    sub = _by_token(request, token)
    return Page("unsubscribe.html", {"email": sub.email, "status": sub.status,
                                     "action": f"{UNSUBSCRIBE_PREFIX}{token}", "done": False})


@router.post(UNSUBSCRIBE_PREFIX + "{token}")
def unsubscribe(request: Request, token: str) -> Response:
    """RFC 8058 one-click: any POST to the link unsubscribes, at once."""
    sub = _by_token(request, token)
    store = site_of(request).store
    if sub.status != "unsubscribed":
        store.set_subscription_status(sub.id, "unsubscribed")
    return render(request, Page("unsubscribe.html", {
        "email": sub.email, "status": "unsubscribed", "action": None, "done": True}))


@page_route(router, "/feeds/alerts/{token}")
def alert_feed(request: Request, token: str) -> Page:
    """A saved search's newest matches, as Atom (``.atom``) or JSON."""
    site = site_of(request)
    found = site.store.saved_search(token)
    if found is None:
        raise HTTPException(404, "no saved search has this feed address")
    search, status = found
    if status not in subs.FEED_STATUSES:
        raise HTTPException(404, "this feed ended with its subscription")
    filters = Filters(categories=search.categories, author=search.author)
    try:
        hits = site.searcher.search(search.query, limit=FEED_SIZE, filters=filters,
                                    mode="lexical", sort="date").hits
    except QueryError:
        hits = []
    title = f"paperwire alert: {search.query}"
    return Page(None, {"title": title, "query": search.query,
                       "hits": [hit_card(h) for h in hits]},
                feed=Feed(title, "/search?" + urlencode({"q": search.query}),
                          [h.paper for h in hits]))
