"""Who is asking, and did they mean to: the current user and CSRF protection for every request.

``AccountsMiddleware`` sets ``request.state.user`` (a ``paperwire.accounts.User`` or None) from
an ``Authorization: Bearer`` API token or else the session cookie, and refuses unsafe methods
(POST, PUT, PATCH, DELETE) with 403 unless they carry the request's CSRF token, as the
``csrf_token`` form field or the ``X-CSRF-Token`` header. The token is an HMAC of a random
cookie and the session, so a token copied from another browser or session is worthless.
Exempt: requests with a Bearer token (a browser never adds one on its own) and paths under
a prefix in ``app.state.csrf_exempt``. A Bearer token that names no valid token is a 401 at
once, on any route, before the body is read.

The app runs it inside ``Gateway``, the one ASGI layer in front of the routes, which also
strips format suffixes, caps request bodies and adds the security headers.

A response that looked at the signed-in user (``user_of``, ``current_user``, every typed
dependency on the viewer) varies by who asked, so it goes out ``Cache-Control: private,
no-store``, whatever the view: no cache, shared or not, keeps one user's page for another.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

import anyio.to_thread
from fastapi import FastAPI, Request
from markupsafe import Markup, escape
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperwire import accounts
from paperwire.models import User
from paperwire.settings import Settings
from paperwire.signing import secret_key
from paperwire.web.asgi import BodyLimit, ErrorPage, HTTPMiddleware
from paperwire.web.params import MAX_FORM_BYTES
from paperwire.web.renderers import Registry, strip_suffix
from paperwire.web.site import Site, error_response

SESSION_COOKIE = "pw_session"
CSRF_COOKIE = "pw_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_csrf: ContextVar[str] = ContextVar("paperwire_csrf", default="")


@dataclass
class _Viewer:
    """Who is asking, and whether the response has looked (then it is theirs alone)."""

    user: User | None
    read: bool = False

    def look(self) -> User | None:
        self.read = True
        return self.user


# Shared by reference with the threads views run in, so a look there is seen here.
_viewer: ContextVar[_Viewer | None] = ContextVar("paperwire_viewer", default=None)
_csrf_field: ContextVar[tuple[str, Markup] | None] = ContextVar("paperwire_csrf_field",
                                                                default=None)


# --- template helpers (Jinja globals) --------------------------------------------------------
def csrf_token() -> str:
    return _csrf.get()


def csrf_input() -> Markup:
    """The hidden field every state-changing form carries: ``{{ csrf_input() }}``."""
    # Built once per token: a listing has a vote form per card.
    token = _csrf.get()
    cached = _csrf_field.get()
    if cached is None or cached[0] != token:
        cached = (token, Markup('<input type="hidden" name="{}" value="{}">').format(
            CSRF_FIELD, escape(token)))
        _csrf_field.set(cached)
    return cached[1]


@contextmanager
def csrf_as(placeholder: str) -> Iterator[None]:
    """Render with ``placeholder`` for the CSRF token: markup kept for many readers has
    it put in per request (web/discussion.py, web/kept_pages.py)."""
    reset = _csrf.set(placeholder)
    try:
        yield
    finally:
        _csrf.reset(reset)


@contextmanager
def reading_as(stand_in: User | None) -> Iterator[None]:
    """Render with ``stand_in`` as ``current_user()`` (None: the request's own reader): a
    page kept for every reader in a role is drawn for one who is nobody in particular
    (web/kept_pages.py)."""
    if stand_in is None:
        yield
        return
    reset = _viewer.set(_Viewer(stand_in))
    try:
        yield
    finally:
        _viewer.reset(reset)


def request_reader() -> tuple[bool, User | None]:
    """(whether a request's reader is known here, that reader): what a page kept for its
    reader is kept by. Asking counts as the response looking at them."""
    viewer = _viewer.get()
    return (False, None) if viewer is None else (True, viewer.look())


def current_user() -> User | None:
    viewer = _viewer.get()
    return viewer.look() if viewer is not None else None


def user_of(request: Request) -> User | None:
    viewer: _Viewer | None = getattr(request.state, "viewer", None)
    if viewer is not None:
        return viewer.look()
    user: User | None = getattr(request.state, "user", None)
    return user


# --- cookies --------------------------------------------------------------------------------
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_-]+")


def _cookie(name: str, value: str, settings: Settings, max_age: int | None) -> str:
    secure = settings.base_url.startswith("https:")
    if _PLAIN_VALUE.fullmatch(value):
        # A value that needs no quoting (every token here) is put before the attributes
        # SimpleCookie wrote once for its kind of cookie: building one is most of a request's
        # cookie time.
        return f"{name}={value}{_cookie_attributes(name, secure, max_age)}"
    return _simple_cookie(name, value, secure, max_age)


@functools.lru_cache(maxsize=64)
def _cookie_attributes(name: str, secure: bool, max_age: int | None) -> str:
    return _simple_cookie(name, "x", secure, max_age)[len(name) + 2:]


def _simple_cookie(name: str, value: str, secure: bool, max_age: int | None) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    morsel = cookie[name]
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    if max_age is not None:
        morsel["max-age"] = max_age
    return morsel.OutputString()


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.headers.append("set-cookie", _cookie(SESSION_COOKIE, token, settings,
                                                  settings.session_days * 86400))


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.headers.append("set-cookie", _cookie(SESSION_COOKIE, "", settings, 0))


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


# --- CSRF -----------------------------------------------------------------------------------
def _csrf_for(key: bytes, raw: str, session: str) -> str:
    return hmac.new(key, f"csrf|{raw}|{session}".encode(), hashlib.sha256).hexdigest()


def _valid_raw(raw: str | None) -> bool:
    return raw is not None and 20 <= len(raw) <= 100 and raw.replace("-", "").replace(
        "_", "").isalnum()


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is longer than ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class ResponseEdits:
    """What goes into a response's headers on its way out: ``always`` (the security
    headers), and once the reader is known (``reader``), their cookies and cache policy."""

    __slots__ = ("always", "cookies", "viewer", "started")

    def __init__(self, always: Sequence[tuple[bytes, bytes]] = ()) -> None:
        self.always = always
        self.cookies: Sequence[str] = ()
        self.viewer: _Viewer | None = None
        self.started = False

    def reader(self, cookies: Sequence[str], viewer: _Viewer) -> None:
        self.cookies, self.viewer = cookies, viewer

    def sender(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.started = True
                self.edit(message)
            await send(message)

        return sending

    def edit(self, message: Message) -> None:
        headers = MutableHeaders(scope=message)
        viewer = self.viewer
        if viewer is not None:
            for cookie in self.cookies:
                headers.append("set-cookie", cookie)
            if viewer.read and viewer.user is not None:
                headers["cache-control"] = "private, no-store"
            # Pages carry this browser's CSRF token: never for a shared cache.
            elif (headers.get("content-type", "").startswith("text/html")
                    and "cache-control" not in headers):
                headers["cache-control"] = "private"
        if self.always:
            raw = headers.raw
            present = {name for name, _ in raw}
            raw.extend(h for h in self.always if h[0] not in present)


class AccountsMiddleware(HTTPMiddleware):
    """Resolves the user, checks CSRF on unsafe methods, and hands out the CSRF cookie."""

    _key: tuple[Settings, bytes] | None = None

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        edits = ResponseEdits()
        await self.admit(scope, receive, send, edits.sender(send), edits)

    async def admit(self, scope: Scope, receive: Receive, send: Send, sending: Send,
                    edits: ResponseEdits) -> None:
        """Resolve the user and check CSRF, then run the app; ``sending`` applies ``edits``
        (this reader's part is recorded there), a 401 goes out through ``send``."""
        request = Request(scope)
        site: Site = request.app.state.site
        settings: Settings = site.settings
        state = scope.setdefault("state", {})
        auth = request.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        session = request.cookies.get(SESSION_COOKIE, "")
        user: User | None = None
        extra_cookies: list[str] = []
        if bearer is not None:
            # A token request is judged by its token alone, never by a cookie beside it. An
            # answer this process keeps (most requests') costs no trip to a thread.
            user = (accounts.kept_credential(site.store, "token", bearer)
                    or await anyio.to_thread.run_sync(accounts.api_token_user, site.store,
                                                      bearer))
            session = ""
            if user is None:
                # Refused before anything reads the body: an unknown token costs no parsing.
                await self._unauthorized(request, scope, receive, send)
                return
        elif session:
            kept = accounts.kept_credential(site.store, "session", session)
            found = (kept, False) if kept is not None else await anyio.to_thread.run_sync(
                accounts.resolve_session, site.store, settings, session)
            if found is not None:
                user = found[0]
                if found[1]:  # the server's expiry slid forward; the browser's follows
                    extra_cookies.append(_cookie(SESSION_COOKIE, session, settings,
                                                 settings.session_days * 86400))
            session = session if user is not None else ""
        raw = request.cookies.get(CSRF_COOKIE)
        new_raw = None if _valid_raw(raw) else secrets.token_urlsafe(24)
        token = _csrf_for(self._secret(settings), raw or new_raw or "", session)
        viewer = _Viewer(user)
        state.update(user=user, viewer=viewer, csrf_token=token,
                     auth="token" if bearer is not None else ("session" if user else None))
        _viewer.set(viewer)
        _csrf.set(token)
        if new_raw is not None:
            extra_cookies.append(_cookie(CSRF_COOKIE, new_raw, settings, None))
        edits.reader(extra_cookies, viewer)
        if (scope["method"] in UNSAFE_METHODS and bearer is None
                and not self._exempt(request)):
            sent, receive = await self._sent_token(request, receive)
            if new_raw is not None or not sent or not hmac.compare_digest(sent, token):
                await self._refuse(request, scope, receive, sending)
                return
        await self.app(scope, receive, sending)

    def _secret(self, settings: Settings) -> bytes:
        # Read once per app: resolving the home's path for it was a third of this middleware.
        if self._key is None or self._key[0] is not settings:
            self._key = (settings, secret_key(settings).encode())
        return self._key[1]

    @staticmethod
    def _exempt(request: Request) -> bool:
        prefixes: set[str] = getattr(request.app.state, "csrf_exempt", set())
        return any(request.url.path.startswith(p) for p in prefixes)

    @staticmethod
    async def _sent_token(request: Request, receive: Receive) -> tuple[str | None, Receive]:
        header = request.headers.get(CSRF_HEADER)
        if header:
            return header, receive
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return None, receive
        body = await _read_body(receive, MAX_FORM_BYTES)
        if body is None:
            return None, receive
        values = parse_qs(body.decode("latin-1"), max_num_fields=200).get(CSRF_FIELD)
        return (values[0] if values else None), _replay(body, receive)

    @staticmethod
    async def _unauthorized(request: Request, scope: Scope, receive: Receive, send: Send
                            ) -> None:
        response = await anyio.to_thread.run_sync(
            error_response, request, 401, "the API token is not valid (revoked, expired or "
            "mistyped); send a valid one as Authorization: Bearer, or none")
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        await response(scope, receive, send)

    @staticmethod
    async def _refuse(request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        response = await anyio.to_thread.run_sync(
            error_response, request, 403,
            "this form has expired or did not come from this site (CSRF check failed); "
            "reload the page and try again")
        await response(scope, receive, send)


class Gateway(HTTPMiddleware):
    """All a request meets before its route, as one ASGI layer (each layer was a cost of its
    own): the format suffix (renderers.strip_suffix), the headers every response carries
    (``headers``), the body cap (asgi.BodyLimit) and the user and CSRF check
    (AccountsMiddleware); it behaves as those four stacked in that order, outermost first.
    A 413 carries the headers but nothing of the reader, as the cap sat outside accounts."""

    def __init__(self, app: ASGIApp, formats: Registry, headers: Sequence[tuple[str, str]],
                 limit: int, error_page: ErrorPage,
                 larger: Mapping[str, int] | None = None) -> None:
        super().__init__(app)
        self.formats = formats
        self.headers = tuple((n.lower().encode("latin-1"), v.encode("latin-1"))
                             for n, v in headers)
        self.accounts = AccountsMiddleware(app)
        self.body = BodyLimit(self.accounts, limit, error_page, larger)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = strip_suffix(scope, self.formats)
        secured = ResponseEdits(self.headers)  # what a 401 or 413 gets
        edits = ResponseEdits(self.headers)
        sending = edits.sender(send)

        async def admit(scope: Scope, receive: Receive, _: Send) -> None:
            await self.accounts.admit(scope, receive, secured.sender(send), sending, edits)

        await self.body.capped(scope, receive, secured.sender(send), admit, sending,
                               lambda: edits.started)


def install(app: FastAPI, site: Site) -> None:
    """Register the Jinja globals and the (initially empty) exempt paths; the checks
    themselves run in the ``Gateway`` the app adds."""
    if not hasattr(app.state, "csrf_exempt"):
        app.state.csrf_exempt = set()
    site.templates.globals.update(csrf_input=csrf_input, csrf_token=csrf_token,
                                  current_user=current_user)

