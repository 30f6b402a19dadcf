"""Typed FastAPI dependencies: the site, the viewer, and the users an action requires.

Plain ``async def``: they only read request state, so FastAPI calls them inline instead of
sending each through the thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from paperwire.models import User
from paperwire.web.security import user_of
from paperwire.web.site import Site, site_of


async def _site(request: Request) -> Site:
    return site_of(request)


async def _viewer(request: Request) -> User | None:
    return user_of(request)


def signed_in(user: User | None) -> User:
    """``user``, or 401 when nobody is signed in."""
    if user is None:
        raise HTTPException(401, "sign in, or send an API token as Authorization: Bearer")
    return user


def verified(user: User | None) -> User:
    """A signed-in user with a confirmed address, or 401/403."""
    user = signed_in(user)
    if not user.verified:
        raise HTTPException(403, "confirm your e-mail address first (see your account page)")
    return user


def moderator(user: User | None) -> User:
    """A signed-in moderator or admin, or 401/403."""
    user = signed_in(user)
    if not user.is_moderator:
        raise HTTPException(403, "only moderators may do this")
    return user


async def _signed_in(request: Request) -> User:
    return signed_in(user_of(request))


async def _verified(request: Request) -> User:
    return verified(user_of(request))


async def _moderator(request: Request) -> User:
    return moderator(user_of(request))


async def _session_only(request: Request) -> None:
    # An API token is judged by itself alone (no cookie, no CSRF check), so what it may
    # reach must not include minting more of it or reading the account's secrets.
    if getattr(request.state, "auth", None) == "token":
        raise HTTPException(403, "an API token cannot read or change the account: sign in "
                            "with a browser to manage tokens and the account")


SessionOnly = Depends(_session_only)
SiteDep = Annotated[Site, Depends(_site)]
Viewer = Annotated[User | None, Depends(_viewer)]
SignedIn = Annotated[User, Depends(_signed_in)]
VerifiedUser = Annotated[User, Depends(_verified)]
Moderator = Annotated[User, Depends(_moderator)]
