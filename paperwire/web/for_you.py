"""For you: /for-you (HTML, its JSON twin), the "not interested" and rating forms, the
signed one-click "not interested" links of mail and feeds, the tokened Atom feed, and
GET /api/recommendations.

Everything here reads one reader's profile, so every answer is private and no-store; a
signed-out browser is sent to sign in, a JSON client gets a 401. The signed link is the
authority of its one-click POST (no sign-in, no CSRF token: a mail client sends neither).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from paperwire import for_you
from paperwire.for_you import ForYouError, RecProfile
from paperwire.for_you_rank import MAX_LIMIT, WINDOWS, ForYou, reasons_data
from paperwire.formats import atom
from paperwire.models import Paper, User
from paperwire.recommend import Recommendation
from paperwire.signing import InvalidToken
from paperwire.web.cards import card, with_votes
from paperwire.web.deps import SiteDep, Viewer, signed_in
from paperwire.web.params import back_url, check_choice, read_form
from paperwire.web.renderers import Feed, Page, format_of, page_route, render
from paperwire.web.security import user_of
from paperwire.web.site import Site, site_of

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"])
LINK_PREFIX = "/for-you/not-interested/"
PRIVATE = {"Cache-Control": "private, no-store"}
PER_PAGE = 30
MAX_REF = 100  # a profile named by id or name


def install(app: FastAPI) -> None:
    """Add the routes, and exempt the one-click "not interested" POST from the CSRF check."""
    exempt: set[str] = getattr(app.state, "csrf_exempt", set())
    exempt.add(LINK_PREFIX)
    app.state.csrf_exempt = exempt
    app.include_router(api_router)
    app.include_router(router)


@contextlib.contextmanager
def answering() -> Iterator[None]:
    try:
        yield
    except ForYouError as exc:
        wait = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        raise HTTPException(exc.status, str(exc), headers=wait) from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


# --- what a view shows -----------------------------------------------------------------------
def _cards(site: Site, viewer: User, recs: list[Recommendation], papers: dict[str, Paper]
           ) -> list[dict[str, Any]]:
    cards = [{**card(papers[r.arxiv_id]), "score": round(r.score, 4),
              "probability": round(r.probability, 4), "reasons": reasons_data(r),
              "why": r.reasons[0].text if r.reasons else None}
             for r in recs if r.arxiv_id in papers]
    return with_votes(site.store, cards, viewer)


def for_you_data(site: Site, viewer: User, got: ForYou,
                 mine: list[RecProfile] | None = None) -> dict[str, Any]:
    """The JSON twin, the template's context and the API's answer (``mine``: the viewer's
    profiles, when already read)."""
    profile = got.profile
    wanted = [r.arxiv_id for r in (*got.shown, *got.boundary)]
    papers = site.store.get_papers(wanted)
    query = f"profile={profile.id}"
    return {
        "profile": profile.to_dict(),
        "profiles": [{"id": p.id, "name": p.name, "url": f"/for-you?profile={p.id}"}
                     for p in (mine if mine is not None
                               else for_you.profiles(site.store, viewer))],
        "window": got.window, "since": got.since.isoformat() if got.since else None,
        "until": got.until.isoformat() if got.until else None,
        "windows": {w: f"/for-you?{query}&window={w}" for w in WINDOWS},
        "total": len(got.ranked), "positives": got.positives,
        "threshold": got.threshold, "estimate": got.estimate(),
        "papers": _cards(site, viewer, got.shown, papers),
        "cold_start": {
            "seeds_url": f"/for-you/profiles#profile-{profile.id}",
            "import_url": "/library", "following_url": "/following",
            "to_rate": _cards(site, viewer, got.boundary, papers)} if got.cold else None,
    }


def _ranked(site: Site, profile: RecProfile, window: str, limit: int, hide_seen: bool
            ) -> ForYou:
    with answering():
        return site.recommender().for_you(profile, window, limit=limit, hide_seen=hide_seen,
                                          salt=site.index_version())


def _profile(site: Site, viewer: User, ref: str | None,
             mine: list[RecProfile] | None = None) -> RecProfile:
    if ref is not None and len(ref) > MAX_REF:
        raise HTTPException(400, f"profile: at most {MAX_REF} characters")
    with answering():
        return for_you.chosen(site.store, viewer, ref, mine)


@page_route(router, "/for-you")
def for_you_page(request: Request) -> Page | Response:
    """Recent papers ranked for you (?profile=&window=day|week|month&hide_seen=1), each
    with why, and a "not interested" button."""
    site, viewer = site_of(request), user_of(request)
    if viewer is None:
        if format_of(request) == "json":
            signed_in(viewer)
        return RedirectResponse("/signin?next=/for-you", status_code=303)
    q = request.query_params
    window = check_choice(q.get("window") or "week", "window", tuple(WINDOWS))
    hide_seen = q.get("hide_seen", "0") == "1"
    mine = for_you.profiles(site.store, viewer)
    profile = _profile(site, viewer, q.get("profile"), mine)
    got = _ranked(site, profile, window, PER_PAGE, hide_seen)
    site.store.record_rec_shown([(profile.id, r.arxiv_id) for r in got.shown], "page")
    data = {**for_you_data(site, viewer, got, mine or [profile]), "hide_seen": hide_seen,
            "hide_seen_url": f"/for-you?profile={profile.id}&window={window}"
                             f"&hide_seen={0 if hide_seen else 1}"}
    return Page("for_you.html", data, headers=PRIVATE)


# --- "not interested" and rating, from the page ------------------------------------------------
def _form_mark(request: Request, form: dict[str, str]) -> Response:
    site, viewer = site_of(request), user_of(request)
    if viewer is None:
        return RedirectResponse("/signin?next=/for-you", status_code=303)
    arxiv_id = site.visible_id(form.get("arxiv_id", ""), viewer)
    scope = form.get("scope", "profile")
    profile = _profile(site, viewer, form.get("profile") or None)
    verdict = check_choice(form.get("verdict", "less"), "verdict", ("less", "more"))
    if verdict == "more":
        for_you.add_seed(site.store, profile, arxiv_id)
    else:
        for_you.mark_not_interested(site.store, viewer.id, arxiv_id,
                                    None if scope == "all" else profile)
    if format_of(request) == "json" or "application/json" in request.headers.get("accept", ""):
        return render(request, Page(None, {"arxiv_id": arxiv_id, "verdict": verdict,
                                           "profile": profile.id}, headers=PRIVATE), "json")
    return RedirectResponse(back_url(request, f"/for-you?profile={profile.id}"),
                            status_code=303)


@router.post("/for-you/not-interested")
async def not_interested_form(request: Request) -> Response:
    """Not interested in this paper (arxiv_id=, profile=, scope=profile|all): it leaves the
    page at once, and the profile retrains with it as a negative."""
    form = await read_form(request)
    return await run_in_threadpool(_form_mark, request, {**form, "verdict": "less"})


@router.post("/for-you/rate")
async def rate_form(request: Request) -> Response:
    """A cold start's rating: verdict=more (a seed paper) or less (not interested)."""
    form = await read_form(request)
    return await run_in_threadpool(_form_mark, request, form)


# --- the signed one-click link -----------------------------------------------------------------
def _link(request: Request, token: str) -> tuple[RecProfile, str]:
    site = site_of(request)
    try:
        user_id, profile_id, arxiv_id = for_you.read_not_interested_token(site.settings, token)
    except InvalidToken as exc:
        raise HTTPException(400, f"{exc}: use the link in your latest digest") from None
    found = site.store.rec_profile(profile_id)
    if found is None or found["user_id"] != user_id:
        raise HTTPException(404, "this link's profile was deleted")
    return RecProfile.from_row(found), arxiv_id


def _link_page(profile: RecProfile, arxiv_id: str, action: str | None, done: bool) -> Page:
    return Page("for_you_not_interested.html", {"arxiv_id": arxiv_id,
                                                "profile": profile.name, "action": action,
                                                "done": done}, headers=PRIVATE)


@page_route(router, LINK_PREFIX + "{token}")
def not_interested_page(request: Request, token: str) -> Page:
    """What the mailed link does, and a button that does it (opening it changes nothing)."""
    profile, arxiv_id = _link(request, token)
    return _link_page(profile, arxiv_id, f"{LINK_PREFIX}{token}", False)


def _one_click(request: Request, token: str) -> Response:
    profile, arxiv_id = _link(request, token)
    for_you.mark_not_interested(site_of(request).store, profile.user_id, arxiv_id, profile)
    return render(request, _link_page(profile, arxiv_id, None, True))


@router.post(LINK_PREFIX + "{token}")
async def not_interested_link(request: Request, token: str) -> Response:
    """One click: any POST to the signed link marks the paper, at once."""
    return await run_in_threadpool(_one_click, request, token)


# --- the feed ----------------------------------------------------------------------------------
@page_route(router, "/feeds/for-you/{token}")
def for_you_feed(request: Request, token: str) -> Page:
    """A profile's recommendations of the week, as Atom (``.atom``) or JSON; the address is
    the secret (revoke it on the profiles page)."""
    site = site_of(request)
    profile = for_you.feed_profile(site.store, token)
    if profile is None:
        raise HTTPException(404, "no feed has this address (it may have been revoked)")
    got = _ranked(site, profile, "week", PER_PAGE, False)
    papers = site.store.get_papers(r.arxiv_id for r in got.shown)
    shown = [r for r in got.shown if r.arxiv_id in papers]
    base = site.base_url(request)
    related = {r.arxiv_id: ("Not interested", f"{base}{LINK_PREFIX}"
                            f"{for_you.not_interested_token(site.settings, profile, r.arxiv_id)}")
               for r in shown}
    title = f"paperwire: for you ({profile.name})"
    ordered = [papers[r.arxiv_id] for r in shown]

    def entries(base_url: str, self_url: str) -> bytes:
        return atom.feed(ordered, title=title, self_url=self_url,
                         html_url=f"{base_url}/for-you", base_url=base_url, related=related)

    data = {"title": title, "papers": [{**card(papers[r.arxiv_id]), "why": r.reasons[0].text
                                        if r.reasons else None, "reasons": reasons_data(r),
                                        "not_interested": related[r.arxiv_id][1]}
                                       for r in shown]}
    return Page(None, data, headers=PRIVATE,
                feed=Feed(title, "/for-you", ordered, entries=entries))


# --- the API -----------------------------------------------------------------------------------
@api_router.get("/recommendations", summary="Recent papers ranked for you, with reasons",
                responses={401: {"description": "not signed in (send a Bearer token)"},
                           404: {"description": "no such profile of yours"}})
def recommendations(site: SiteDep, viewer: Viewer,
                    profile: Annotated[str | None, Query(
                        max_length=MAX_REF, description="a profile's id or name; default: "
                        "your first")] = None,
                    window: Literal["day", "week", "month"] = "week",
                    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = PER_PAGE,
                    hide_seen: bool = False) -> Response:
    user = signed_in(viewer)
    got = _ranked(site, _profile(site, user, profile), window, limit, hide_seen)
    return JSONResponse(for_you_data(site, user, got), headers=PRIVATE)

