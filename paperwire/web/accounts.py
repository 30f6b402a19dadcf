"""Account pages: sign up, verify, sign in and out, password reset, and the account page.

Messages never say whether an address has an account: sign-up answers the same for a taken
address (and mails its owner instead), sign-in says "wrong address or password", and a reset
request always says a link was sent if the address has an account. Unverified accounts may
sign in; voting and submitting wait for a verified address.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from paperwire import accounts
from paperwire import subscriptions as subs
from paperwire.accounts import AccountError, NotAllowed, Throttled, WrongCredentials
from paperwire.mail import compose
from paperwire.models import User
from paperwire.signing import InvalidToken, Signer
from paperwire.web.deps import SessionOnly
from paperwire.web.notifications import choices as notice_choices
from paperwire.web.params import read_form, safe_next
from paperwire.web.renderers import Page, page_route, render
from paperwire.web.security import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_ip,
    set_session_cookie,
    user_of,
)
from paperwire.web.site import Site, notice, site_of

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

VERIFY = "verify-email"
RESET = "password-reset"
SENT_RESET = ("If that address has an account, we've sent a link to reset its password. "
              "The link works for {hours} hours.")


# --- helpers -------------------------------------------------------------------------------
def signin_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/signin?" + urlencode({"next": here})


def require_signed_in(request: Request) -> User:
    user = user_of(request)
    if user is None:
        raise HTTPException(401, "sign in first")
    return user


def link(site: Site, path: str, **query: str) -> str:
    return site.settings.base_url.rstrip("/") + path + "?" + urlencode(query)


def _form(template: str, status: int = 200, **data: Any) -> Page:
    base: dict[str, Any] = {"error": None, "email": "", "display_name": "", "next": "/",
                            "vote": ""}
    return Page(template, {**base, **data}, status)


def _form_page(request: Request, template: str, status: int = 200, **data: Any) -> Response:
    return render(request, _form(template, status, **data))


# --- mail -----------------------------------------------------------------------------------
def _deliver(site: Site, to: str, subject: str, text: str, kind: str, *,
             keep_only: str | None = None) -> None:
    """Queue the message for the background sender and return at once: no request waits on
    an SMTP server, and the answer cannot differ by whether mail went out (that would tell
    which addresses have accounts). A few of a kind per address per hour at most
    (accounts.may_mail); past that, nothing is queued and the answer is the same. With
    ``keep_only`` (the reason) the message is recorded as kept, and never sent."""
    message = compose(site.settings, to, subject, text)
    if not accounts.may_mail(site.store, site.settings, kind, str(message["To"])):
        log.info("not sending more %s mail to %s this hour", kind, message["To"])
        return
    if keep_only is not None:
        site.store.record_mail(message, kind=kind, status="kept", note=keep_only)
    else:
        site.mailer.send(message, kind=kind)


def send_verification(site: Site, user: User) -> None:
    token = Signer(site.settings, VERIFY).sign({"uid": user.id, "email": user.email})
    url = link(site, "/verify", token=token)
    hours = site.settings.verify_link_hours
    # No display name, nor any other text the signer-up chose: the address has not agreed
    # to hear from them, and a greeting would carry their words (a link, an advert) to it.
    text = (f"Hello,\n\nplease confirm this address for your paperwire account by opening "
            f"this link (it works for {hours} hours):\n\n{url}\n\n"
            "If you did not sign up, ignore this message.\n")
    _deliver(site, user.email, "Confirm your paperwire address", text, "verify")


def _send_taken_notice(site: Site, email: str) -> None:
    text = ("Someone (perhaps you) tried to sign up for paperwire with this address, which "
            "already has an account. Nothing was changed.\n\nForgot your password? Reset it "
            f"here: {site.settings.base_url.rstrip('/')}/password/forgot\n")
    _deliver(site, email, "Sign-up attempt on paperwire", text, "signup-taken")


def _password_mark(password_hash: str) -> str:
    # A reset link names the hash it replaces, so it works once: after the change it is stale.
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


# A stand-in password hash for addresses without an account, so both paths of a reset
# request sign the same kind of link (see _send_reset).
_NO_ACCOUNT_MARK = _password_mark("$argon2id$v=19$m=65536,t=3,p=4$no-account$no-account")
NO_ACCOUNT = "no account at this address: kept, not sent"


def _send_reset(site: Site, email: str) -> None:
    """Queue a reset link, or for an address without an account do the same work (sign a
    link, compose, count it against the address's hourly limit, write one outbox row) and
    keep the row unsent. Equal work keeps the timing and the rows written from telling
    whether the address has an account. A "there is no account here" mail was the other
    choice, and is worse: it would let anyone have the site mail any address at all."""
    found = site.store.credentials(email)
    uid, mark, to = 0, _NO_ACCOUNT_MARK, email
    if found is not None:
        user, stored = found
        uid, mark, to = user.id, _password_mark(stored), user.email
    token = Signer(site.settings, RESET).sign({"uid": uid, "pw": mark})
    hours = site.settings.reset_link_hours
    # The name was chosen by whoever signed up, who may not own the address: not in mail.
    text = ("Hello,\n\nto choose a new paperwire password, open this link "
            f"(it works for {hours} hours, once):\n\n{link(site, '/password/reset', token=token)}"
            "\n\nIf you did not ask for this, ignore this message; your password is unchanged.\n")
    _deliver(site, to, "Reset your paperwire password", text, "reset",
             keep_only=None if found is not None else NO_ACCOUNT)


# --- sign up, verify ------------------------------------------------------------------------
@page_route(router, "/signup")
def signup_page(request: Request) -> Page:
    return _form("signup.html")


def _throttled(request: Request, template: str, exc: Throttled, **data: Any) -> Response:
    """The form again with a 429 saying when to try again (and Retry-After saying it too)."""
    refused = _form_page(request, template, 429, error=str(exc), **data)
    refused.headers["Retry-After"] = str(exc.retry_after)
    return refused


def _signup(request: Request, form: dict[str, str]) -> Response:
    site = site_of(request)
    email, name = form.get("email", ""), form.get("display_name", "")
    try:
        user, created = accounts.sign_up(site.store, email, form.get("password", ""),
                                         name or email.split("@")[0], settings=site.settings,
                                         client_ip=client_ip(request))
    except Throttled as exc:
        return _throttled(request, "signup.html", exc, email=email, display_name=name)
    except AccountError as exc:
        return _form_page(request, "signup.html", 400, error=str(exc), email=email,
                          display_name=name)
    if created:
        send_verification(site, user)
    else:
        accounts.hash_password(form.get("password", ""))  # same work, so the same timing
        _send_taken_notice(site, user.email)
    return notice(request, "Check your inbox",
                  f"We've sent a message to {user.email}. Open the link in it to confirm the "
                  "address, then sign in. Voting and submitting papers need a confirmed "
                  "address.")


@router.post("/signup")
async def signup(request: Request) -> Response:
    return await run_in_threadpool(_signup, request, await read_form(request))


def _verify_user(site: Site, token: str) -> User:
    """The account a verification link is for; InvalidToken when forged, expired or stale."""
    try:
        payload = Signer(site.settings, VERIFY).unsign(
            token, site.settings.verify_link_hours * 3600)
        user = site.store.user_by_id(int(payload["uid"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidToken("this link is not valid") from None
    if user is None or user.email != payload.get("email"):
        raise InvalidToken("this link is not valid")
    return user


def _bad_verify_link(request: Request, exc: InvalidToken) -> Response:
    return notice(request, "Link not valid", f"{exc}. Sign in and ask for a new one on your "
                  "account page.", 400)


@page_route(router, "/verify")
def verify_page(request: Request, token: str = "") -> Response:
    """The link's page: a form that confirms (a mail scanner's GET changes nothing)."""
    try:
        user = _verify_user(site_of(request), token)
    except InvalidToken as exc:
        return _bad_verify_link(request, exc)
    return render(request, Page("verify.html", {"email": user.email, "token": token,
                                                "verified": user.verified}))


# Confirming asks for the account's password as well as the link. Anyone may sign up with
# any address, so the link alone proves only the inbox: were it enough, an owner clicking a
# link from a stranger's sign-up would confirm an account whose password the stranger
# holds (a pre-account takeover). Someone who did not sign up is sent to a reset instead,
# which sets their own password and ends everything the stranger had.
def _verify(request: Request, form: dict[str, str]) -> Response:
    site = site_of(request)
    token = form.get("token", "")
    try:
        user = _verify_user(site, token)
    except InvalidToken as exc:
        return _bad_verify_link(request, exc)
    if user.verified:
        return notice(request, "Address confirmed", f"{user.email} is confirmed already.")
    again = {"email": user.email, "token": token, "verified": False}
    try:
        accounts.authenticate(site.store, site.settings, user.email,
                              form.get("password", ""), client_ip(request))
    except Throttled as exc:
        return _throttled(request, "verify.html", exc, **again)
    except WrongCredentials:
        return _form_page(request, "verify.html", 401, error=(
            "That is not this account's password. If you did not sign up yourself, set "
            "your own password with a reset link instead."), **again)
    accounts.confirm_address(site.store, user)
    # Confirming ended every earlier session; the one who just proved both the inbox and
    # the password gets a fresh one.
    response = notice(request, "Address confirmed",
                      f"{user.email} is confirmed and you are signed in. Every earlier "
                      "session and API token of the account has ended. You can vote and "
                      "submit papers now.")
    set_session_cookie(response, site.settings,
                       accounts.start_session(site.store, site.settings, user))
    return response


@router.post("/verify")
async def verify(request: Request) -> Response:
    return await run_in_threadpool(_verify, request, await read_form(request))


# --- sign in, sign out ----------------------------------------------------------------------
def _pending_vote(site: Site, raw: str | None) -> str:
    """The stored paper a signed-out reader's vote was for ("" for none or no such paper)."""
    try:
        return site.visible_id(raw, None) if raw else ""
    except HTTPException:
        return ""


@page_route(router, "/signin")
def signin_page(request: Request, next: str = "/", vote: str = "") -> Page:
    """?next= the page to return to; ?vote= a paper whose upvote signing in casts."""
    return _form("signin.html", next=safe_next(next),
                 vote=_pending_vote(site_of(request), vote[:64]))


def _signin(request: Request, form: dict[str, str]) -> Response:
    site = site_of(request)
    email, target = form.get("email", ""), safe_next(form.get("next"))
    pending = _pending_vote(site, form.get("vote", "")[:64])
    try:
        user = accounts.authenticate(site.store, site.settings, email,
                                     form.get("password", ""), client_ip(request))
    except Throttled as exc:
        return _throttled(request, "signin.html", exc, email=email, next=target, vote=pending)
    except WrongCredentials as exc:
        return _form_page(request, "signin.html", 401, error=str(exc), email=email,
                          next=target, vote=pending)
    # A fresh session id at every sign-in: a cookie planted beforehand is worthless after.
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        site.store.delete_session(accounts.token_hash(old))
    token = accounts.start_session(site.store, site.settings, user)
    if pending and user.verified:  # the upvote clicked while signed out, cast now
        site.store.set_vote(user.id, pending, on=True)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, site.settings, token)
    return response


@router.post("/signin")
async def signin(request: Request) -> Response:
    return await run_in_threadpool(_signin, request, await read_form(request))


def _signout(request: Request) -> Response:
    site = site_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        site.store.delete_session(accounts.token_hash(token))
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, site.settings)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    return await run_in_threadpool(_signout, request)


# --- password reset -------------------------------------------------------------------------
@page_route(router, "/password/forgot")
def forgot_page(request: Request) -> Page:
    return _form("password_forgot.html")


def _forgot(request: Request, form: dict[str, str]) -> Response:
    site = site_of(request)
    try:
        email = accounts.normalize_email(form.get("email", ""))
        accounts.reserve_reset(site.store, site.settings, client_ip(request))
    except Throttled as exc:
        return _throttled(request, "password_forgot.html", exc)
    except AccountError as exc:
        return _form_page(request, "password_forgot.html", 400, error=str(exc))
    _send_reset(site, email)
    return notice(request, "Check your inbox",
                  SENT_RESET.format(hours=site.settings.reset_link_hours))


@router.post("/password/forgot")
async def forgot(request: Request) -> Response:
    return await run_in_threadpool(_forgot, request, await read_form(request))


def _reset_user(site: Site, token: str) -> User:
    """The account a reset link is for; InvalidToken when forged, expired or already used."""
    try:
        payload = Signer(site.settings, RESET).unsign(token, site.settings.reset_link_hours
                                                      * 3600)
        user = site.store.user_by_id(int(payload["uid"]))
        found = site.store.credentials(user.email) if user else None
    except (KeyError, TypeError, ValueError):
        raise InvalidToken("this link is not valid") from None
    if found is None or _password_mark(found[1]) != payload.get("pw"):
        raise InvalidToken("this link is not valid (it may have been used already)")
    return found[0]


@page_route(router, "/password/reset")
def reset_page(request: Request, token: str = "") -> Response:
    try:
        _reset_user(site_of(request), token)
    except InvalidToken as exc:
        return notice(request, "Link not valid", f"{exc}. Ask for a new one.", 400)
    return _form_page(request, "password_reset.html", token=token)


def _reset(request: Request, form: dict[str, str]) -> Response:
    site = site_of(request)
    token = form.get("token", "")
    try:
        user = _reset_user(site, token)
        password = accounts.check_password(form.get("password", ""))
    except InvalidToken as exc:
        return notice(request, "Link not valid", f"{exc}. Ask for a new one.", 400)
    except AccountError as exc:
        return _form_page(request, "password_reset.html", 400, token=token, error=str(exc))
    # Every session and API token ends: whoever held the account before is shut out.
    accounts.reset_password(site.store, user, password)
    response = notice(request, "Password changed", "Your password is changed; sign in with "
                      "it. Every earlier session and API token of the account has ended.")
    clear_session_cookie(response, site.settings)
    return response


@router.post("/password/reset")
async def reset(request: Request) -> Response:
    return await run_in_threadpool(_reset, request, await read_form(request))


# --- the account page -----------------------------------------------------------------------
# Everything under /account is for a browser with a session: an API token may neither read it
# (it lists manage links, feed tokens and tokens) nor change it, so a token cannot mint tokens.
account_router = APIRouter(include_in_schema=False, dependencies=[SessionOnly])


def account_data(site: Site, user: User, new_token: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    return {"user": {"id": user.id, "email": user.email, "display_name": user.display_name,
                     "role": user.role, "verified": user.verified},
            "tokens": site.store.list_api_tokens(user.id), "new_token": new_token,
            "subscriptions": _subscriptions_of(site, user), "error": None,
            "notifications": notice_choices(site.store.notice_prefs(user.id))}


def _subscriptions_of(site: Site, user: User) -> list[dict[str, Any]]:
    """The digest subscriptions the user may manage (subscriptions.managed_by), each with its
    manage/unsubscribe link and its saved searches' feeds."""
    return [{**s.to_dict(), "manage_url": f"/unsubscribe/{s.token}",
             "feeds": [{"id": q.id, "query": q.query, "url": f"/feeds/alerts/{q.token}.atom"}
                       for q in s.searches]}
            for s in subs.managed_by(site.store, user)]


@page_route(account_router, "/account")
def account_page(request: Request) -> Page | Response:
    user = user_of(request)
    if user is None:
        return RedirectResponse(signin_url(request), status_code=303)
    return Page("account.html", account_data(site_of(request), user))


def _account_post(request: Request, form: dict[str, str], action: str) -> Response:
    site = site_of(request)
    user = require_signed_in(request)
    new_token = None
    try:
        if action == "name":
            site.store.set_display_name(user.id, accounts.clean_display_name(
                form.get("display_name", "")))
        elif action == "token":
            new_token = accounts.create_api_token(site.store, user, form.get("name", ""))
        elif action == "verify" and not user.verified:
            send_verification(site, user)
    except AccountError as exc:
        data = account_data(site, user)
        status = 403 if isinstance(exc, NotAllowed) else 400
        return render(request, Page("account.html", {**data, "error": str(exc)}, status))
    if new_token is None:
        return RedirectResponse("/account", status_code=303)
    # Shown once, in this response only: the database keeps just its hash.
    fresh = site.store.user_by_id(user.id) or user
    return render(request, Page("account.html", account_data(site, fresh, new_token),
                                headers={"Cache-Control": "no-store"}))


@account_router.post("/account")
async def account_update(request: Request) -> Response:
    return await run_in_threadpool(_account_post, request, await read_form(request), "name")


@account_router.post("/account/tokens")
async def token_create(request: Request) -> Response:
    return await run_in_threadpool(_account_post, request, await read_form(request), "token")


@account_router.post("/account/verify")
async def verify_again(request: Request) -> Response:
    return await run_in_threadpool(_account_post, request, await read_form(request), "verify")


def _revoke(request: Request, token_id: int) -> Response:
    user = require_signed_in(request)
    if not site_of(request).store.revoke_api_token(user.id, token_id):
        raise HTTPException(404, f"no API token {token_id} on your account")
    return RedirectResponse("/account", status_code=303)


Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@account_router.post("/account/tokens/{token_id}/revoke")
async def token_revoke(request: Request, token_id: Id) -> Response:
    return await run_in_threadpool(_revoke, request, token_id)


def _rotate(request: Request, search_id: int) -> Response:
    user = require_signed_in(request)
    if subs.rotate_feed(site_of(request).store, user, search_id) is None:
        raise HTTPException(404, f"no saved search {search_id} on your account")
    return RedirectResponse("/account", status_code=303)


@account_router.post("/account/feeds/{search_id}/rotate")
async def feed_rotate(request: Request, search_id: Id) -> Response:
    """A new feed address for a saved search; the old one stops working."""
    return await run_in_threadpool(_rotate, request, search_id)


router.include_router(account_router)
