"""BM25 scores as a share of the query's ceiling: bounded, order-preserving, length-fair."""

from __future__ import annotations

from pathlib import Path

from paperwire.index.indexer import IndexPaths
from paperwire.index.lexical import LexicalIndex
from paperwire.store import Store
from tests.app import load_corpus
from tests.helpers import paper

PAPERS = [paper(f"2501.{i:05d}", title=title, abstract=abstract) for i, (title, abstract) in
          enumerate([("Multi-task learning", "Multi-task learning shares one encoder."),
                     ("Agents", "Multi-agent systems solve each task by learning."),
                     ("Vision", "Image classification with convolutions."),
                     ("Speech", "Speech recognition in noisy rooms."),
                     ("Graphs", "Graph neural networks for molecules.")], start=1)]


def test_normalised_scores_keep_the_order_and_stay_below_one(tmp_path: Path) -> None:
    with Store.from_url(f"sqlite:///{tmp_path / 'p.db'}") as store:
        load_corpus(store, tmp_path, papers=PAPERS, index=True)
        lexical = LexicalIndex(IndexPaths.for_home(tmp_path).lexical)
        raw = lexical.search("multi-task learning", 5)
        scaled = lexical.search("multi-task learning", 5, normalised=True)
        assert [r for r, _ in raw] == [r for r, _ in scaled] and len(raw) == 2
        assert all(0 < s < 1 for _, s in scaled)
        bound = lexical.score_bound(lexical.terms("multi-task learning"))
        assert abs(raw[0][1] / bound - scaled[0][1]) < 1e-9
        # A rarer word raises the ceiling more than a common one: the bound weighs by idf.
        assert lexical.score_bound(["speech"]) > lexical.score_bound(["learn"]) > 0
        assert lexical.score_bound([]) == 0
