"""What the MCP server answers: typed results and the operations behind its tools and resources.

Each operation reads through the same modules the web and the CLI use (Searcher, trending.rank,
Store) and raises ``ToolError`` with the CLI's one-line message when the input cannot be
answered. Hidden (moderated) papers never appear: search, similar and trending leave them out
on their own, and a hidden paper asked for by id is "not on this instance", as on the web.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from paperwire.errors import InvalidRecord
from paperwire.models import Filters, Paper, paper_day, parse_arxiv_id
from paperwire.search import (
    MAX_LIKE_TEXT_CHARS,
    Hit,
    QueryError,
    Results,
    Searcher,
    check_filters,
)
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.trending import Scored, TrendingParams, rank

Mode = Literal["hybrid", "lexical", "semantic"]
Period = Literal["day", "week", "month"]
MAX_LIMIT = 50
LISTING_LIMIT = 200  # papers of a day in the listing resource; a busy arXiv day lists ~1,000


class NotOnInstance(ToolError):
    """The paper asked for is not stored here, or a moderator hid it (the same answer)."""


class PaperCard(BaseModel):
    """A paper in a list: enough to decide whether to open it."""

    arxiv_id: str
    title: str
    authors: list[str]
    categories: list[str]
    primary_category: str
    date: str | None = Field(description="the day arXiv listed it, else the day it was submitted")
    abs_url: str
    pdf_url: str


class SearchHit(PaperCard):
    score: float
    snippet: str = Field(description="the part of the abstract that matched")


class SearchResult(BaseModel):
    query: str
    mode: str
    hits: list[SearchHit]
    notes: list[str] = Field(description="why results may be fewer than asked for")


class TrendingPaper(PaperCard):
    rank: int
    score: float
    votes: int
    external: int = Field(description="upvotes imported from another community")
    explanation: str = Field(description="how the score came about")


class TrendingResult(BaseModel):
    period: str
    since: str
    until: str
    total: int = Field(description="papers in the window, of which the first `limit` are here")
    papers: list[TrendingPaper]


class Citations(BaseModel):
    bibtex: str


class PaperDetail(PaperCard):
    abstract: str
    version: int | None
    published: str | None
    updated: str | None
    comments: str | None
    journal_ref: str | None
    doi: str | None
    license: str | None
    citations: Citations


class SimilarResult(BaseModel):
    arxiv_id: str
    papers: list[SearchHit]


def card_fields(paper: Paper) -> dict[str, object]:
    day = paper_day(paper)
    return {"arxiv_id": paper.arxiv_id, "title": paper.title, "authors": list(paper.authors),
            "categories": list(paper.categories), "primary_category": paper.primary_category,
            "date": day.isoformat() if day else None, "abs_url": paper.abs_url,
            "pdf_url": paper.pdf_url}


def search_hit(hit: Hit) -> SearchHit:
    return SearchHit.model_validate({**card_fields(hit.paper), "score": round(hit.score, 6),
                                     "snippet": hit.snippet.text})


def bibtex(paper: Paper) -> str:
    """A minimal arXiv-style @misc entry (paperwire.formats.bibtex will replace it)."""
    day = paper_day(paper)
    fields = [("title", paper.title), ("author", " and ".join(paper.authors)),
              ("year", str(day.year) if day else None), ("eprint", paper.arxiv_id),
              ("archivePrefix", "arXiv"), ("primaryClass", paper.primary_category or None),
              ("doi", paper.doi), ("url", paper.abs_url)]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{paper.arxiv_id.replace('/', ':')},\n{body}\n}}"


def parse_day(text: str, name: str = "date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ToolError(f"{name} must be a day written YYYY-MM-DD (got {text!r})") from None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


class Papers:
    """The operations over one store and its indexes; one per server, kept for its life."""

    def __init__(self, settings: Settings, store: Store, searcher: Searcher | None = None
                 ) -> None:
        self.settings = settings
        self.store = store
        self._searcher = searcher or Searcher.from_settings(settings, store)

    @property
    def searcher(self) -> Searcher:
        self._searcher.refresh()  # another process may have updated the index
        return self._searcher

    # --- tools ---------------------------------------------------------------------------
    def search(self, query: str, mode: str | None, categories: tuple[str, ...],
               since: str | None, until: str | None, author: str | None, limit: int
               ) -> SearchResult:
        filters = Filters(categories=categories,
                          since=parse_day(since, "since") if since else None,
                          until=parse_day(until, "until") if until else None,
                          author=author or None)
        meaning_off = self.settings.embedder == "none"
        mode = mode or ("lexical" if meaning_off else "hybrid")
        try:
            if mode == "semantic" and meaning_off:
                raise QueryError("search by meaning is switched off on this instance "
                                 "(PAPERWIRE_EMBEDDER=none); use mode=lexical")
            results = self.searcher.search(query, limit=limit, filters=filters, mode=mode)
        except QueryError as exc:
            raise ToolError(str(exc)) from None
        return SearchResult(query=results.query, mode=results.mode,
                            hits=[search_hit(h) for h in results.hits], notes=results.notes)

    def trending(self, period: str, day: str | None, category: str | None, limit: int
                 ) -> TrendingResult:
        if category:
            try:
                check_filters(Filters(categories=(category,)), self.settings.extra_categories)
            except QueryError as exc:
                raise ToolError(str(exc)) from None
        when = parse_day(day) if day else self.store.latest_day()
        if when is None:
            raise ToolError("this instance holds no papers yet: run `paperwire ingest` first")
        page = rank(self.store, TrendingParams.from_settings(self.settings), period, when,
                    categories=(category,) if category else (), limit=limit)
        return TrendingResult(period=period, since=page.since.isoformat(),
                              until=page.until.isoformat(), total=page.total,
                              papers=[_trending_paper(n, s) for n, s in
                                      enumerate(page.items, 1)])

    def get_paper(self, raw_id: str) -> PaperDetail:
        p = self.visible_paper(raw_id)
        return PaperDetail.model_validate({
            **card_fields(p), "abstract": p.abstract, "version": p.version,
            "published": _iso(p.published), "updated": _iso(p.updated), "comments": p.comments,
            "journal_ref": p.journal_ref, "doi": p.doi, "license": p.license,
            "citations": Citations(bibtex=bibtex(p))})

    def similar(self, raw_id: str, limit: int) -> SimilarResult:
        paper = self.visible_paper(raw_id)
        return SimilarResult(arxiv_id=paper.arxiv_id,
                             papers=[search_hit(h) for h in self._nearest(paper, limit)])

    def _nearest(self, paper: Paper, limit: int) -> list[Hit]:
        # Nearest by meaning; by shared keywords where meaning is off or not yet indexed (as
        # the paper page's "similar papers" do).
        results: Results | None
        try:
            results = self.searcher.similar(paper.arxiv_id, limit=limit)
        except QueryError:
            results = None
        if results is None or not results.hits:
            text = f"{paper.title} {paper.abstract}"[:MAX_LIKE_TEXT_CHARS]
            try:
                results = self.searcher.like_text(text, limit=limit + 1, mode="lexical")
            except QueryError:  # nothing searchable in it: no similar papers, not an error
                return []
        return [h for h in results.hits if h.paper.arxiv_id != paper.arxiv_id][:limit]

    def visible_paper(self, raw_id: str) -> Paper:
        """The stored paper, unless it is unknown or hidden (then the same ToolError)."""
        try:
            arxiv_id, _ = parse_arxiv_id(raw_id)
        except InvalidRecord as exc:
            raise ToolError(str(exc)) from None
        paper = self.store.get_paper(arxiv_id)
        if paper is None or self.store.hidden_paper(arxiv_id) is not None:
            raise NotOnInstance(f"no paper {arxiv_id} on this instance")
        return paper

    # --- resources -----------------------------------------------------------------------
    def paper_markdown(self, raw_id: str) -> str:
        d = self.get_paper(raw_id)
        lines = [f"# {d.title}", "", f"**Authors:** {', '.join(d.authors)}  ",
                 f"**arXiv:** [{d.arxiv_id}]({d.abs_url}) · [PDF]({d.pdf_url})  ",
                 f"**Categories:** {', '.join(d.categories)} (primary {d.primary_category})  "]
        if d.date:
            lines.append(f"**Date:** {d.date}  ")
        for label, value in (("Comments", d.comments), ("Journal", d.journal_ref),
                             ("DOI", d.doi)):
            if value:
                lines.append(f"**{label}:** {value}  ")
        lines += ["", "## Abstract", "", d.abstract, "", "## Cite", "", "```bibtex",
                  d.citations.bibtex, "```", ""]
        return "\n".join(lines)

    def listing_markdown(self, day_text: str) -> str:
        day = parse_day(day_text)
        papers, total = self.store.papers_between(day, day, limit=LISTING_LIMIT)
        lines = [f"# Papers of {day.isoformat()}", "",
                 f"{total:,} papers" + (f"; the newest {len(papers)} here" if total > len(papers)
                                        else ""), ""]
        for p in papers:
            authors = ", ".join(p.authors[:4]) + (" et al." if len(p.authors) > 4 else "")
            lines.append(f"- [{p.arxiv_id}]({p.abs_url}) **{p.title}** — {authors} "
                         f"({p.primary_category})")
        return "\n".join(lines) + "\n"


def _trending_paper(n: int, s: Scored) -> TrendingPaper:
    return TrendingPaper.model_validate({
        **card_fields(s.paper), "rank": n, "score": round(s.score, 6), "votes": s.votes,
        "external": s.external, "explanation": s.explanation})

