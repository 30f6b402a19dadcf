"""The stats page, /stats (and /stats.json): papers per day and per category, votes over time,
what rose fastest this week, and (for admins) subscribers and digests sent; and the vote
sparkline on a paper's page.

The numbers are the page's data (its JSON twin); the HTML draws them as SVG charts
(web/charts.py) with a table of the same numbers beside each, for readers who cannot see
the chart.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from markupsafe import Markup

from paperwire.models import User
from paperwire.trending import TrendingParams, rank
from paperwire.web import charts
from paperwire.web.cards import scored_card
from paperwire.web.params import bad_request, parse_day
from paperwire.web.renderers import Page, format_of, page_route
from paperwire.web.security import user_of
from paperwire.web.site import Site, site_of

router = APIRouter(include_in_schema=False)

RANGES = (30, 90, 365)
MAX_SPAN_DAYS = 366
TOP_CATEGORIES = 5  # stacked per day; the rest are "other"
CATEGORY_BARS = 15
RISING = 10


def install(app: FastAPI) -> None:
    """Add the route and the template helpers that draw the charts."""
    site: Site = app.state.site
    cache = charts.ChartCache()
    site.templates.globals.update(
        stats_charts=lambda data: stats_charts(cache, data),
        vote_sparkline=lambda arxiv_id, history: vote_sparkline(cache, arxiv_id, history))
    app.include_router(router)


def latest_day(site: Site, version: str) -> date:
    """The latest day with papers, cached on the data version: finding it takes two
    aggregate reads (~8 ms at 80k papers), too much for every request."""
    key = ("latest-day", version)
    day: date | None = site.cache.get(key)
    if day is None:
        day = site.store.latest_day() or date.today()
        site.cache.put(key, day)
    return day


def stats_range(site: Site, q: Any, version: str) -> tuple[date, date, int | None]:
    """[since, until] from ?days=30|90|365 (ending on the latest day with papers) or from
    ?since=&until=, at most MAX_SPAN_DAYS long; and the ``days`` choice, if one was made."""
    if q.get("since") or q.get("until"):
        if q.get("days"):
            raise bad_request("give days, or since and until, not both")
        latest = latest_day(site, version)
        until = parse_day(q["until"], "until") if q.get("until") else latest
        since = (parse_day(q["since"], "since") if q.get("since")
                 else until - timedelta(days=RANGES[0] - 1))
        if since > until:
            raise bad_request(f"since {since} is after until {until}")
        if (until - since).days + 1 > MAX_SPAN_DAYS:
            raise bad_request(f"since and until may span {MAX_SPAN_DAYS} days at most "
                              f"(got {(until - since).days + 1})")
        return since, until, None
    raw = q.get("days") or str(RANGES[0])
    if raw not in {str(n) for n in RANGES}:
        raise bad_request(f"days must be one of {', '.join(map(str, RANGES))} "
                          f"(got {raw[:40]!r})")
    days = int(raw)
    until = latest_day(site, version)
    return until - timedelta(days=days - 1), until, days


def stats_data(site: Site, since: date, until: date, viewer: User | None = None, *,
               version: str | None = None) -> dict[str, Any]:
    """The page's numbers: cached on the versions of papers, votes and moderation (read
    here unless given); the admin part (mail) is read apart, for admins only."""
    key = ("stats-page", since, until, version or site.store.view_version())
    shared: dict[str, Any] | None = site.cache.get(key)
    if shared is None:
        shared = _shared(site, since, until)
        site.cache.put(key, shared)
    admin = site.store.mail_stats(since, until) if viewer and viewer.role == "admin" else None
    return {**shared, "admin": admin}


def _shared(site: Site, since: date, until: date) -> dict[str, Any]:
    store = site.store
    week = rank(store, TrendingParams.from_settings(site.settings), "week", until,
                limit=RISING)
    return {
        "since": since.isoformat(), "until": until.isoformat(),
        "per_day": store.papers_per_day(since, until, TOP_CATEGORIES),
        "per_category": store.papers_per_category(CATEGORY_BARS, since, until),
        "votes": store.votes_per_day(since, until),
        "rising": {"since": week.since.isoformat(), "until": week.until.isoformat(),
                   "measure": "the week's trending score (see /about#trending)",
                   "papers": [scored_card(s) for s in week.items]},
    }


@page_route(router, "/stats")
def stats_page(request: Request) -> Page:
    """?days=30|90|365, or ?since=YYYY-MM-DD&until=YYYY-MM-DD (at most 366 days)."""
    site = site_of(request)
    version = site.store.view_version()
    since, until, days = stats_range(site, request.query_params, version)
    data = {**stats_data(site, since, until, user_of(request), version=version),
            "days": days, "ranges": list(RANGES)}
    if format_of(request) != "html":
        return Page("stats.html", data)
    return Page("stats.html", {**data, "body": stats_body(site, data, version)})


def stats_body(site: Site, data: dict[str, Any], version: str) -> Markup:
    """The page's content: three charts and their tables, the same for every visitor but
    an admin, so rendered once per data version (drawing and tabling them is most of the
    page's time); the admin's part is read fresh, so an admin's is never cached."""
    key = ("stats-body", data["since"], data["until"], data["days"], version)
    cached: Markup | None = None if data.get("admin") else site.cache.get(key)
    if cached is None:
        template = site.templates.get_template("stats_body.html")
        cached = Markup(template.render(data=data, **data))
        if not data.get("admin"):
            site.cache.put(key, cached)
    return cached


# --- charts (HTML only) -------------------------------------------------------------------
def stats_charts(cache: charts.ChartCache, data: dict[str, Any]) -> dict[str, Markup]:
    """The page's charts, drawn from its data."""
    span = f"{data['since']} to {data['until']}"
    per_day, votes = data["per_day"], data["votes"]
    drawn = {
        "per_day": charts.spec(
            "stacked", "chart-per-day", f"Papers per day, {span}",
            f"Stacked bars: papers of each day by primary category "
            f"({', '.join(per_day['categories']) or 'none'}); {sum(per_day['totals']):,} in all.",
            per_day["days"], per_day["counts"], "day", "papers"),
        "per_category": charts.spec(
            "hbar", "chart-per-category", f"Papers per category, {span}",
            "Bars: papers filed under each of the largest categories, cross-lists included.",
            list(data["per_category"]), {"papers": list(data["per_category"].values())},
            "papers", "", height=420),
        "votes": charts.spec(
            "line", "chart-votes", f"Votes per day, {span}",
            f"Lines: local votes cast ({sum(votes['local']):,}) and imported upvotes "
            f"({sum(votes['imported']):,}) on each day.", votes["days"],
            {"local votes": votes["local"], "imported upvotes": votes["imported"]},
            "day", "votes"),
    }
    admin = data.get("admin")
    if admin:
        digests = admin["digests"]
        drawn["digests"] = charts.spec(
            "bar", "chart-digests", f"Digests sent per day, {span}",
            f"Bars: digests sent each day; {digests['total']:,} in all.", digests["days"],
            {"digests sent": digests["sent"]}, "day", "digests")
    return {name: cache.get_or_render(spec) for name, spec in drawn.items()}


def vote_history(site: Site, arxiv_id: str) -> list[list[Any]]:
    """A paper's votes so far at the end of each day one was cast ([day, total] pairs)."""
    total, out = 0, []
    for day, n in site.store.paper_votes(arxiv_id):
        total += n
        out.append([day, total])
    return out


def vote_sparkline(cache: charts.ChartCache, arxiv_id: str, history: list[list[Any]]
                   ) -> Markup:
    """A small line of a paper's votes over time; nothing before its second voting day."""
    if len(history) < 2:
        return Markup("")
    first, last = history[0], history[-1]
    spec = charts.spec(
        "spark", f"spark-{arxiv_id.replace('/', '-').replace('.', '-')}",
        f"Votes over time: {last[1]}", f"{first[1]} on {first[0]}, {last[1]} by {last[0]}",
        [d for d, _ in history], {"votes": [n for _, n in history]}, width=160, height=32)
    return cache.get_or_render(spec)
