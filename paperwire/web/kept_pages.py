"""Rendered pages kept for reuse (``Page.kept``): drawn once, filled in per request.

A view sets ``Page.kept`` to a key of everything its page shows (the versions of what it
reads, and, for a signed-in reader, what the page shows of them: their votes, saves and
comments' states). The page is then drawn once per key and the reader's role (verified,
moderator), with slots where each request's own things go: the CSRF token and, signed in,
the reader's name and address. What is kept is UTF-8 bytes cut at those slots, so a page
served from here is one join, neither rendered nor encoded again.

A kept page is drawn with a stand-in for its reader (``_KeptReader``) that has the role and
slots for the name and address and refuses anything else: a template that starts showing
more of its reader fails loudly instead of showing one reader's page to another.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Hashable
from typing import cast

from markupsafe import escape

from paperwire.models import User
from paperwire.web.security import csrf_as, csrf_token, reading_as, request_reader
from paperwire.web.site import ViewCache


class _KeptReader:
    """The reader a kept signed-in page is drawn for: a role, and slots for who they are."""

    __slots__ = ("verified", "is_moderator", "display_name", "email")

    def __init__(self, verified: bool, is_moderator: bool, name: str, email: str) -> None:
        self.verified, self.is_moderator = verified, is_moderator
        self.display_name, self.email = name, email

    def __getattr__(self, name: str) -> None:
        # Not an AttributeError: Jinja would quietly render that as empty.
        raise RuntimeError(f"a kept page shows its reader's {name!r}: add it to the slots "
                           "of web/kept_pages.py, or leave the page unkept (Page.kept None)")


class KeptPages:
    """Pages kept by ``Page.kept`` and role: ``signed_out`` pages (tens of KB each; a
    paper's with a long discussion, a few hundred) and fewer ``signed_in`` ones (most
    signed-in readers of a page share one: the readers who voted, saved or wrote nothing
    on it)."""

    def __init__(self, signed_out: int = 256, signed_in: int = 64) -> None:
        self._out = ViewCache(signed_out)
        self._in = ViewCache(signed_in)
        slot = f"pageslot{secrets.token_hex(16)}"
        self._csrf, self._name, self._email = slot + "c", slot + "n", slot + "e"
        self._split = re.compile(f"{slot}([cne])")

    def page(self, key: Hashable, draw: Callable[[], str]) -> bytes:
        known, user = request_reader()
        if not known:  # rendered outside a request's middleware: nothing to fill in
            return draw().encode()
        if user is None:
            cache, full = self._out, key
            fill = {"c": str(escape(csrf_token())).encode()}
        else:
            cache, full = self._in, (key, user.verified, user.is_moderator)
            fill = {"c": str(escape(csrf_token())).encode(),
                    "n": str(escape(user.display_name)).encode(),
                    "e": str(escape(user.email)).encode()}
        found: tuple[tuple[bytes, ...], tuple[str, ...]] | None = cache.get(full)
        if found is None:
            # Templates read a reader's attributes only: the stand-in passes for a User.
            stand_in = None if user is None else cast(User, _KeptReader(
                user.verified, user.is_moderator, self._name, self._email))
            with csrf_as(self._csrf), reading_as(stand_in):
                pieces = self._split.split(draw())
            # The page's text around the slots, and the slots' letters between them.
            found = tuple(p.encode() for p in pieces[0::2]), tuple(pieces[1::2])
            cache.put(full, found)
        texts, slots = found
        out = [b""] * (2 * len(texts) - 1)
        out[0::2] = texts
        out[1::2] = [fill[slot] for slot in slots]
        return b"".join(out)
