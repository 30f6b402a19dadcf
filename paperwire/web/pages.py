"""The pages (home/trending, day, search, paper, about): each view builds data, then renders it.

Every ``*_data`` function returns plain JSON-able data; the page views render it as HTML or,
for the JSON twin (``.json`` suffix or ``Accept: application/json``), as JSON. The API in
api.py calls the same functions, so a page and its API answer cannot drift apart.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.responses import Response

from paperwire.errors import InvalidRecord
from paperwire.models import Filters, Paper, User, paper_day, parse_arxiv_id
from paperwire.search import (
    MAX_LIKE_TEXT_CHARS,
    MAX_RESULTS,
    MODES,
    SORTS,
    QueryError,
    check_filters,
)
from paperwire.settings import Settings
from paperwire.trending import Scored, TrendingParams, rank, window  # noqa: F401 (re-export)
from paperwire.web.app import Site, render
from paperwire.web.community_api import community_data, with_submitters, with_votes
from paperwire.web.security import user_of

router = APIRouter(include_in_schema=False)

PERIODS = ("day", "week", "month")
PER_PAGE = 30
SEARCH_PER_PAGE = 20


# --- small helpers shared by pages, API and feeds -------------------------------------------
def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, message)


def parse_day(text: str, name: str = "date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name} must be a day written YYYY-MM-DD (got {text!r})") from None


def parse_page(text: str | None) -> int:
    if not text:
        return 1
    if not text.isdigit() or int(text) < 1:
        raise bad_request(f"page must be a whole number from 1 (got {text!r})")
    return int(text)


def check_choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise bad_request(f"unknown {name} {value!r} (choose {', '.join(choices)})")
    return value


def short_day(day: date | None) -> str:
    """"Mar 14", the way listings show a day."""
    return f"{day:%b} {day.day}" if day else ""


def paper_dict(paper: Paper) -> dict[str, Any]:
    day = paper_day(paper)
    return {
        "arxiv_id": paper.arxiv_id, "version": paper.version, "title": paper.title,
        "authors": list(paper.authors), "abstract": paper.abstract,
        "categories": list(paper.categories), "primary_category": paper.primary_category,
        "date": day.isoformat() if day else None,
        "published": paper.published.isoformat() if paper.published else None,
        "updated": paper.updated.isoformat() if paper.updated else None,
        "listed_on": paper.listed_on.isoformat() if paper.listed_on else None,
        "comments": paper.comments, "journal_ref": paper.journal_ref, "doi": paper.doi,
        "license": paper.license, "abs_url": paper.abs_url, "pdf_url": paper.pdf_url,
        "url": f"/papers/{paper.arxiv_id}",
    }


def highlight(text: str, spans: list[list[int]] | None) -> Markup:
    """Escape the snippet, then wrap the matched spans in <mark> (never the other way round)."""
    out: list[str] = []
    last = 0
    for start, end in spans or []:
        if start < last or end > len(text):
            continue
        out += [str(escape(text[last:start])), "<mark>", str(escape(text[start:end])),
                "</mark>"]
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


# --- trending -----------------------------------------------------------------------------
def period_label(since: date, period: str) -> str:
    if period == "week":
        return f"Week of {short_day(since)}, {since.year}"
    if period == "month":
        return f"{since:%B %Y}"
    return f"{short_day(since)}, {since.year}"


def day_url(day: date, period: str = "day", suffix: str = "") -> str:
    query = f"?period={period}" if period != "day" else ""
    return f"/date/{day.isoformat()}{suffix}{query}"


def _page_url(day: date, period: str, page: int) -> str:
    return f"/date/{day.isoformat()}?{urlencode({'period': period, 'page': page})}"


def trending_data(site: Site, day: date | None, period: str = "day", page: int = 1,
                  category: str | None = None) -> dict[str, Any]:
    """Papers of a day (week, month) by trending score (paperwire.trending); the latest day
    with papers by default. Each paper carries its score and how it came about."""
    check_choice(period, "period", PERIODS)
    # Listings change only when papers, votes or moderation do; caching them by one
    # statement reading those versions keeps a served list to a single SQL statement.
    key = ("trending", day, period, page, category, site.store.view_version())
    cached: dict[str, Any] | None = site.cache.get(key)
    if cached is not None:
        return cached
    data = _trending_data(site, day, period, page, category)
    site.cache.put(key, data)
    return data


def _trending_data(site: Site, day: date | None, period: str, page: int,
                   category: str | None) -> dict[str, Any]:
    if category:
        try:
            check_filters(Filters(categories=(category,)), site.settings.extra_categories)
        except QueryError as exc:
            raise bad_request(str(exc)) from None
    if day is None:
        day = site.latest_day() or date.today()
    ranked = rank(site.store, TrendingParams.from_settings(site.settings), period, day,
                  categories=(category,) if category else (), limit=PER_PAGE,
                  offset=(page - 1) * PER_PAGE)
    since, until, total = ranked.since, ranked.until, ranked.total
    before, after = site.day_before(since), site.day_after(until)
    pages = max(1, -(-total // PER_PAGE))
    return {
        "period": period, "date": day.isoformat(), "since": since.isoformat(),
        "until": until.isoformat(), "label": period_label(since, period),
        "short_label": short_day(day), "category": category, "ranking": "trending",
        "total": total, "page": page, "pages": pages, "per_page": PER_PAGE,
        "papers": with_submitters(site, [scored_dict(s) for s in ranked.items]),
        "prev": {"date": before.isoformat(), "url": day_url(before, period)} if before else None,
        "next": {"date": after.isoformat(), "url": day_url(after, period)} if after else None,
        "tabs": {p: day_url(day, p) for p in PERIODS},
        "newer_url": _page_url(day, period, page - 1) if page > 1 else None,
        "older_url": _page_url(day, period, page + 1) if page < pages else None,
        "feed": f"/feeds/trending.atom?{urlencode({'period': period, 'date': day.isoformat()})}",
    }


def scored_dict(item: Scored) -> dict[str, Any]:
    return {**paper_dict(item.paper), "score": round(item.score, 6), "votes": item.votes,
            "external": item.external, "age_hours": item.age_hours,
            "explanation": item.explanation}


def _trending_page(request: Request, day: date | None) -> Response:
    q = request.query_params
    period = check_choice(q.get("period", "day"), "period", PERIODS)
    site = site_of(request)
    data = trending_data(site, day, period, parse_page(q.get("page")))
    user = getattr(request.state, "user", None)
    if user is not None and data["papers"]:
        # The cached page is everyone's; whether this reader voted is added per request.
        mine = site.store.vote_states([p["arxiv_id"] for p in data["papers"]], user.id)
        data = {**data, "papers": [{**p, "voted": mine[p["arxiv_id"]].voted}
                                   if p["arxiv_id"] in mine else p for p in data["papers"]]}
    return render(request, "trending.html", data)


@router.get("/")
@router.get("/index.json")
def home(request: Request) -> Response:
    """The latest day that has papers (or ?date=YYYY-MM-DD)."""
    raw = request.query_params.get("date")
    return _trending_page(request, parse_day(raw) if raw else None)


@router.get("/date/{day}")
def day_page(request: Request, day: str) -> Response:
    return _trending_page(request, parse_day(day.removesuffix(".json")))


@router.get("/trending")
@router.get("/trending.json")
def trending_page(request: Request) -> Response:
    """?period=day|week|month&date=YYYY-MM-DD (default: the latest day with papers)."""
    raw = request.query_params.get("date")
    return _trending_page(request, parse_day(raw) if raw else None)


# --- search -------------------------------------------------------------------------------
def search_data(site: Site, q: str, *, categories: tuple[str, ...] = (),
                since: date | None = None, until: date | None = None,
                author: str | None = None, sort: str = "relevance", mode: str | None = None,
                page: int = 1, per_page: int = SEARCH_PER_PAGE, viewer: User | None = None
                ) -> dict[str, Any]:
    """One page of search results, each with its votes; QueryError (a 400) says what to
    change."""
    default_mode = "lexical" if site.settings.embedder == "none" else "hybrid"
    mode = mode or default_mode
    if mode == "semantic" and site.settings.embedder == "none":
        raise QueryError("search by meaning is switched off on this instance "
                         "(PAPERWIRE_EMBEDDER=none); use mode=lexical")
    filters = Filters(categories=categories, since=since, until=until, author=author or None)
    data: dict[str, Any] = {
        "query": q, "categories": list(categories),
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None, "author": author or None,
        "sort": sort, "mode": mode, "modes": list(MODES), "sorts": list(SORTS),
        "page": page, "per_page": per_page, "hits": [], "notes": [], "took_ms": 0.0,
        "prev_url": None, "next_url": None,
    }
    if not q.strip():
        return data
    offset = (page - 1) * per_page
    if offset + per_page > MAX_RESULTS:
        raise QueryError(f"results go {MAX_RESULTS:,} deep; page {page} is too far")
    # One extra hit tells whether a next page exists without counting every match.
    wanted = min(per_page + 1, MAX_RESULTS - offset)
    results = site.searcher.search(q, limit=wanted, offset=offset, filters=filters,
                                   mode=mode, sort=sort)
    hits = results.hits[:per_page]
    data.update(notes=results.notes, took_ms=round(results.took_ms, 2),
                hits=with_votes(site, [{**h.to_dict(), "url": f"/papers/{h.paper.arxiv_id}"}
                                       for h in hits], viewer))
    params: dict[str, Any] = {"q": q, "category": list(categories), "since": data["since"],
                              "until": data["until"], "author": author, "sort": sort,
                              "mode": mode}
    params = {k: v for k, v in params.items() if v}
    if page > 1:
        data["prev_url"] = "/search?" + urlencode({**params, "page": page - 1}, doseq=True)
    if len(results.hits) > per_page:
        data["next_url"] = "/search?" + urlencode({**params, "page": page + 1}, doseq=True)
    data["feed"] = "/feeds/search.atom?" + urlencode(params, doseq=True)
    return data


def search_args(request: Request) -> dict[str, Any]:
    """Search parameters from a query string, checked, with a helpful 400 when not."""
    q = request.query_params
    categories: list[str] = []
    for value in q.getlist("category"):
        categories += [c for c in value.replace(",", " ").split() if c]
    since = parse_day(q["since"], "since") if q.get("since") else None
    until = parse_day(q["until"], "until") if q.get("until") else None
    sort = check_choice(q.get("sort") or "relevance", "sort", SORTS)
    mode = check_choice(q["mode"], "mode", MODES) if q.get("mode") else None
    return {"q": q.get("q", ""), "categories": tuple(dict.fromkeys(categories)),
            "since": since, "until": until, "author": q.get("author") or None,
            "sort": sort, "mode": mode, "page": parse_page(q.get("page"))}


@router.get("/search")
@router.get("/search.json")
def search_page(request: Request) -> Response:
    args = search_args(request)
    try:
        data = search_data(site_of(request), **args, viewer=user_of(request))
    except QueryError as exc:
        raise bad_request(str(exc)) from None
    return render(request, "search.html", data)


# --- paper --------------------------------------------------------------------------------
def paper_data(site: Site, raw_id: str, similar: int = 6, viewer: User | None = None
               ) -> dict[str, Any]:
    """A paper and its neighbours; a hidden paper is "not found" except to moderators, who
    see why it is hidden. ``community`` carries votes and who submitted it."""
    try:
        arxiv_id, _ = parse_arxiv_id(raw_id)
    except InvalidRecord as exc:
        raise HTTPException(404, str(exc)) from None
    # What every visitor sees is cached on the versions of papers, votes and moderation
    # (one statement) and of the indexes; only a signed-in visitor's own vote is read apart.
    key = ("paper", arxiv_id, similar, site.store.view_version(), site.index_version())
    shared: dict[str, Any] | None = site.cache.get(key)
    if shared is None:
        shared = _paper_shared(site, arxiv_id, similar)
        site.cache.put(key, shared)
    if shared["paper"] is None or (shared["hidden"] is not None
                                   and not (viewer and viewer.is_moderator)):
        raise HTTPException(404, f"no paper {arxiv_id} on this instance")
    if viewer is None:
        return shared
    # The reader's own votes, on the paper and its neighbours, in one read.
    mine = site.store.vote_states([arxiv_id, *(c["arxiv_id"] for c in shared["similar"])],
                                  viewer.id)
    voted = {i for i, state in mine.items() if state.voted}
    return {**shared, "community": {**shared["community"], "voted": arxiv_id in voted},
            "similar": [{**c, "voted": c["arxiv_id"] in voted} for c in shared["similar"]]}


def _paper_shared(site: Site, arxiv_id: str, similar: int) -> dict[str, Any]:
    """The part of a paper's page that is the same for every visitor (``paper`` None when
    the paper is not stored)."""
    view = site.store.paper_view(arxiv_id)  # one connection for five reads
    if view is None:
        return {"paper": None, "hidden": None}
    # Similar papers change only when papers or the indexes do, not with votes: kept apart,
    # so a vote does not cost the next visitor a vector search.
    key = ("similar", arxiv_id, similar, view.data_version, site.index_version())
    nearest = site.cache.get(key)
    if nearest is None:
        nearest = similar_to(site, view.paper, similar)
        site.cache.put(key, nearest)
    # Votes change more often than neighbours: added to a copy, under this entry's key.
    nearest = with_votes(site, [dict(c) for c in nearest])
    return {"paper": paper_dict(view.paper), "similar": nearest,
            "short_date": short_day(paper_day(view.paper)), "hidden": view.hidden,
            "community": community_data(view)}


def similar_to(site: Site, paper: Paper, limit: int) -> list[dict[str, Any]]:
    """Nearest by meaning; by shared keywords where meaning is off or not yet indexed."""
    searcher = site.searcher
    try:
        results = searcher.similar(paper.arxiv_id, limit=limit)
    except QueryError:
        results = None
    if results is None or not results.hits:
        text = f"{paper.title} {paper.abstract}"[:MAX_LIKE_TEXT_CHARS]
        try:
            results = searcher.like_text(text, limit=limit + 1, mode="lexical")
        except QueryError:  # e.g. nothing searchable in it: no similar papers, not an error
            return []
    return [{**h.to_dict(), "url": f"/papers/{h.paper.arxiv_id}"} for h in results.hits
            if h.paper.arxiv_id != paper.arxiv_id][:limit]


@router.get("/papers/{arxiv_id:path}")
def paper_page(request: Request, arxiv_id: str) -> Response:
    data = paper_data(site_of(request), arxiv_id.removesuffix(".json"),
                      viewer=user_of(request))
    return render(request, "paper.html", data)


# --- about --------------------------------------------------------------------------------
def about_data(site: Site) -> dict[str, Any]:
    # Counting every paper by category takes ~30 ms at 75k; the counts change only with
    # the papers, so they are cached by the data version.
    key = ("stats", site.store.data_version())
    stats: dict[str, Any] | None = site.cache.get(key)
    if stats is None:
        stats = site.store.stats()
        site.cache.put(key, stats)
    return {"papers": stats["papers"], "listed": stats["listed"],
            "categories": dict(list(stats["categories"].items())[:20]),
            "search_by_meaning": site.settings.embedder != "none",
            "trending": trending_about(site.settings),
            "api": {"openapi": "/api/openapi.json", "docs": "/api/docs"},
            "feeds": {"trending": "/feeds/trending.atom?period=day",
                      "search": "/feeds/search.atom?q=QUERY",
                      "category": "/feeds/category/cs.CL.atom"}}


def trending_about(settings: Settings) -> dict[str, Any]:
    """The trending formula and the values it runs with, for the About page."""
    params = TrendingParams.from_settings(settings)
    names = {"gravity": "trending_gravity", "prior": "trending_prior",
             "external_weight": "trending_external_weight",
             "age_offset_hours": "trending_age_offset_hours"}
    return {"formula": params.formula,
            "parameters": {k: getattr(params, k) for k in names},
            "settings": {k: "PAPERWIRE_" + v.upper() for k, v in names.items()}}


@router.get("/about")
@router.get("/about.json")
def about_page(request: Request) -> Response:
    return render(request, "about.html", about_data(site_of(request)))
