"""Notification pages: one-click unsubscribe from a kind of comment notice (RFC 8058), and
the account page's form that chooses which kinds a reader hears of.

Unsubscribing needs no sign-in and no CSRF token (a mail client's one-click POST carries
neither): the signed link names the reader and the kinds, and is the authority.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from paperwire import notifications
from paperwire.models import NOTICE_KINDS
from paperwire.signing import InvalidToken
from paperwire.web.deps import SessionOnly
from paperwire.web.params import read_form
from paperwire.web.renderers import Page, page_route, render
from paperwire.web.security import user_of
from paperwire.web.site import site_of

router = APIRouter(include_in_schema=False)
account_router = APIRouter(include_in_schema=False, dependencies=[SessionOnly])
PREFIX = notifications.UNSUBSCRIBE_PATH


def install(app: FastAPI) -> None:
    """Add the routes, and exempt the one-click unsubscribe POST from the CSRF check."""
    exempt: set[str] = getattr(app.state, "csrf_exempt", set())
    exempt.add(PREFIX)
    app.state.csrf_exempt = exempt
    app.include_router(router)
    app.include_router(account_router)


def choices(prefs: dict[str, bool]) -> list[dict[str, Any]]:
    """The account page's rows: each kind, what it means, and whether it is on."""
    return [{"kind": k, "label": notifications.LABELS[k], "enabled": prefs[k]}
            for k in NOTICE_KINDS]


def _read(request: Request, token: str) -> tuple[int, tuple[str, ...]]:
    try:
        return notifications.read_unsubscribe_token(site_of(request).settings, token)
    except InvalidToken as exc:
        raise HTTPException(400, f"{exc}: use the link in your latest notice mail, or "
                                 "choose on your account page") from None


def _page(kinds: tuple[str, ...], action: str | None, done: bool) -> Page:
    return Page("notice_unsubscribe.html", {
        "kinds": [notifications.LABELS[k] for k in kinds], "action": action, "done": done})


@page_route(router, PREFIX + "{token}")
def unsubscribe_page(request: Request, token: str) -> Page:
    """What the link turns off, and a button that does it."""
    _, kinds = _read(request, token)
    return _page(kinds, f"{PREFIX}{token}", False)


def _unsubscribe(request: Request, token: str) -> Response:
    user_id, kinds = _read(request, token)
    site_of(request).store.set_notice_prefs(user_id, dict.fromkeys(kinds, False))
    return render(request, _page(kinds, None, True))


@router.post(PREFIX + "{token}")
async def unsubscribe(request: Request, token: str) -> Response:
    """RFC 8058 one-click: any POST to the link turns its kinds off, at once."""
    return await run_in_threadpool(_unsubscribe, request, token)


def _choose(request: Request, form: dict[str, str]) -> Response:
    user = user_of(request)
    if user is None:
        return RedirectResponse("/signin?next=/account", status_code=303)
    # A checkbox left unticked is not sent: every kind the form shows is set.
    notifications.set_choices(site_of(request).store, user.id,
                              {k: form.get(f"notify_{k}") == "on" for k in NOTICE_KINDS})
    return RedirectResponse("/account#notifications", status_code=303)


@account_router.post("/account/notifications")
async def choose(request: Request) -> Response:
    return await run_in_threadpool(_choose, request, await read_form(request))
