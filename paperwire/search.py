"""Search → hits: keyword (BM25), meaning (embeddings) and their fusion; similar papers.

Hybrid search takes the best ``CANDIDATES`` papers of each side, gives every candidate both
scores (a keyword-only candidate gets its exact cosine from its stored embedding, which the
vector backend keeps in memory: ``VectorBackend.vectors_of``; a meaning-only candidate scores
0 on keywords), normalises each side by its best score and ranks by ``alpha·keywords +
(1-alpha)·meaning``. ``alpha`` was tuned on SciFact's train split (bench/search_scifact.py;
BENCHMARKS.md has the numbers). Filters apply inside both sides, so a filtered search still
returns its best matches rather than whatever survived a cut. The embedder is loaded on
first use, once per process.
"""

from __future__ import annotations

import bisect
import contextlib
import re
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

import numpy as np

from paperwire.authors import searched_rows
from paperwire.errors import IndexDamaged, PaperwireError
from paperwire.index.backends import open_backend
from paperwire.index.embedder import Embedder
from paperwire.index.indexer import IndexPaths, document_text
from paperwire.index.lexical import LexicalIndex, analyse, lexical_version
from paperwire.index.minilm import DIM, MODEL
from paperwire.index.snippets import candidate_words, matched_words
from paperwire.index.vectors import VectorBackend
from paperwire.models import Filters, Paper, name_tokens, paper_day
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.taxonomy import CATEGORIES, OAI_SETS

Mode = Literal["hybrid", "lexical", "semantic"]
Ranked = tuple[int, float, float | None, float | None]  # row, fused, keyword, meaning
Sort = Literal["relevance", "date"]
MODES: tuple[str, ...] = ("hybrid", "lexical", "semantic")
SORTS: tuple[str, ...] = ("relevance", "date")
NO_FILTERS = Filters()
MAX_QUERY_CHARS = 1_000  # a pasted abstract goes through like_text, which allows more
MAX_LIKE_TEXT_CHARS = 20_000
CANDIDATES = 100  # per side, before fusion
MAX_RESULTS = 1_000  # deepest page a query can reach
BROAD_FILTER = 0.2  # above this share, backends that are not scans_allowed filter after
ALPHA = 0.5  # keyword weight in hybrid fusion; tuned on SciFact train (0.1…0.6)


class QueryError(PaperwireError):
    """The query or its filters cannot be searched; ``str()`` says what to change."""


@dataclass(frozen=True)
class Snippet:
    """A piece of the abstract with the query's words located (character spans)."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()

    def marked(self, start: str = "[", end: str = "]") -> str:
        out, last = [], 0
        for a, b in self.spans:
            out += [self.text[last:a], start, self.text[a:b], end]
            last = b
        out.append(self.text[last:])
        return "".join(out)


@dataclass(frozen=True)
class Hit:
    paper: Paper
    score: float
    keyword_score: float | None = None  # BM25, when the paper matched the words
    meaning_score: float | None = None  # cosine similarity to the query, when computed
    snippet: Snippet = Snippet("")

    def to_dict(self) -> dict[str, Any]:
        p = self.paper
        return {
            "arxiv_id": p.arxiv_id, "version": p.version, "title": p.title,
            "authors": list(p.authors), "categories": list(p.categories),
            "primary_category": p.primary_category,
            "date": _iso(paper_day(p)), "published": _iso(p.published),
            "abs_url": p.abs_url, "pdf_url": p.pdf_url,
            "score": round(self.score, 6),
            "keyword_score": None if self.keyword_score is None else round(self.keyword_score, 4),
            "meaning_score": None if self.meaning_score is None else round(self.meaning_score, 4),
            "snippet": self.snippet.text, "highlights": [list(s) for s in self.snippet.spans],
        }


@dataclass
class Results:
    query: str
    mode: str
    hits: list[Hit]
    took_ms: float = 0.0
    notes: list[str] = field(default_factory=list)
    matched: int | None = None  # papers holding a query word (None: by meaning, not counted)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "mode": self.mode, "took_ms": round(self.took_ms, 2),
                "notes": self.notes, "matched": self.matched,
                "hits": [h.to_dict() for h in self.hits]}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def check_filters(filters: Filters, extra_categories: Sequence[str] = ()) -> None:
    """Raise QueryError naming an unknown category or an impossible date range."""
    for code in filters.categories:
        if code not in CATEGORIES and code not in OAI_SETS and code not in extra_categories:
            raise QueryError(f"unknown category {code!r} (use an arXiv code such as cs.CL, "
                             "or an archive such as cs)")
    if filters.author is not None and not name_tokens(filters.author):
        # A name with no letters or digits ("%", "-") has nothing to match on: say so, rather
        # than build a query over no words.
        raise QueryError(f"author {filters.author!r} has no letters or digits to match")
    if filters.since and filters.until and filters.since > filters.until:
        raise QueryError(f"--since {filters.since} is after --until {filters.until}")
    # The keyword index stores days as nanosecond timestamps (years 1678 to 2261).
    for name, day in (("since", filters.since), ("until", filters.until)):
        if day is not None and not 1678 <= day.year <= 2261:
            raise QueryError(f"--{name} {day} is outside the years 1678 to 2261")


def _normalizer(scores: Any) -> Callable[[float], float]:
    """Divide by the side's best candidate score, so each side's best becomes 1. (Min-max
    scaling was tried too and scored lower on SciFact train: 0.7358 vs 0.7370.)"""
    best = max(scores) or 1.0
    return lambda x: max(0.0, x) / best


class Searcher:
    """Answers searches over one store and its indexes; cheap to keep for a process' life."""

    def __init__(self, store: Store, paths: IndexPaths,
                 embedder: Callable[[], Embedder] | None = None, *,
                 extra_categories: Sequence[str] = (),
                 vectors: VectorBackend | None = None) -> None:
        """Prefer ``from_settings``. Without ``vectors``, the default backend for the
        embedder's model is opened once the embedder has loaded."""
        self.store = store
        self.paths = paths
        self._make_embedder = embedder
        self._embedder: Embedder | None = None
        self._lexical: LexicalIndex | None = None
        self._vectors = vectors
        self.extra_categories = tuple(extra_categories)
        self.alpha = ALPHA
        self._stems: dict[str, str] = {}
        # (moderation version, hidden rows); None matches no version, so the first page reads.
        self._hidden: tuple[int | None, frozenset[int]] = (None, frozenset())
        # (links version, rows with code), for "has code" searches.
        self._code: tuple[object, frozenset[int]] = (None, frozenset())

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, *, meaning: bool = True,
                      embedder: Embedder | None = None) -> Searcher:
        """The Searcher of an instance: its indexes under ``settings.home``, the configured
        embedder (loaded on first use) and vector backend. ``meaning=False`` leaves both out
        (keyword search only); ``embedder`` supplies an embedder already loaded."""
        paths = IndexPaths.for_home(settings.home)
        load: Callable[[], Embedder] | None = None
        vectors: VectorBackend | None = None
        if embedder is not None:
            load = lambda: embedder  # noqa: E731
            vectors = open_backend(paths.root, embedder.model, embedder.dim, store=store,
                                   wanted=settings.vector_backend)
        elif meaning:
            load = embedder_factory(settings.embedder, settings.search_threads)
            # Every built-in runtime computes MiniLM, so the backend is known without
            # loading the model (index_version() must stay cheap).
            vectors = open_backend(paths.root, MODEL, DIM, store=store,
                                   wanted=settings.vector_backend) if load else None
        return cls(store, paths, load if meaning else None,
                   extra_categories=settings.extra_categories, vectors=vectors)

    def _stem(self, word: str) -> str:
        # Abstracts repeat their words; analysing each distinct word once keeps snippets cheap.
        stem = self._stems.get(word)
        if stem is None:
            analysed = analyse(word)
            stem = analysed[0] if analysed else ""
            if len(self._stems) > 200_000:
                self._stems.clear()
            self._stems[word] = stem
        return stem

    # --- the indexes, opened lazily and reopened when a writer replaced them -------------
    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            self._lexical = LexicalIndex(self.paths.lexical)
        return self._lexical

    @property
    def embedder(self) -> Embedder | None:
        if self._embedder is None and self._make_embedder is not None:
            self._embedder = self._make_embedder()
        return self._embedder

    @property
    def vectors(self) -> VectorBackend | None:
        """The vector backend (None when search by meaning is off)."""
        if self._make_embedder is None:
            return None
        if self._vectors is None:
            embedder = self.embedder
            if embedder is None:
                return None
            self._vectors = open_backend(self.paths.root, embedder.model, embedder.dim)
        return self._vectors

    def refresh(self) -> None:
        """Pick up index changes another process committed (the web calls this per request).
        A damaged index is not an error here: the searches that need it say so."""
        if self._lexical is not None:
            try:
                self._lexical.refresh()
            except IndexDamaged:
                self._lexical = None  # reopened (or found still damaged) by the next use
        if self._vectors is not None:
            with contextlib.suppress(IndexDamaged):
                self._vectors.refresh()

    def index_version(self) -> Hashable:
        """Changes whenever an index a search reads changes: the keyword index's sync state
        and the vector backend's version. One stat each; use it in cache keys."""
        vectors = self._vectors.version() if self._vectors is not None else None
        return (lexical_version(self.paths.lexical), vectors)

    # --- searching -----------------------------------------------------------------------
    def search(self, query: str, *, limit: int = 10, offset: int = 0,
               filters: Filters = NO_FILTERS, mode: str = "hybrid", sort: str = "relevance"
               ) -> Results:
        started = time.perf_counter()
        text = self._check(query, MAX_QUERY_CHARS, limit, offset, filters, mode, sort)
        filters = self._with_code_rows(filters)
        results = Results(query=text, mode=mode, hits=[])
        need = min(MAX_RESULTS, offset + limit) if sort == "relevance" else MAX_RESULTS // 5
        keyword: list[tuple[int, float]] = []
        matched = 0  # papers holding a query word, counted by the keyword pass
        if mode in ("hybrid", "lexical"):
            keyword, matched = self._keyword(text, max(need, CANDIDATES), filters, mode,
                                             results.notes)
            if not keyword and not analyse(text):
                results.notes.append("the query has no searchable words (only stopwords or "
                                     "punctuation); showing matches by meaning only")
        qvec = None
        if mode in ("hybrid", "semantic"):
            qvec = self._query_vector(text, results.notes, required=mode == "semantic")
        ranked = self._fuse(keyword, qvec, max(need, CANDIDATES), filters)
        results.hits = self._hits(ranked, text, sort, offset, limit)
        if keyword:
            results.matched = max(matched, len(keyword))
        results.took_ms = (time.perf_counter() - started) * 1000
        return results

    def similar(self, arxiv_id: str, *, limit: int = 10, filters: Filters = NO_FILTERS
                ) -> Results:
        """Papers nearest in meaning to a stored paper (the paper itself left out)."""
        started = time.perf_counter()
        paper = self.store.get_paper(arxiv_id)
        if paper is None:
            raise QueryError(f"no paper {arxiv_id!r} in this instance (ingest it first: "
                             f"paperwire ingest ids {arxiv_id})")
        check_filters(filters, self.extra_categories)
        filters = self._with_code_rows(filters)
        row = self.store.row_ids([arxiv_id])[arxiv_id]
        embedder = self._require_embedder()
        _, vectors = self._stored_vectors([row])
        qvec = vectors[0] if len(vectors) else embedder.embed(
            [document_text(paper.title, paper.abstract)])[0]
        ranked: list[Ranked] = [(r, s, None, s) for r, s in
                                self._semantic(qvec, limit + 1, filters) if r != row]
        results = Results(query=paper.title, mode="semantic", hits=[])
        results.hits = self._hits(ranked, paper.title, "relevance", 0, limit)
        results.took_ms = (time.perf_counter() - started) * 1000
        return results

    def like_text(self, text: str, *, limit: int = 10, filters: Filters = NO_FILTERS,
                  mode: str = "hybrid") -> Results:
        """Papers like a pasted abstract or passage."""
        started = time.perf_counter()
        text = self._check(text, MAX_LIKE_TEXT_CHARS, limit, 0, filters, mode, "relevance")
        filters = self._with_code_rows(filters)
        results = Results(query=text[:200], mode=mode, hits=[])
        keyword = (self._keyword(text, CANDIDATES, filters, mode, results.notes,
                                 count=False)[0] if mode != "semantic" else [])
        qvec = self._query_vector(text, [], required=True) if mode != "lexical" else None
        results.hits = self._hits(self._fuse(keyword, qvec, CANDIDATES, filters), text,
                                  "relevance", 0, limit)
        results.took_ms = (time.perf_counter() - started) * 1000
        return results

    # --- the parts ---------------------------------------------------------------------
    def _check(self, query: str, max_chars: int, limit: int, offset: int, filters: Filters,
               mode: str, sort: str) -> str:
        text = " ".join((query or "").split())
        if not text:
            raise QueryError("empty query: type some words, or use `paperwire similar ID` "
                             "to find papers like a known one")
        if len(text) > max_chars:
            raise QueryError(f"query is {len(text):,} characters (limit {max_chars:,}); to "
                             "search by a whole abstract use --like-text FILE")
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r} (choose {', '.join(MODES)})")
        if sort not in SORTS:
            raise QueryError(f"unknown sort {sort!r} (choose {', '.join(SORTS)})")
        if not 1 <= limit <= 200:
            raise QueryError(f"limit must be between 1 and 200 (got {limit})")
        if offset < 0 or offset + limit > MAX_RESULTS:
            raise QueryError(f"results go {MAX_RESULTS:,} deep; offset {offset} is too far")
        check_filters(filters, self.extra_categories)
        return text

    def _with_code_rows(self, filters: Filters) -> Filters:
        """``code`` as the row ids of papers with a code link (read again when links change),
        and ``author``, where it names identities, as their papers: so the indexes filter by
        them like any other row set."""
        if filters.author and (theirs := searched_rows(self.store, filters.author)) is not None:
            filters = replace(filters, author=None, rows=frozenset(
                theirs if filters.rows is None else filters.rows & theirs))
        if not filters.code:
            return filters
        version = self.store.links_version()
        if self._code[0] != version:
            self._code = (version, self.store.rows_with_code())
        rows = self._code[1] if filters.rows is None else filters.rows & self._code[1]
        return replace(filters, code=False, rows=rows)

    def _require_embedder(self) -> Embedder:
        embedder = self.embedder
        if embedder is None:
            raise QueryError("search by meaning is switched off on this instance")
        return embedder

    def _keyword(self, text: str, k: int, filters: Filters, mode: str, notes: list[str],
                 count: bool = True) -> tuple[list[tuple[int, float]], int]:
        """BM25 hits, and with ``count`` how many papers hold a query word (dear for a
        pasted abstract). A damaged keyword index: hybrid goes on by meaning, with a note."""
        try:
            lexical = self.lexical
            return lexical.counted_search(text, k, filters) if count else (
                lexical.search(text, k, filters), 0)
        except IndexDamaged as exc:
            if mode == "lexical":
                raise
            notes.append(f"{exc.public}; showing matches by meaning only")
            return [], 0

    def _query_vector(self, text: str, notes: list[str], *, required: bool
                      ) -> np.ndarray | None:
        vectors = self.vectors
        try:
            empty = vectors is None or len(vectors) == 0
        except IndexDamaged as exc:
            if required:
                raise
            notes.append(f"{exc.public}; showing keyword matches only")
            return None
        if empty:
            message = ("no papers are embedded yet: run `paperwire index`; "
                       "showing keyword matches only")
            if required:
                raise QueryError("no papers are embedded yet: run `paperwire index` first")
            notes.append(message)
            return None
        vector: np.ndarray = self._require_embedder().embed([text])[0]
        return vector

    def _semantic(self, qvec: np.ndarray, k: int, filters: Filters) -> list[tuple[int, float]]:
        vectors = self.vectors
        if vectors is None:
            return []
        if filters.empty:
            ids, scores = vectors.search(qvec, k)
            return list(zip(ids.tolist(), scores.tolist(), strict=True))
        allowed, matching = None, None  # None: no keyword index to list them; filter after
        with contextlib.suppress(IndexDamaged):  # the allowed are kept per filter: len is free
            allowed = self.lexical.allowed_rows(filters) if vectors.scans_allowed else None
            matching = len(allowed) if allowed is not None else self.lexical.count(filters)
        if matching is None or (allowed is None and matching > BROAD_FILTER * len(vectors)):
            # A broad filter (a big category) on a backend where each allowed id costs:
            # search wider and keep the allowed, rather than listing them all.
            share = max(matching if matching is not None else len(vectors) // 20, 1)
            ids, scores = vectors.search(qvec, int(k * 2 * len(vectors) / share))
            papers = self.store.get_papers_by_row(ids.tolist())
            kept = [(r, s) for r, s in zip(ids.tolist(), scores.tolist(), strict=True)
                    if r in papers and filters.matches(papers[r])
                    and (filters.rows is None or r in filters.rows)]
            if len(kept) >= k or matching is None:
                return kept[:k]
        if allowed is None:
            allowed = self.lexical.allowed_rows(filters, matching)
        ids, scores = vectors.search(qvec, k, allowed)
        return list(zip(ids.tolist(), scores.tolist(), strict=True))

    def _stored_vectors(self, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The stored vectors of those ``rows`` that have one: from the vector backend's own
        copy (no database read), else from the store."""
        vectors = self.vectors
        found = None if vectors is None else vectors.vectors_of(np.asarray(rows, np.int64))
        if found is None:
            embedder = self._require_embedder()
            found = self.store.get_embeddings(embedder.model, rows, embedder.dim)
        return found

    def _fuse(self, keyword: list[tuple[int, float]], qvec: np.ndarray | None, k: int,
              filters: Filters) -> list[Ranked]:
        """(row, fused score, keyword score, meaning score), best first."""
        if qvec is None:
            return [(r, s, s, None) for r, s in keyword]
        meaning = dict(self._semantic(qvec, k, filters))
        if not keyword:
            return [(r, s, None, s) for r, s in sorted(meaning.items(), key=lambda x: -x[1])]
        words = dict(keyword)
        missing = [r for r in words if r not in meaning]
        if missing:
            ids, vecs = self._stored_vectors(missing)
            meaning.update(zip(ids.tolist(), (vecs @ qvec).tolist(), strict=True))
        norm_words, norm_meaning = _normalizer(words.values()), _normalizer(meaning.values())
        fused = []
        for row in set(words) | set(meaning):
            w, m = words.get(row), meaning.get(row)
            score = (self.alpha * (norm_words(w) if w is not None else 0.0)
                     + (1 - self.alpha) * norm_meaning(m if m is not None else 0.0))
            fused.append((row, score, w, m))
        fused.sort(key=lambda x: (-x[1], x[0]))
        return fused

    def _hits(self, ranked: list[Ranked], text: str,
              sort: str, offset: int, limit: int) -> list[Hit]:
        # Papers a moderator hid leave search and similar papers; dropping them before the
        # page is cut keeps pages full. The hidden rows are kept by moderation version, which
        # comes back with the page's papers: one read per page unless a moderator acted.
        for _ in range(3):
            version, hidden = self._hidden
            visible = [r for r in ranked if r[0] not in hidden] if hidden else ranked
            pool = visible[:MAX_RESULTS // 5] if sort == "date" else \
                visible[offset:offset + limit]
            papers, current = self.store.papers_by_row_moderated(r[0] for r in pool)
            if current == version:
                break
            self._hidden = self.store.hidden_rows_moderated()
        if sort == "date":
            # Newest first among the best matches (not among everything that shares a word).
            pool = [r for r in pool if r[0] in papers]
            pool.sort(key=lambda r: (paper_day(papers[r[0]]) or date.min, r[1]), reverse=True)
            window = pool[offset:offset + limit]
        else:
            window = pool
        terms = set(analyse(text)) if text else set()
        words = candidate_words(terms)
        return [Hit(papers[r], s, w, m, self._snippet(papers[r].abstract, terms, words))
                for r, s, w, m in window if r in papers]

    def _snippet(self, abstract: str, terms: set[str], words: re.Pattern[str] | None = None,
                 width: int = 320) -> Snippet:
        marks = matched_words(abstract, terms, words, self._stem)
        if len(abstract) <= width:
            return Snippet(abstract, tuple(marks))
        # The window of the abstract with the most matched words, cut at word boundaries.
        start = 0
        if marks:
            # The mark that starts the window holding the most marks (they are in order).
            starts = [a for a, _ in marks]
            best = max(range(len(marks)),
                       key=lambda i: bisect.bisect_left(starts, starts[i] + width) - i)
            start = max(0, marks[best][0] - 40)
            start = abstract.rfind(" ", 0, start) + 1 if start else 0
        end = min(len(abstract), start + width)
        if end < len(abstract):
            end = max(abstract.rfind(" ", start, end), start + 1)
        prefix = "…" if start else ""
        suffix = "…" if end < len(abstract) else ""
        shift = len(prefix) - start
        spans = tuple((a + shift, b + shift) for a, b in marks if a >= start and b <= end)
        return Snippet(prefix + abstract[start:end] + suffix, spans)


def embedder_factory(name: str, threads: int = 0) -> Callable[[], Embedder] | None:
    """A loader for the configured embedder (None when search by meaning is off)."""
    if name == "none":
        return None

    def load() -> Embedder:
        from paperwire.index.embedder import load_embedder

        return load_embedder(name, threads=threads or None)

    return load
