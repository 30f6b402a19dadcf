"""For-you profiles: /for-you/profiles (HTML and its JSON twin) and the forms that create,
rename, change, reset and delete a profile, and make or revoke its feed address.

Only the reader sees or changes their profiles: every answer is private, no-store, and a
profile of someone else is a 404, as one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from paperwire import for_you, library
from paperwire.for_you import RecProfile
from paperwire.models import User
from paperwire.web.deps import signed_in, verified
from paperwire.web.for_you import PRIVATE, answering
from paperwire.web.params import MAX_ROW_ID, read_form
from paperwire.web.renderers import Page, format_of, page_route, render
from paperwire.web.security import user_of
from paperwire.web.site import Site, site_of

router = APIRouter(include_in_schema=False)
ProfileId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]
ACTIONS = ("save", "delete", "reset", "feed", "revoke")


def profiles_data(site: Site, user: User) -> dict[str, Any]:
    readable = library.collections_for(site.store, user)
    return {"profiles": [{**p.to_dict(), "url": f"/for-you?profile={p.id}",
                          "action": f"/for-you/profiles/{p.id}"}
                         for p in for_you.profiles(site.store, user)],
            "collections": [{"id": c.id, "name": c.name, "group": c.group_name,
                             "items": c.items} for c in readable],
            "sources": list(for_you.SOURCES), "max_profiles": for_you.MAX_PROFILES}


@page_route(router, "/for-you/profiles")
def profiles_page(request: Request) -> Page | Response:
    """Your recommendation profiles: what each trains on, its trending mix, its feed."""
    viewer = user_of(request)
    if viewer is None:
        if format_of(request) == "json":
            signed_in(viewer)
        return RedirectResponse("/signin?next=/for-you/profiles", status_code=303)
    return Page("for_you_profiles.html", profiles_data(site_of(request), viewer),
                headers=PRIVATE)


def _values(form: dict[str, str]) -> dict[str, Any]:
    """The profile fields a form sends; checkboxes unticked are not sent, so a form that
    shows them (``shown=1``) sets them off."""
    values: dict[str, Any] = {k: form[k] for k in ("name", "source", "trending", "seed_text",
                                                  "seed_papers") if k in form}
    chosen = [k.removeprefix("collection_") for k, v in form.items()
              if k.startswith("collection_") and v == "on"]
    if chosen or form.get("shown") == "1":
        values["collections"] = chosen
    if form.get("shown") == "1":
        values["use_votes"] = form.get("use_votes") == "on"
        values["in_digest"] = form.get("in_digest") == "on"
    return values


def _mine(site: Site, user: User, profile_id: int) -> RecProfile:
    found = site.store.rec_profile(profile_id)
    if found is None or found["user_id"] != user.id:
        raise HTTPException(404, f"you have no profile {profile_id}")
    return RecProfile.from_row(found)


def _form_create(request: Request, form: dict[str, str]) -> Response:
    user = user_of(request)
    if user is None:
        return RedirectResponse("/signin?next=/for-you/profiles", status_code=303)
    with answering():
        made = for_you.create(site_of(request).store, verified(user), _values(form))
    return RedirectResponse(f"/for-you/profiles#profile-{made.id}", status_code=303)


@router.post("/for-you/profiles")
async def create_form(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_form_create, request, form)


def _form_change(request: Request, profile_id: int, form: dict[str, str]) -> Response:
    user = user_of(request)
    if user is None:
        return RedirectResponse("/signin?next=/for-you/profiles", status_code=303)
    site = site_of(request)
    profile = _mine(site, user, profile_id)
    action = form.get("action", "save")
    if action not in ACTIONS:
        raise HTTPException(400, f"action: choose {', '.join(ACTIONS)}")
    with answering():
        if action == "save":
            for_you.update(site.store, user, profile, _values(form))
        elif action == "delete":
            for_you.delete(site.store, profile)
        elif action == "reset":
            for_you.reset(site.store, profile)
        elif action == "revoke":
            for_you.revoke_feed_token(site.store, profile)
        else:
            token = for_you.rotate_feed_token(site.store, profile)
            url = f"{site.base_url(request)}/feeds/for-you/{token}.atom"
            return render(request, Page("for_you_feed.html", {
                "profile": profile.name, "feed_url": url}, headers=PRIVATE))
    return RedirectResponse("/for-you/profiles", status_code=303)


@router.post("/for-you/profiles/{profile_id}")
async def change_form(request: Request, profile_id: ProfileId) -> Response:
    """action=save (the fields), delete, reset (forget marks and seeds), feed (a new feed
    address; the old one stops working), revoke (no feed)."""
    form = await read_form(request)
    return await run_in_threadpool(_form_change, request, profile_id, form)
