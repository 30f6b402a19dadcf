"""Which new papers a saved-search alert sends: only those that pass its relevance tests.

An alert never pads its section to ``digest_size``. Among the papers its keywords find, one
is sent when

- the keyword test holds: its BM25 score is at least ``alert_min_share`` of the query's
  ceiling (``LexicalIndex.score_bound``);
- for an alert of up to ``alert_phrase_words`` words, the phrase test holds: its title or
  abstract has the alert's words in order and adjacent, as the keyword index analyses them
  ("multi-task learning" is not "multi-step ... reinforcement learning"; the index keeps no
  positions, so this is read from the paper's text), leaving out words that name one of
  its authors;
- where ``alert_min_similarity`` is above 0 and search by meaning is on, the meaning test
  holds: the cosine of the alert's query embedding to the paper's stored vector is at least
  that. A paper not embedded yet is judged without it, so a lagging embedder loses no paper.

The thresholds were measured on SciFact and on short alerts (bench/alert_threshold.py,
BENCHMARKS.md "Saved-search alert threshold"). No paper passing: the alert sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass

import numpy as np

from paperwire.index.lexical import analyse
from paperwire.models import Filters, Paper
from paperwire.search import Searcher
from paperwire.settings import Settings


@dataclass(frozen=True)
class AlertTest:
    """The thresholds; 0 turns a test off."""

    min_share: float
    min_similarity: float
    phrase_words: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertTest:
        return cls(settings.alert_min_share, settings.alert_min_similarity,
                   settings.alert_phrase_words)

    def passes(self, share: float, similarity: float | None) -> bool:
        """``similarity`` None: no meaning test for this paper (meaning off, or no vector)."""
        return share >= self.min_share and (similarity is None
                                            or similarity >= self.min_similarity)

    def phrase_of(self, query: str) -> list[str] | None:
        """The analysed words a paper must hold in order, or None: no phrase test."""
        words = analyse(query)
        return words if 1 < len(words) <= self.phrase_words else None


def has_phrase(words: Sequence[str], paper: Paper) -> bool:
    """Whether the paper's title or abstract, analysed, holds ``words`` in order and
    adjacent. Words naming one of its authors ("Kröger federated") are left out of the
    phrase: they matched the author, not the text."""
    names = set(analyse(" ".join(paper.authors)))
    phrase = [w for w in words if w not in names]
    if len(phrase) < 2:
        return True
    analysed, n = analyse(paper.title + " " + paper.abstract), len(phrase)
    return any(analysed[i:i + n] == phrase for i, word in enumerate(analysed)
               if word == phrase[0])


def similarities(searcher: Searcher, query: str, rows: Sequence[int]
                 ) -> dict[int, float] | None:
    """Cosine of ``query``'s embedding to each of ``rows``' stored vectors (rows without one
    are left out); None when search by meaning is off."""
    embedder = searcher.embedder
    if embedder is None:
        return None
    if not rows:
        return {}
    qvec = embedder.embed([query])[0].astype(np.float32)
    vectors = searcher.vectors
    found = vectors.vectors_of(np.asarray(rows, dtype=np.int64)) if vectors else None
    if found is None:
        found = searcher.store.get_embeddings(embedder.model, list(rows), embedder.dim)
    ids, vecs = found
    return dict(zip(ids.tolist(), (vecs.astype(np.float32) @ qvec).tolist(), strict=True))


def matching_rows(searcher: Searcher, test: AlertTest, query: str, filters: Filters,
                  size: int, hidden: Set[int] = frozenset(),
                  papers_of: Callable[[list[int]], Mapping[int, Paper]] | None = None
                  ) -> list[int]:
    """The rows (best first, at most ``size``) an alert for ``query`` sends within
    ``filters``; hidden rows never count. ``papers_of`` reads the candidates' papers for the
    phrase test (default: the searcher's store)."""
    text = " ".join(query.split())
    rows = [row for row, share in
            searcher.lexical.search(text, size + len(hidden), filters, normalised=True)
            if row not in hidden and share >= test.min_share][:size]
    phrase = test.phrase_of(text)
    if rows and phrase is not None:
        papers = (papers_of or searcher.store.get_papers_by_row)(rows)
        rows = [r for r in rows if r in papers and has_phrase(phrase, papers[r])]
    if not rows or test.min_similarity <= 0:
        return rows
    cosine = similarities(searcher, text, rows)
    if cosine is None:
        return rows
    return [row for row in rows if test.passes(1.0, cosine.get(row))]
