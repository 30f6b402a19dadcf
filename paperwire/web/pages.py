"""The pages: home/trending, day, search, paper and about.

Each view builds data and returns a Page, which the format registry renders as HTML, JSON
or (list pages) Atom.

Every ``*_data`` function returns plain JSON-able data; the API in api.py calls the same
functions, so a page and its API answer cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException

from paperwire.errors import IndexDamaged, InvalidRecord
from paperwire.formats.atom import FEED_SIZE
from paperwire.formats.bibtex import to_bibtex
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
from paperwire.sources.listing import ANNOUNCE_TYPES
from paperwire.store import DayKind, PaperReader, Store
from paperwire.trending import TrendingParams, rank
from paperwire.web.cards import (
    card,
    community_data,
    hit_card,
    scored_card,
    with_author_links,
    with_my_votes,
    with_submitters,
    with_votes,
)
from paperwire.web.citing import cite_links, highwire
from paperwire.web.discussion import discussion_data, reader_state
from paperwire.web.library_search import scoped_results
from paperwire.web.params import bad_request, check_choice, parse_day, parse_page, search_args
from paperwire.web.renderers import Feed, Page, format_of, page_route
from paperwire.web.security import user_of
from paperwire.web.site import Site, site_of
from paperwire.web.stats import vote_history

router = APIRouter(include_in_schema=False)

PERIODS = ("day", "week", "month")
PER_PAGE = 30
SEARCH_PER_PAGE = 20


@dataclass(frozen=True)
class Listing:
    """A list page's data and the papers behind it, in order (for its feed)."""

    data: dict[str, Any]
    papers: list[Paper]
    key: Hashable = None  # what it was cached under, versions included (a Page.kept key)


def short_day(day: date | None) -> str:
    """"Mar 14", the way listings show a day."""
    return f"{day:%b} {day.day}" if day else ""


# --- trending -----------------------------------------------------------------------------
def period_label(since: date, period: str) -> str:
    if period == "week":
        return f"Week of {short_day(since)}, {since.year}"
    if period == "month":
        return f"{since:%B %Y}"
    return f"{short_day(since)}, {since.year}"


def day_url(day: date, period: str = "day", suffix: str = "", category: str | None = None
            ) -> str:
    params = {"period": period if period != "day" else None, "category": category}
    query = urlencode({k: v for k, v in params.items() if v})
    return f"/date/{day.isoformat()}{suffix}{'?' + query if query else ''}"


def category_url(category: str) -> str:
    """A category's page: its latest day, by trending score (what its feed links to)."""
    return "/?" + urlencode({"category": category})


def _page_url(day: date, period: str, page: int, category: str | None = None) -> str:
    params = {"period": period, "page": page, **({"category": category} if category else {})}
    return f"/date/{day.isoformat()}?{urlencode(params)}"


def trending_listing(site: Site, day: date | None, period: str = "day", page: int = 1,
                     category: str | None = None,
                     types: tuple[str, ...] | None = None) -> Listing:
    """Papers of a day (week, month) by trending score (paperwire.trending); the latest day
    with papers by default. Each paper carries its score and how it came about; a day's
    papers come in sections, new, cross-listed, then revised (``types`` keeps some)."""
    check_choice(period, "period", PERIODS)
    if types is not None and period != "day":
        raise bad_request("type filters the day view only (period=day)")
    # Listings change only when papers, votes or moderation do; caching them by one
    # statement reading those versions keeps a served list to a single SQL statement.
    key = ("trending", day, period, page, category, types, site.store.view_version())
    cached: Listing | None = site.cache.get(key)
    if cached is not None:
        return cached
    listing = replace(_trending_listing(site, day, period, page, category, types), key=key)
    site.cache.put(key, listing)
    return listing


def trending_data(site: Site, day: date | None, period: str = "day", page: int = 1,
                  category: str | None = None,
                  types: tuple[str, ...] | None = None) -> dict[str, Any]:
    return trending_listing(site, day, period, page, category, types).data


def parse_types(raw: str | None) -> tuple[str, ...] | None:
    """``?type=new,cross`` as a tuple of announce types (None when not given)."""
    if raw is None:
        return None
    if len(raw) > 100:
        raise bad_request("type is too long: at most the four announce types, comma-separated")
    wanted = tuple(dict.fromkeys(t.strip() for t in raw.split(",") if t.strip()))
    unknown = [t for t in wanted if t not in ANNOUNCE_TYPES]
    if unknown or not wanted:
        raise bad_request(f"type {raw[:40]!r}: choose among {', '.join(ANNOUNCE_TYPES)}, "
                          "comma-separated (type=new,cross)")
    return wanted


def _trending_listing(site: Site, day: date | None, period: str, page: int,
                      category: str | None, types: tuple[str, ...] | None = None) -> Listing:
    if category:
        try:
            check_filters(Filters(categories=(category,)), site.settings.extra_categories)
        except QueryError as exc:
            raise bad_request(str(exc)) from None
    store = site.store
    # Home opens on arXiv's latest listing, not on a later day of vote-signal papers only.
    day = day or store.latest_listing_day() or date.today()
    kinds = store.day_kinds(day, category) if period == "day" else None
    ranked = rank(store, TrendingParams.from_settings(site.settings), period, day,
                  categories=(category,) if category else (), limit=PER_PAGE,
                  offset=(page - 1) * PER_PAGE,
                  kinds=None if kinds is None else {r: k.announce_type for r, k in kinds.items()},
                  types=types)
    by_id = {k.arxiv_id: k for k in (kinds or {}).values()}
    since, until, total = ranked.since, ranked.until, ranked.total
    cards = with_submitters(store, [
        {**scored_card(s), "listing": listing_label(s.paper, by_id.get(s.paper.arxiv_id))}
        if kinds is not None else scored_card(s) for s in ranked.items])
    if until < date.today():
        _with_votes_since(store, cards, until)
    before, after = store.day_before(since), store.day_after(until)
    pages = max(1, -(-total // PER_PAGE))
    data = {
        "period": period, "date": day.isoformat(), "since": since.isoformat(),
        "until": until.isoformat(), "label": period_label(since, period),
        "short_label": short_day(day), "category": category, "ranking": "trending",
        "total": total, "page": page, "pages": pages, "per_page": PER_PAGE,
        "papers": cards,
        "types": list(types) if types else None,
        "prev": {"date": before.isoformat(), "url": day_url(before, period, category=category)}
        if before else None,
        "next": {"date": after.isoformat(), "url": day_url(after, period, category=category)}
        if after else None,
        "tabs": {p: day_url(day, p, category=category) for p in PERIODS},
        "newer_url": _page_url(day, period, page - 1, category) if page > 1 else None,
        "older_url": _page_url(day, period, page + 1, category) if page < pages else None,
        "feed": f"/feeds/trending.atom?{urlencode({'period': period, 'date': day.isoformat()})}",
    }
    return Listing(data, [s.paper for s in ranked.items])


def _with_votes_since(store: Store, cards: list[dict[str, Any]], until: date) -> None:
    """A past window's cards count every vote on their button, the one a reader's vote
    changes (the window's count, which its score used, is said in ``counted_until``): with
    only the window's, a vote cast today showed live, then vanished on reload."""
    states = store.vote_states(c["arxiv_id"] for c in cards)
    for c in cards:
        state = states.get(c["arxiv_id"])
        c["votes_in_window"], c["counted_until"] = c["votes"], until.isoformat()
        c["votes"] = state.votes if state else c["votes"]


def listing_label(paper: Paper, kind: DayKind | None) -> dict[str, Any]:
    """How a paper appeared on the day shown: its announce type, section and a label a
    reader understands ("new", "cross-listed from math.OC", "updated to v3")."""
    if kind is None:  # on the day's page for another reason (featured elsewhere that day)
        return {"type": None, "section": "new", "label": None, "version": None, "from": None}
    version = kind.version or paper.version
    if kind.announce_type in ("replace", "replace-cross"):
        label = f"updated to v{version}" if version else "updated"
        return {"type": kind.announce_type, "section": "revised", "label": label,
                "version": version, "from": None}
    if kind.announce_type == "cross":
        source = paper.primary_category or None
        return {"type": "cross", "section": "cross", "version": None, "from": source,
                "label": f"cross-listed from {source}" if source else "cross-listed"}
    return {"type": "new", "section": "new", "label": "new", "version": None, "from": None}


@page_route(router, "/", "/trending", "/date/{day}")
def trending_page(request: Request) -> Page:
    """The latest day that has papers, or /date/YYYY-MM-DD or ?date=YYYY-MM-DD;
    ?period=day|week|month, ?page=N; on a day, ?type=new,cross (announce types);
    ?category=cs.CL (or an archive, cs) for one category's page."""
    q = request.query_params
    period = check_choice(q.get("period", "day"), "period", PERIODS)
    raw = request.path_params.get("day") or q.get("date")
    category = q.get("category") or None
    if category is not None and len(category) > 40:
        raise bad_request("category is too long: an arXiv code such as cs.CL, or an archive")
    site = site_of(request)
    listing = trending_listing(site, parse_day(raw) if raw else None, period,
                               parse_page(q.get("page")), category,
                               types=parse_types(q.get("type")))
    data = listing.data
    viewer = user_of(request)
    if data["papers"]:
        # The cached page is everyone's; whether this reader voted is added per request.
        papers, _ = with_my_votes(site.store, data["papers"], viewer)
        data = {**data, "papers": papers}
    feed = Feed(f"paperwire: papers of {data['label']}",
                day_url(date.fromisoformat(data["date"]), period, category=category),
                listing.papers)
    return Page("trending.html", data, feed=feed,
                kept=None if viewer is not None else ("trending", listing.key))


# --- search -------------------------------------------------------------------------------
def search_listing(site: Site, q: str, *, categories: tuple[str, ...] = (),
                   since: date | None = None, until: date | None = None,
                   author: str | None = None, sort: str = "relevance",
                   mode: str | None = None, page: int = 1, per_page: int = SEARCH_PER_PAGE,
                   viewer: User | None = None, collection: int | None = None,
                   mine: bool = False, code: bool = False) -> Listing:
    """One page of search results, each with its votes; QueryError (a 400) says what to
    change."""
    mode = mode or ("lexical" if site.settings.embedder == "none" else "hybrid")
    if mode == "semantic" and site.settings.embedder == "none":
        raise QueryError("search by meaning is switched off on this instance "
                         "(PAPERWIRE_EMBEDDER=none); use mode=lexical")
    data: dict[str, Any] = {
        "query": q, "categories": list(categories),
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None, "author": author or None,
        "sort": sort, "mode": mode, "modes": list(MODES), "sorts": list(SORTS),
        "page": page, "per_page": per_page, "hits": [], "notes": [], "took_ms": 0.0,
        "prev_url": None, "next_url": None, "collection": collection,
        "library": "mine" if mine else None, "code": code, "matched": None,
        "filtered": bool(categories or since or until or author or code),
    }
    if not q.strip():
        if author:
            data["notes"] = [f"Type some words to search among the papers of {author} "
                             "(kept as the author filter)."]
        return Listing(data, [])
    offset = (page - 1) * per_page
    if offset + per_page > MAX_RESULTS:
        raise QueryError(f"results go {MAX_RESULTS:,} deep; page {page} is too far")
    # One extra hit tells whether a next page exists without counting every match.
    filters = Filters(categories=categories, since=since, until=until, author=author or None,
                      code=code)
    limit = min(per_page + 1, MAX_RESULTS - offset)
    if collection is not None or mine:  # inside a library: see web/library_search.py
        results = scoped_results(site, q, viewer, collection, mine, mode=mode, sort=sort,
                                 filters=filters, offset=offset, limit=limit)
    else:
        results = site.searcher.search(q, limit=limit, offset=offset, mode=mode, sort=sort,
                                       filters=filters)
    hits = results.hits[:per_page]
    data.update(notes=results.notes, took_ms=round(results.took_ms, 2), matched=results.matched,
                hits=with_votes(site.store, [hit_card(h) for h in hits], viewer))
    params: dict[str, Any] = {"q": q, "category": list(categories), "since": data["since"],
                              "until": data["until"], "author": author, "sort": sort,
                              "mode": mode, "collection": collection,
                              "library": "mine" if mine else None, "code": "1" if code else None}
    params = {k: v for k, v in params.items() if v}
    if page > 1:
        data["prev_url"] = "/search?" + urlencode({**params, "page": page - 1}, doseq=True)
    if len(results.hits) > per_page:
        data["next_url"] = "/search?" + urlencode({**params, "page": page + 1}, doseq=True)
    public = {k: v for k, v in params.items() if k not in ("collection", "library")}
    data["feed"] = "/feeds/search.atom?" + urlencode(public, doseq=True)
    return Listing(data, [h.paper for h in hits])


def search_data(site: Site, q: str, **options: Any) -> dict[str, Any]:
    return search_listing(site, q, **options).data


@page_route(router, "/search")
def search_page(request: Request) -> Page:
    """?q=words&category=cs.CL&since=&until=&author=&code=1&sort=&mode=&page=; as a feed, the
    first FEED_SIZE hits."""
    args = search_args(request.query_params)
    as_feed = format_of(request) == "atom"
    if as_feed:
        if not args["q"].strip():
            raise bad_request("q is required: /feeds/search.atom?q=your+words")
        args["page"] = 1
    try:
        found = search_listing(site_of(request), **args, viewer=user_of(request),
                               per_page=FEED_SIZE if as_feed else SEARCH_PER_PAGE)
    except QueryError as exc:
        raise bad_request(str(exc)) from None
    feed = Feed(f"paperwire: search for {args['q']}",
                "/search?" + urlencode({"q": args["q"]}), found.papers)
    return Page("search.html", found.data, feed=feed)


# --- paper --------------------------------------------------------------------------------
def paper_data(site: Site, raw_id: str, similar: int = 6, viewer: User | None = None
               ) -> dict[str, Any]:
    """A paper and its neighbours; a hidden paper is "not found" except to moderators, who
    see why it is hidden. ``community`` carries votes and who submitted it, ``cite`` its
    BibTeX, citation files and Highwire meta tags, ``listings`` its announcement entries."""
    return paper_and_data(site, raw_id, similar, viewer)[1]


def paper_and_data(site: Site, raw_id: str, similar: int = 6, viewer: User | None = None,
                   version: str | None = None) -> tuple[Paper, dict[str, Any]]:
    """``paper_data`` with the Paper itself (what the citation formats export); ``version``
    is the store's view version when the caller has read it already."""
    paper, data, _ = _paper_for(site, raw_id, similar, viewer, version)
    return paper, data


def _paper_for(site: Site, raw_id: str, similar: int, viewer: User | None,
               version: str | None, index: Hashable = None
               ) -> tuple[Paper, dict[str, Any], PaperReader | None]:
    """``paper_and_data``, and what the signed-in ``viewer`` adds to the page."""
    try:
        arxiv_id, _ = parse_arxiv_id(raw_id)
    except InvalidRecord as exc:
        raise HTTPException(404, str(exc)) from None
    # What every visitor sees is cached on the versions of papers, votes and moderation
    # (one statement) and of the indexes; only a signed-in visitor's own vote is read apart.
    index = index if index is not None else site.index_version()
    key = ("paper", arxiv_id, similar, version or site.store.view_version(), index)
    cached: tuple[Paper | None, dict[str, Any]] | None = site.cache.get(key)
    if cached is None:
        cached = _paper_shared(site, arxiv_id, similar, index)
        site.cache.put(key, cached)
    paper, shared = cached
    if paper is None or (shared["hidden"] is not None
                                   and not (viewer and viewer.is_moderator)):
        raise HTTPException(404, f"no paper {arxiv_id} on this instance")
    if viewer is None:
        return paper, shared, None
    # The reader's own votes and saves, on the paper and its neighbours, and on its
    # comments, in one read.
    reader = site.store.paper_reader(
        arxiv_id, [arxiv_id, *(c["arxiv_id"] for c in shared["similar"])], viewer.id)
    nearest = [{**c, "voted": c["arxiv_id"] in reader.voted,
                "saved": c["arxiv_id"] in reader.saved} for c in shared["similar"]]
    return paper, {**shared, "community": {**shared["community"],
                                           "voted": arxiv_id in reader.voted,
                                           "saved": arxiv_id in reader.saved},
                   "similar": nearest}, reader


def _paper_shared(site: Site, arxiv_id: str, similar: int, index: Hashable
                  ) -> tuple[Paper | None, dict[str, Any]]:
    """The paper and the part of its page that is the same for every visitor (None and
    ``paper`` None when the paper is not stored), at the indexes' version ``index``."""
    view = site.store.paper_view(arxiv_id)  # one connection for five reads
    if view is None:
        return None, {"paper": None, "hidden": None}
    # Similar papers change only when papers or the indexes do, not with votes: kept apart,
    # so a vote does not cost the next visitor a vector search.
    key = ("similar", arxiv_id, similar, view.data_version, index)
    nearest = site.cache.get(key)
    if nearest is None:
        nearest = similar_to(site, view.paper, similar)
        site.cache.put(key, nearest)
    # Votes change more often than neighbours: added to a copy, under this entry's key.
    nearest = with_votes(site.store, [dict(c) for c in nearest])
    path = f"/papers/{arxiv_id}"
    shown = with_author_links(site.store, [card(view.paper)])[0]
    shown["code"] = [link.to_dict() for link in
                     site.store.links_of([arxiv_id]).get(arxiv_id, ())]
    return view.paper, {
        "paper": shown, "similar": nearest,
        "short_date": short_day(paper_day(view.paper)), "hidden": view.hidden,
        "community": community_data(view), "vote_history": vote_history(site, arxiv_id),
        "listings": site.store.listing_entries(arxiv_id),
        "cite": {"bibtex": to_bibtex(view.paper), "files": cite_links(path),
                 "meta": [list(tag) for tag in highwire(view.paper)]}}


def similar_to(site: Site, paper: Paper, limit: int) -> list[dict[str, Any]]:
    """Nearest by meaning; by shared keywords where meaning is off, not yet indexed or its
    index damaged; none when both indexes fail (the page itself needs neither)."""
    searcher = site.searcher
    try:
        results = searcher.similar(paper.arxiv_id, limit=limit)
    except (QueryError, IndexDamaged):
        results = None
    if results is None or not results.hits:
        text = f"{paper.title} {paper.abstract}"[:MAX_LIKE_TEXT_CHARS]
        try:
            results = searcher.like_text(text, limit=limit + 1, mode="lexical")
        except (QueryError, IndexDamaged):  # e.g. nothing searchable: no similar papers
            return []
    return [hit_card(h) for h in results.hits if h.paper.arxiv_id != paper.arxiv_id][:limit]


@page_route(router, "/papers/{arxiv_id:path}")
def paper_page(request: Request, arxiv_id: str) -> Page:
    """A paper, its neighbours and its discussion (?order=newest|top)."""
    site, viewer = site_of(request), user_of(request)
    order = request.query_params.get("order", "newest")
    version, index = site.store.view_version(), site.index_version()
    paper, data = paper_with_discussion(site, arxiv_id, viewer, order, version, index)
    # The page is a function of the paper, the versions, the order asked and, signed in,
    # what it shows of its reader.
    shared = ("paper", paper.arxiv_id, order, version, index)
    kept: Hashable = shared
    if viewer is not None:
        marks = _reader_marks(data, viewer)
        kept = None if marks is None else (*shared, marks)
    return Page("paper.html", data, citable=(paper,), kept=kept)


def _reader_marks(data: dict[str, Any], viewer: User) -> Hashable:
    """Everything a paper's page shows of a signed-in ``viewer`` beyond their role, name and
    address (what ``_paper_for`` and ``discussion_data`` add to the shared page): their vote
    and save on the paper and its neighbours, and their comments' and votes' states; None
    when the page is theirs alone (a thread with their comments awaiting approval)."""
    thread = reader_state(data["discussion"], viewer.is_moderator)
    if thread is None:
        return None
    community = data["community"]
    return (community["voted"], community["saved"],
            tuple((c["arxiv_id"], c["voted"], c["saved"]) for c in data["similar"]), thread)


def paper_with_discussion(site: Site, raw_id: str, viewer: User | None,
                          order: str = "newest", version: str | None = None,
                          index: Hashable = None) -> tuple[Paper, dict[str, Any]]:
    """``paper_and_data`` with the paper's discussion (``discussion``), as its page shows:
    both keyed on one read of the view version (``version``, when the caller has it)."""
    version = version or site.store.view_version()
    paper, data, reader = _paper_for(site, raw_id, 6, viewer, version, index)
    return paper, {**data, "discussion": discussion_data(site, paper.arxiv_id, viewer, order,
                                                         visible=True, version=version,
                                                         reader=reader)}


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


@page_route(router, "/about")
def about_page(request: Request) -> Page:
    return Page("about.html", about_data(site_of(request)))
