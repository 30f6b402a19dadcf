"""Search on real arXiv papers: keywords, meaning, hybrid, filters, similar papers, incremental
indexing, and bad queries. Uses the real default embedder (skips if it is not installed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.index.indexer import IndexPaths, update_index
from paperwire.ingest import ingest
from paperwire.models import Filters, name_tokens
from paperwire.search import QueryError, Searcher
from paperwire.sources.files import JsonlSource
from paperwire.store import Store
from tests.app import load_corpus
from tests.shared_data import arxiv_lines, arxiv_records

N = 600


@pytest.fixture(scope="module")
def embedder(onnx_embedder):  # type: ignore[no-untyped-def]
    return onnx_embedder


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("search")
    with Store.from_url(f"sqlite:///{home / 'paperwire.db'}") as store:
        load_corpus(store, home, lines=arxiv_lines(N), index=True, embedder=embedder)
    yield home


@pytest.fixture
def searcher(home: Path, embedder) -> Iterator[Searcher]:  # type: ignore[no-untyped-def]
    store = Store.from_url(f"sqlite:///{home / 'paperwire.db'}")
    yield Searcher(store, IndexPaths.for_home(home), lambda: embedder)
    store.close()


def test_keyword_hits_contain_the_words_and_snippets_mark_them(searcher: Searcher) -> None:
    results = searcher.search("gaussian splatting", mode="lexical", limit=5)
    assert results.hits
    for hit in results.hits:
        text = (hit.paper.title + " " + hit.paper.abstract).lower()
        assert "gaussian" in text or "splatting" in text
        marked = [hit.snippet.text[a:b].lower() for a, b in hit.snippet.spans]
        assert marked and all(m.startswith(("gaussian", "splat")) for m in marked)
    scores = [h.score for h in results.hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("query", ["gaussian splatting", "language models", "the of"])
def test_one_counted_pass_gives_the_hits_and_the_count_of_two(searcher: Searcher,
                                                               query: str) -> None:
    lexical, cs = searcher.lexical, Filters(categories=("cs.CV",))
    for filters in (None, cs):
        hits, count = lexical.counted_search(query, 100, filters)
        assert hits == lexical.search(query, 100, filters)
        assert count == lexical.matches(query, filters)
    results = searcher.search("gaussian splatting", mode="lexical", limit=5)
    assert results.matched == lexical.matches("gaussian splatting") > len(results.hits)


def test_meaning_finds_a_paper_from_a_paraphrase(searcher: Searcher) -> None:
    record = arxiv_records(1)[0]  # sensor simulation with Gaussian splatting for driving
    query = "simulating cameras and lidar for self-driving car testing"
    ids = [h.paper.arxiv_id for h in searcher.search(query, mode="semantic", limit=5).hits]
    assert record["id"] in ids


def test_hybrid_fuses_both_sides(searcher: Searcher) -> None:
    hits = searcher.search("vision language model hallucination", limit=20).hits
    assert any(h.keyword_score is not None for h in hits)
    assert all(h.meaning_score is not None for h in hits)  # every candidate gets a cosine


def test_filters_hold_for_every_hit(searcher: Searcher) -> None:
    records = arxiv_records(N)
    record = next(r for r in records if len(r["authors"]) > 2)
    author = record["authors"][0]
    cases = [
        ("learning", Filters(categories=("cs.RO",))),
        ("learning", Filters(since=date(2025, 3, 19), until=date(2025, 3, 20))),
        (record["title"], Filters(author=author)),
    ]
    for query, filters in cases:
        for mode in ("lexical", "semantic", "hybrid"):
            hits = searcher.search(query, mode=mode, limit=20, filters=filters).hits
            assert hits, (filters, mode)
            for hit in hits:
                p = hit.paper
                if filters.categories:
                    assert "cs.RO" in p.categories
                if filters.since:
                    assert p.listed_on and date(2025, 3, 19) <= p.listed_on <= date(2025, 3, 20)
                if filters.author:
                    assert any(name_tokens(author) == name_tokens(a) for a in p.authors) or \
                        any(" ".join(name_tokens(author)) in " ".join(name_tokens(a))
                            for a in p.authors)


def test_sort_by_date_is_newest_first(searcher: Searcher) -> None:
    hits = searcher.search("diffusion", mode="lexical", sort="date", limit=20).hits
    days = [h.paper.listed_on for h in hits]
    assert days == sorted(days, reverse=True)


def test_similar_and_like_text(searcher: Searcher) -> None:
    record = arxiv_records(1, start=10)[0]
    similar = searcher.similar(record["id"], limit=5).hits
    assert similar and record["id"] not in [h.paper.arxiv_id for h in similar]
    like = searcher.like_text(record["summary"], limit=3).hits
    assert like[0].paper.arxiv_id == record["id"]


@pytest.mark.parametrize("query, message", [
    ("", "empty query"), ("   ", "empty query"), ("x" * 100_000, "limit 1,000"),
])
def test_bad_queries_are_refused_clearly(searcher: Searcher, query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        searcher.search(query)


def test_bad_filters_are_refused_clearly(searcher: Searcher) -> None:
    with pytest.raises(QueryError, match="unknown category 'cs.XX'"):
        searcher.search("x", filters=Filters(categories=("cs.XX",)))
    with pytest.raises(QueryError, match="after --until"):
        searcher.search("x", filters=Filters(since=date(2026, 1, 2), until=date(2026, 1, 1)))


def test_operators_and_quotes_are_just_text(searcher: Searcher) -> None:
    def found(query: str) -> list[str]:
        return [h.paper.arxiv_id for h in searcher.search(query, mode="lexical").hits]

    plain = found("gaussian splatting")
    assert plain
    # Quotes, boolean words, brackets, field names, +/- and wildcards are no query syntax:
    # they neither fail nor change what the words find ("-splatting" excludes nothing).
    for query in ['"gaussian splatting', "gaussian AND splatting (",
                  "title:gaussian -splatting +baz*"]:
        assert found(query) == plain, query
    assert found('"unbalanced') == found("unbalanced")
    # Nothing but operators and common words: no error, and nothing to find.
    assert found("AND OR NOT (") == found("the of and") == []


def test_adding_papers_indexes_only_those(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    lines = arxiv_lines(120, start=N)
    (tmp_path / "a.jsonl").write_text("".join(lines[:100]))
    (tmp_path / "b.jsonl").write_text("".join(lines[100:]))
    store = Store.from_url(f"sqlite:///{tmp_path / 'paperwire.db'}")
    paths = IndexPaths.for_home(tmp_path)
    try:
        ingest(JsonlSource(tmp_path / "a.jsonl"), store, progress=False)
        first = update_index(store, paths, embedder, progress=False)
        assert (first.lexical.added, first.embedded, first.vectors) == (100, 100, 100)
        ingest(JsonlSource(tmp_path / "b.jsonl"), store, progress=False)
        # Keyword search sees the new papers as soon as the keyword index syncs (seconds),
        # before any embedding.
        update_index(store, paths, None, progress=False)
        new = json.loads(lines[110])
        searcher = Searcher(store, paths, lambda: embedder)
        assert new["id"] in [h.paper.arxiv_id for h in
                             searcher.search(new["title"], mode="lexical", limit=3).hits]
        second = update_index(store, paths, embedder, progress=False)
        assert (second.lexical.added, second.embedded, second.vectors) == (0, 20, 120)
        assert not second.vectors_rebuilt
        # A new version of one paper re-embeds that paper only.
        paper = store.get_paper(new["id"])
        assert paper is not None
        store.write_batch([replace(paper, version=9, title=paper.title + " (revised)")])
        third = update_index(store, paths, embedder, progress=False)
        assert (third.lexical.updated, third.embedded, third.vectors) == (1, 1, 120)
        # The vector index survives a restart, and is rebuilt from the store if lost.
        paths.vectors(embedder.model).unlink()
        fourth = update_index(store, paths, embedder, progress=False)
        assert fourth.vectors_rebuilt and fourth.vectors == 120 and fourth.embedded == 0
    finally:
        store.close()


def test_cli_search_json_and_exit_codes(home: Path) -> None:
    runner = CliRunner()
    env = {"PAPERWIRE_EMBEDDER": "onnx-int8", "PAPERWIRE_PROGRESS": "0"}
    result = runner.invoke(cli, ["--home", str(home), "search", "robot grasping", "--json",
                                 "--limit", "3", "--category", "cs.RO"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["hits"]) == 3 and all("cs.RO" in h["categories"] for h in data["hits"])
    bad = runner.invoke(cli, ["--home", str(home), "search", "x", "--category", "cs.XX"],
                        env=env)
    assert bad.exit_code == 2 and "unknown category 'cs.XX'" in bad.output
    missing = runner.invoke(cli, ["--home", str(home), "similar", "2401.99999"], env=env)
    assert missing.exit_code == 2 and "no paper '2401.99999'" in missing.output


def test_ingested_papers_are_keyword_searchable_at_once(tmp_path: Path) -> None:
    lines = arxiv_lines(30, start=2000)
    (tmp_path / "new.jsonl").write_text("".join(lines))
    runner = CliRunner()
    env = {"PAPERWIRE_PROGRESS": "0", "PAPERWIRE_EMBEDDER": "none"}
    result = runner.invoke(cli, ["--home", str(tmp_path), "ingest", "jsonl",
                                 str(tmp_path / "new.jsonl")], env=env)
    assert result.exit_code == 0, result.output
    assert "keyword index: 30 added" in result.output
    wanted = json.loads(lines[7])
    found = runner.invoke(cli, ["--home", str(tmp_path), "search", wanted["title"], "--json",
                                "--limit", "3"], env=env)
    assert found.exit_code == 0, found.output
    assert wanted["id"] in [h["arxiv_id"] for h in json.loads(found.output)["hits"]]


def test_index_and_search_on_both_databases(store: Store, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.jsonl").write_text("".join(arxiv_lines(40, start=3000)))
    ingest(JsonlSource(tmp_path / "p.jsonl"), store, progress=False)
    paths = IndexPaths.for_home(tmp_path)
    report = update_index(store, paths, embedder, progress=False)
    assert (report.lexical.added, report.embedded, report.vectors) == (40, 40, 40)
    record = json.loads(arxiv_lines(1, start=3005)[0])
    searcher = Searcher(store, paths, lambda: embedder)
    for mode in ("lexical", "semantic", "hybrid"):
        hits = searcher.search(record["title"], mode=mode, limit=3).hits
        assert hits[0].paper.arxiv_id == record["id"], mode


def test_a_filters_allowed_rows_are_kept_until_the_index_changes(searcher: Searcher) -> None:
    """The keyword index lists a filter's papers once per index state: the same read-only
    array while nothing changed (vector search keys its bitmap by it), a fresh one after."""
    lexical = searcher.lexical
    broad, narrow = Filters(categories=("cs",)), Filters(categories=("cs.RO",))
    first = lexical.allowed_rows(broad)
    assert not first.flags.writeable and 0 < len(first) <= len(lexical)
    assert sorted(lexical.matching_rows(broad, len(lexical))) == first.tolist()
    assert lexical.allowed_rows(narrow) is not first
    assert lexical.allowed_rows(broad) is first
    lexical.reload()  # what a sync by another process leads to
    again = lexical.allowed_rows(broad)
    assert again is not first and again.tolist() == first.tolist()
