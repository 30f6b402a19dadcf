"""Author pages (/authors/<slug>, with JSON and Atom twins), claims, follows and /following.

A merged identity's address redirects to the identity it was merged into. Following and
claiming are forms (POST with the CSRF token) for users with a confirmed address; a
moderator confirms or rejects claims on the author's page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from paperwire import authors
from paperwire.errors import NotFound
from paperwire.formats.atom import FEED_SIZE
from paperwire.models import Filters, Paper
from paperwire.search import QueryError, check_filters
from paperwire.web.cards import card, with_votes
from paperwire.web.deps import moderator, signed_in, verified
from paperwire.web.params import back_url, bad_request, parse_page, read_form
from paperwire.web.renderers import Feed, Page, page_route, render
from paperwire.web.security import user_of
from paperwire.web.site import Site, site_of

router = APIRouter(include_in_schema=False)

PER_PAGE = 30
PRIVATE = {"Cache-Control": "private, no-store"}
MAX_SLUG = 100
MAX_CLAIM_ID = 2**31 - 1
Slug = Annotated[str, PathParam(min_length=1, max_length=MAX_SLUG, pattern=r"^[a-z0-9-]+$")]


def install(app: FastAPI) -> None:
    site: Site = app.state.site
    site.templates.globals["author_links"] = lambda p: author_links(site, p)
    app.include_router(router)


def author_links(site: Site, cards: list[dict[str, Any]]) -> None:
    """Add ``author_links`` ([{name, slug}]) to cards, in one read (templates call this)."""
    found = site.store.authors_of(c["arxiv_id"] for c in cards if "author_links" not in c)
    for c in cards:
        c.setdefault("author_links", found.get(c["arxiv_id"], []))


def author_data(site: Site, slug: str, page: int = 1, viewer: Any = None
                ) -> tuple[dict[str, Any], list[Paper]] | str:
    """An author's page and its papers, or the slug of the identity it was merged into."""
    found = site.store.author(slug)
    if found is None:
        raise HTTPException(404, f"no author {slug!r} on this instance")
    if found["merged_into"] is not None:
        return str(found["merged_into_slug"])
    papers, total, summary = site.store.author_page(found["id"], PER_PAGE,
                                                    (page - 1) * PER_PAGE)
    claims = site.store.author_claims(author_id=found["id"])
    pages = max(1, -(-total // PER_PAGE))
    following = viewer is not None and any(
        f["id"] == found["id"] for f in site.store.follows_of(viewer.id)["authors"])
    return {
        "author": {k: found[k] for k in ("slug", "name", "sort_name")},
        "url": f"/authors/{slug}", "feed": f"/authors/{slug}.atom",
        "papers": with_votes(site.store, [card(p) for p in papers], viewer),
        "total": total, "page": page, "pages": pages,
        "newer_url": f"/authors/{slug}?page={page - 1}" if page > 1 else None,
        "older_url": f"/authors/{slug}?page={page + 1}" if page < pages else None,
        **summary,
        "claimed_by": [c["display_name"] for c in claims if c["status"] == "confirmed"],
        "claims": ([_claim_view(c) for c in claims if c["status"] == "pending"]
                   if viewer is not None and viewer.is_moderator else []),
        "my_claim": next((c["status"] for c in claims
                          if viewer is not None and c["user_id"] == viewer.id), None),
        "following": following,
    }, papers


def _claim_view(claim: dict[str, Any]) -> dict[str, Any]:
    return {k: claim[k] for k in ("id", "display_name", "email", "created_at")}


@page_route(router, "/authors/{slug}")
def author_page(request: Request, slug: Slug) -> Page | Response:
    """An author's papers (newest first, ?page=N), co-authors, categories and votes."""
    site = site_of(request)
    found = author_data(site, slug, parse_page(request.query_params.get("page")),
                        user_of(request))
    if isinstance(found, str):
        suffix = request.scope.get("state", {}).get("requested_path", "")[len(
            f"/authors/{slug}"):]
        return RedirectResponse(f"/authors/{found}{suffix}", status_code=301)
    data, papers = found
    feed = Feed(f"paperwire: papers by {data['author']['name']}", data["url"], papers)
    return Page("author.html", data, feed=feed, headers=_private(request))


def _private(request: Request) -> dict[str, str]:
    # Whether you follow or claimed an author is yours: never in a shared cache.
    return {"Cache-Control": "private, no-store"} if user_of(request) else {}


def _form_follow(request: Request, slug: str, form: dict[str, str]) -> Response:
    user = user_of(request)
    if user is None:
        return RedirectResponse(f"/signin?next=/authors/{slug}", status_code=303)
    try:
        authors.follow(site_of(request).store, verified(user), slug=slug,
                       on=form.get("on", "1") != "0")
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse(back_url(request, f"/authors/{slug}"), status_code=303)


@router.post("/authors/{slug}/follow")
async def follow_form(request: Request, slug: Slug) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_form_follow, request, slug, form)


def _form_claim(request: Request, slug: str) -> Response:
    user = user_of(request)
    if user is None:
        return RedirectResponse(f"/signin?next=/authors/{slug}", status_code=303)
    try:
        authors.claim(site_of(request).store, verified(user), slug)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse(f"/authors/{slug}", status_code=303)


@router.post("/authors/{slug}/claim")
async def claim_form(request: Request, slug: Slug) -> Response:
    await read_form(request)
    return await run_in_threadpool(_form_claim, request, slug)


def _form_decide(request: Request, slug: str, claim_id: int, form: dict[str, str]
                 ) -> Response:
    user = moderator(user_of(request))
    decision = form.get("decision", "")
    if decision not in ("confirm", "reject"):
        raise bad_request("decision must be confirm or reject")
    try:
        authors.decide(site_of(request).store, user, claim_id, decision == "confirm")
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse(f"/authors/{slug}", status_code=303)


@router.post("/authors/{slug}/claims/{claim_id}")
async def decide_form(request: Request, slug: Slug,
                      claim_id: Annotated[int, PathParam(ge=1, le=MAX_CLAIM_ID)]) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_form_decide, request, slug, claim_id, form)


# --- /following -------------------------------------------------------------------------------
@page_route(router, "/following")
def following_page(request: Request) -> Page | Response:
    """The authors and categories you follow, and your followed authors' newest papers."""
    user = user_of(request)
    if user is None:
        return RedirectResponse("/signin?next=/following", status_code=303)
    return _following(request, user.id)


def _following(request: Request, user_id: int, feed_url: str | None = None) -> Page:
    store = site_of(request).store
    papers = store.followed_papers(user_id, limit=PER_PAGE)
    data = {**store.follows_of(user_id), "papers": [card(p) for p in papers],
            "has_feed": store.has_follow_feed(user_id), "feed_url": feed_url}
    return Page("following.html", data, headers=PRIVATE)


@page_route(router, "/feeds/following/{token}")
def following_feed(request: Request, token: Annotated[str, PathParam(max_length=100)]
                   ) -> Page:
    """Followed authors' newest papers at a private address (the token is the authority,
    as a feed reader signs in to nothing); revoking or renewing it ends the old one."""
    store = site_of(request).store
    owner = authors.feed_owner(store, token)
    if owner is None:
        raise HTTPException(404, "no such feed: it was revoked or renewed; make a new one "
                                 "on /following")
    papers = store.followed_papers(owner, limit=FEED_SIZE)
    title = "paperwire: new papers by authors you follow"
    return Page(None, {"title": title, "papers": [card(p) for p in papers]},
                feed=Feed(title, "/following", papers), headers=PRIVATE)


def _form_feed(request: Request, form: dict[str, str]) -> Response:
    user = verified(signed_in(user_of(request)))
    store = site_of(request).store
    if form.get("action") == "revoke":
        store.revoke_follow_feed(user.id)
        return RedirectResponse("/following", status_code=303)
    if form.get("action") != "new":
        raise bad_request("action: 'new' (a new private feed address) or 'revoke'")
    token = authors.rotate_feed_token(store, user)
    # Only the token's hash is kept, so its address is shown this once.
    feed_url = f"{site_of(request).settings.base_url or ''}/feeds/following/{token}.atom"
    return render(request, _following(request, user.id, feed_url))


@router.post("/following/feed")
async def following_feed_form(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_form_feed, request, form)


def _form_follow_category(request: Request, form: dict[str, str]) -> Response:
    user = signed_in(user_of(request))
    category = form.get("category", "").strip()
    if not category or len(category) > 32:
        raise bad_request("category: give an arXiv category such as cs.CL (32 characters)")
    try:
        check_filters(Filters(categories=(category,)), site_of(request).settings.extra_categories)
    except QueryError as exc:
        raise bad_request(str(exc)) from None
    authors.follow(site_of(request).store, verified(user), category=category,
                   on=form.get("on", "1") != "0")
    return RedirectResponse(back_url(request, "/following"), status_code=303)


@router.post("/following/category")
async def follow_category_form(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_form_follow_category, request, form)
