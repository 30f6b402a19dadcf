"""Library pages and forms: /library, collection pages (JSON, Atom of items as added, BibTeX,
RIS and CSL-JSON through the format registry), and the forms that save, edit, delete and
import, each working without JavaScript (static/save.js makes saving live).

Every collection route answers 404 for a collection the viewer may not read (the rules are
paperwire.library's); forms redirect back, to sign-in when nobody is signed in.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from paperwire import library, library_jobs, throttle
from paperwire.formats.atom import FEED_SIZE
from paperwire.library import Access, LibraryError
from paperwire.models import User
from paperwire.web.cards import card, with_author_links
from paperwire.web.citing import CITATION_FORMATS, cite_links
from paperwire.web.deps import signed_in, verified
from paperwire.web.params import (
    MAX_ROW_ID,
    back_url,
    check_choice,
    parse_int,
    parse_page,
    read_form,
)
from paperwire.web.renderers import Feed, Page, format_of, page_route
from paperwire.web.security import user_of
from paperwire.web.site import Site, site_of

router = APIRouter(include_in_schema=False)
CollectionId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]
IMPORTS_PER_HOUR = 30
CITATION_NAMES = {fmt.name for fmt in CITATION_FORMATS}


@contextlib.contextmanager
def answering() -> Iterator[None]:
    """LibraryError and Throttled as the HTTP answers they name."""
    try:
        yield
    except LibraryError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except throttle.Throttled as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}
                            ) from None


def throttled(site: Site, user: User, action: str, per_hour: int) -> None:
    with answering():
        throttle.reserve(site.store, [(throttle.Limit(f"library-{action}", per_hour,
                                                      throttle.HOUR), str(user.id))], action)


def _signin(path: str) -> Response:
    return RedirectResponse(f"/signin?next={path}", status_code=303)


# --- /library --------------------------------------------------------------------------------
def library_data(site: Site, user: User) -> dict[str, Any]:
    store = site.store
    return {"collections": [c.to_dict() for c in library.collections_for(store, user)],
            "deleted": [c.to_dict() for c in library.deleted_for(store, user)],
            "groups": [{"id": g["id"], "name": g["name"], "role": g["role"],
                        "url": f"/library/groups/{g['id']}"} for g in store.groups_of(user.id)],
            "visibilities": list(library.VISIBILITIES), "undo_days": library.UNDO_DAYS}


@page_route(router, "/library")
def library_page(request: Request) -> Page:
    """Your collections, your labs', what you deleted lately, and your groups."""
    return Page("library.html", library_data(site_of(request), signed_in(user_of(request))))


# --- a collection ----------------------------------------------------------------------------
def item_data(item: library.Item) -> dict[str, Any]:
    base = card(item.paper) if item.paper else {
        "arxiv_id": None, "title": (item.citation or {}).get("title") or "(untitled)",
        "authors": (item.citation or {}).get("authors") or [], "url": None,
        "categories": [], "citation": item.citation}
    return {**base, "item_id": item.id, "key": item.import_key, "note": item.note,
            "tags": list(item.tags), "added_at": item.added_at.isoformat(),
            "hidden": item.hidden, "matched": item.paper is not None}


def collection_data(site: Site, viewer: User | None, got: Access, order: str = "added",
                    page: int = 1) -> dict[str, Any]:
    found = got.collection
    per = library.PER_PAGE
    pages = max(1, math.ceil(found.items / per))
    with answering():
        shown = library.items(site.store, got, order, limit=per, offset=(page - 1) * per)
    items = [item_data(i) for i in shown]
    with_author_links(site.store, [i for i in items if i["arxiv_id"]])
    saved = library.saved_among(site.store, viewer, [i["arxiv_id"] for i in items
                                                     if i["arxiv_id"]])
    for i in items:
        i["saved"] = i["arxiv_id"] in saved
    url = found.url
    return {"collection": found.to_dict(), "items": items, "order": order,
            "orders": list(library.ORDERS), "page": page, "pages": pages,
            "role": got.role, "can_add": got.can_add, "can_manage": got.can_manage,
            "files": cite_links(url), "feed": url + ".atom",
            "prev_url": f"{url}?order={order}&page={page - 1}" if page > 1 else None,
            "next_url": f"{url}?order={order}&page={page + 1}" if page < pages else None,
            "visibilities": list(library.VISIBILITIES),
            "groups": [{"id": g["id"], "name": g["name"]} for g in
                       site.store.groups_of(viewer.id)] if got.can_manage and viewer else []}


def _access(site: Site, viewer: User | None, collection_id: int, **kwargs: Any) -> Access:
    with answering():
        return library.access(site.store, viewer, collection_id, **kwargs)


@page_route(router, "/library/c/{collection_id}")
def collection_page(request: Request, collection_id: CollectionId) -> Page:
    """A collection (?order=added|published|title&page=); as Atom, its items as added; as
    .bib/.ris/.csl.json, all of its papers with their notes and tags."""
    site, viewer = site_of(request), user_of(request)
    got = _access(site, viewer, collection_id)
    fmt = format_of(request)
    order = check_choice(request.query_params.get("order") or "added", "order",
                         library.ORDERS)
    if fmt in CITATION_NAMES:
        with answering():
            exports = library.export_items(site.store, got, order)
        return Page(None, {"collection": got.collection.to_dict()}, citable=exports)
    found = got.collection
    if fmt == "atom":
        papers = [i.paper for i in library.items(site.store, got, "added", limit=FEED_SIZE,
                                                 feed=True) if i.paper]
        return Page(None, {"collection": found.to_dict()},
                    feed=Feed(f"paperwire: {found.name}", found.url, papers))
    data = collection_data(site, viewer, got, order, parse_page(request.query_params.get(
        "page")))
    return Page("collection.html", data)


@page_route(router, "/library/c/{collection_id}/delete")
def delete_page(request: Request, collection_id: CollectionId) -> Page:
    """Asks before deleting (a POST here deletes; undone within 30 days)."""
    site = site_of(request)
    with answering():
        got = library.manageable(site.store, user_of(request), collection_id)
    return Page("collection_delete.html", {"collection": got.collection.to_dict(),
                                           "undo_days": library.UNDO_DAYS})


@page_route(router, "/library/c/{collection_id}/import")
def import_page(request: Request, collection_id: CollectionId) -> Page:
    """The import form: a .bib, .ris or CSL-JSON file into this collection."""
    site = site_of(request)
    with answering():
        got = library.writable(site.store, user_of(request), collection_id)
    return Page("collection_import.html", {"collection": got.collection.to_dict(),
                                           "formats": list(library_jobs.FORMATS),
                                           "max_chars": library_jobs.MAX_UPLOAD_CHARS})


def job_data(site: Site, user: User | None, job_id: int) -> dict[str, Any]:
    """An import's progress and result, for the user who started it only."""
    job = site.store.job(job_id)
    if (job is None or user is None or job.kind != library_jobs.JOB_KIND
            or job.user_id != user.id):
        raise HTTPException(404, f"no import {job_id} of yours")
    return {**job.to_dict(), "pending": job.status in ("queued", "running"),
            "collection_url": f"/library/c/{job.key}"}


@page_route(router, "/library/jobs/{job_id}")
def job_page(request: Request, job_id: CollectionId) -> Page:
    """An import: queued or running (the page reloads itself), then what it did."""
    return Page("library_job.html", job_data(site_of(request), user_of(request), job_id))


# --- forms -----------------------------------------------------------------------------------
def _form_id(form: dict[str, str], name: str) -> int | None:
    return parse_int(form[name], name, 1, MAX_ROW_ID) if form.get(name) else None


def _save(request: Request, form: dict[str, str]) -> Response:
    site, user = site_of(request), user_of(request)
    arxiv_id = form.get("arxiv_id", "")
    if user is None:
        return _signin(f"/papers/{arxiv_id}")
    visible = site.visible_id(arxiv_id, user)
    action = check_choice(form.get("action") or "toggle", "action",
                          ("save", "remove", "toggle"))
    on = {"save": True, "remove": False, "toggle": None}[action]
    with answering():
        library.save(site.store, verified(user), visible, _form_id(form, "collection"), on=on)
    return RedirectResponse(back_url(request, f"/papers/{visible}"), status_code=303)


def _new(request: Request, form: dict[str, str]) -> Response:
    user = user_of(request)
    if user is None:
        return _signin("/library")
    with answering():
        made = library.create(site_of(request).store, verified(user), form.get("name", ""),
                              description=form.get("description", ""),
                              visibility=form.get("visibility") or "private",
                              group_id=_form_id(form, "group"))
    return RedirectResponse(made.url, status_code=303)


def _edit(request: Request, collection_id: int, form: dict[str, str]) -> Response:
    user = signed_in(user_of(request))
    with answering():
        library.update(site_of(request).store, user, collection_id,
                       name=form.get("name"), description=form.get("description"),
                       visibility=form.get("visibility") or None,
                       group_id=_form_id(form, "group"))
    return RedirectResponse(f"/library/c/{collection_id}", status_code=303)


def _delete(request: Request, collection_id: int, form: dict[str, str]) -> Response:
    user = signed_in(user_of(request))
    store = site_of(request).store
    with answering():
        if form.get("restore"):
            library.restore(store, user, collection_id)
            return RedirectResponse(f"/library/c/{collection_id}", status_code=303)
        if form.get("confirm") != "yes":
            raise LibraryError("tick the box to confirm the deletion")
        library.delete(store, user, collection_id)
    return RedirectResponse("/library", status_code=303)


def _item(request: Request, collection_id: int, form: dict[str, str]) -> Response:
    user = signed_in(user_of(request))
    store = site_of(request).store
    with answering():
        if form.get("remove"):
            library.remove_item(store, user, collection_id, form.get("key", ""))
        else:
            item_id = parse_int(form.get("item", ""), "item", 1, MAX_ROW_ID)
            library.edit_item(store, user, collection_id, item_id, note=form.get("note"),
                              tags=form.get("tags"))
    return RedirectResponse(back_url(request, f"/library/c/{collection_id}"), status_code=303)


def _import(request: Request, collection_id: int, form: dict[str, str]) -> Response:
    site, user = site_of(request), signed_in(user_of(request))
    throttled(site, user, "import", IMPORTS_PER_HOUR)
    with answering():
        job = library_jobs.queue_import(site.store, user, collection_id, form.get("text", ""),
                                        form.get("format") or None,
                                        keep_unmatched=form.get("unmatched") != "skip")
    site.wake()
    return RedirectResponse(f"/library/jobs/{job.id}", status_code=303)


@router.post("/library/save")
async def save_form(request: Request) -> Response:
    return await run_in_threadpool(_save, request, await read_form(request))


@router.post("/library/new")
async def new_form(request: Request) -> Response:
    return await run_in_threadpool(_new, request, await read_form(request))


@router.post("/library/c/{collection_id}/edit")
async def edit_form(request: Request, collection_id: CollectionId) -> Response:
    return await run_in_threadpool(_edit, request, collection_id, await read_form(request))


@router.post("/library/c/{collection_id}/delete")
async def delete_form(request: Request, collection_id: CollectionId) -> Response:
    return await run_in_threadpool(_delete, request, collection_id, await read_form(request))


@router.post("/library/c/{collection_id}/items")
async def item_form(request: Request, collection_id: CollectionId) -> Response:
    return await run_in_threadpool(_item, request, collection_id, await read_form(request))


@router.post("/library/c/{collection_id}/import")
async def import_form(request: Request, collection_id: CollectionId) -> Response:
    return await run_in_threadpool(_import, request, collection_id, await read_form(request))

