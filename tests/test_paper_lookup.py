"""Store lookups for import matching: by DOI, and by (normalised title, first surname), on
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from paperwire.formats.citations import first_author_surname, normalise_title
from paperwire.store import Store, paper_lookup
from tests.helpers import paper


def stored(store: Store) -> None:
    store.write_batch([
        paper("2503.00001", title="Attention Is All You Need", authors=("Ashish Vaswani",),
              doi="10.48550/arXiv.2503.00001"),
        paper("2503.00002", title="Scaling $\\mathcal{O}(n)$ Transformers: A Study",
              authors=("Ada van der Berg", "B. Other"), doi="10.1145/ABC.123"),
        paper("2503.00003", title="Attention is all you need", authors=("Noam Shazeer",)),
        paper("2503.00004", title="Müller's Lemma", authors=("José Müller",)),
    ])


def test_papers_by_doi_compare_without_case(store: Store) -> None:
    stored(store)
    found = store.find_papers_by_dois(["10.1145/abc.123", "10.48550/ARXIV.2503.00001",
                                       "10.9999/nothing", ""])
    assert {doi: p.arxiv_id for doi, p in found.items()} == {
        "10.1145/abc.123": "2503.00002", "10.48550/ARXIV.2503.00001": "2503.00001"}


def test_papers_by_title_key(store: Store) -> None:
    stored(store)
    keys = [(normalise_title("ATTENTION is all you need!"), "vaswani"),
            (normalise_title("Attention Is All You Need"), "shazeer"),
            (normalise_title("Scaling {$\\mathcal{O}(n)$} Transformers: a study"),
             first_author_surname(["van der Berg, Ada"]) or ""),
            (normalise_title("Müller’s Lemma"), first_author_surname(["Müller, José"]) or ""),
            (normalise_title("Attention Is All You Need"), "nobody")]
    found = store.find_papers_by_title_keys(keys, normalise=normalise_title)
    assert {k: p.arxiv_id for k, p in found.items()} == {
        keys[0]: "2503.00001", keys[1]: "2503.00003", keys[2]: "2503.00002",
        keys[3]: "2503.00004"}


def test_many_keys_take_one_pass_over_the_titles(store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    stored(store)
    monkeypatch.setattr(paper_lookup, "_FEW_KEYS", 1)  # the scan path, on a small store
    keys = [("attention is all you need", "vaswani"), ("müller s lemma", "muller")]
    found = store.find_papers_by_title_keys(keys)
    assert {k: p.arxiv_id for k, p in found.items()} == {
        keys[0]: "2503.00001", keys[1]: "2503.00004"}


def test_plain_keys_agree_with_normalise_title_without_latex() -> None:
    for title in ("Attention Is All You Need", "BERT: Pre-training of Deep Bidirectional "
                  "Transformers", "Müller's Lemma — a note"):
        assert paper_lookup.plain_title_key(title) == normalise_title(title)
    for names in (["Ada Lovelace"], ["van der Berg, Ada"], ["José Müller"]):
        assert paper_lookup.surname_key(names) == first_author_surname(names)


def test_lookups_are_bounded(store: Store) -> None:
    with pytest.raises(ValueError, match="at most 20,000 DOIs"):
        store.find_papers_by_dois(f"10.1/{i}" for i in range(20_001))
    assert store.find_papers_by_title_keys([("", "x"), ("t", "")]) == {}
