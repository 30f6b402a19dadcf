"""Group (lab) pages and forms: a group's members and collections, inviting by e-mail,
roles, and the page a mailed invitation link opens (which changes nothing until its
button is pressed). A group someone is not in answers 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from paperwire import library, library_groups
from paperwire.library import LibraryError
from paperwire.web.deps import signed_in, verified
from paperwire.web.library import answering, throttled
from paperwire.web.params import MAX_ROW_ID, read_form
from paperwire.web.renderers import Page, page_route
from paperwire.web.security import user_of
from paperwire.web.site import site_of

router = APIRouter(include_in_schema=False)
GroupId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]
INVITES_PER_HOUR = 50


@page_route(router, "/library/groups/join")
def join_page(request: Request) -> Page:
    """What a mailed invitation link opens: the group it invites to, and a button."""
    site = site_of(request)
    token = request.query_params.get("token", "")
    try:
        found = library_groups.read_invite(site.store, site.settings, token)
    except LibraryError as exc:
        return Page("group_join.html", {"error": str(exc), "token": None, "group": None},
                    status=400)
    group = site.store.group(found["group_id"]) or {}
    return Page("group_join.html", {"error": None, "token": token, "email": found["email"],
                                    "group": {"id": group.get("id"), "name": group.get("name")},
                                    "signed_in": user_of(request) is not None})


@page_route(router, "/library/groups/{group_id}")
def group_page(request: Request, group_id: GroupId) -> Page:
    """A group's members (addresses for its owners) and its lab collections."""
    site, user = site_of(request), signed_in(user_of(request))
    with answering():
        data = library_groups.group_data(site.store, user, group_id)
    labs = [c.to_dict() for c in library.collections_for(site.store, user)
            if c.group_id == group_id and c.visibility == "lab"]
    return Page("group.html", {**data, "collections": labs, "roles": list(library_groups.ROLES)})


def _create(request: Request, form: dict[str, str]) -> Response:
    user = user_of(request)
    if user is None:
        return RedirectResponse("/signin?next=/library", status_code=303)
    with answering():
        group_id = library_groups.create_group(site_of(request).store, verified(user),
                                               form.get("name", ""))
    return RedirectResponse(f"/library/groups/{group_id}", status_code=303)


def invite(request: Request, group_id: int, email: str) -> dict[str, Any]:
    """Queue an invitation (the same answer whatever the address); shared with the API."""
    site, user = site_of(request), signed_in(user_of(request))
    with answering():
        library_groups.owned(site.store, user, group_id)
    throttled(site, user, "invite", INVITES_PER_HOUR)
    with answering():
        message = library_groups.invite(site.store, site.settings, site.mailer, user,
                                        group_id, email, site.base_url(request))
    return {"message": message}


def _invite(request: Request, group_id: int, form: dict[str, str]) -> Response:
    invite(request, group_id, form.get("email", ""))
    return RedirectResponse(f"/library/groups/{group_id}?invited=1", status_code=303)


def _member(request: Request, group_id: int, member_id: int, form: dict[str, str]
            ) -> Response:
    user = signed_in(user_of(request))
    role = None if form.get("remove") else form.get("role") or "member"
    with answering():
        library_groups.set_role(site_of(request).store, user, group_id, member_id, role)
    left = member_id == user.id and role is None
    return RedirectResponse("/library" if left else f"/library/groups/{group_id}",
                            status_code=303)


def _join(request: Request, form: dict[str, str]) -> Response:
    site, user = site_of(request), user_of(request)
    token = form.get("token", "")
    if user is None:
        return RedirectResponse(f"/signin?next=/library/groups/join?token={token}",
                                status_code=303)
    with answering():
        group_id = library_groups.accept(site.store, site.settings, user, token)
    return RedirectResponse(f"/library/groups/{group_id}", status_code=303)


@router.post("/library/groups")
async def create_form(request: Request) -> Response:
    return await run_in_threadpool(_create, request, await read_form(request))


@router.post("/library/groups/join")
async def join_form(request: Request) -> Response:
    return await run_in_threadpool(_join, request, await read_form(request))


@router.post("/library/groups/{group_id}/invite")
async def invite_form(request: Request, group_id: GroupId) -> Response:
    return await run_in_threadpool(_invite, request, group_id, await read_form(request))


@router.post("/library/groups/{group_id}/members/{member_id}")
async def member_form(request: Request, group_id: GroupId, member_id: GroupId) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_member, request, group_id, member_id, form)


__all__ = ["invite", "router"]
