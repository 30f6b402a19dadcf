"""The citation parsers on real exports nobody here wrote (tests/fixtures/citations/real,
sources in its README). Every fact asserted was read off the files themselves."""

from __future__ import annotations

from pathlib import Path

from bench.citations_match_report import match_report
from paperwire.formats.citations import ParsedCitations, parse_citations, sniff_format
from paperwire.store import Store
from tests.helpers import paper

REAL = Path(__file__).resolve().parent / "fixtures" / "citations" / "real"


def parsed(name: str) -> ParsedCitations:
    return parse_citations((REAL / name).read_text(encoding="utf-8"))


def test_a_joss_papers_references() -> None:
    result = parsed("multivae-paper.bib")
    assert (len(result.entries), result.errors) == (30, ())
    entries = {e.key: e for e in result.entries}
    assert sorted(e.arxiv_id for e in result.entries if e.arxiv_id) == [
        "1312.6114", "1610.03454", "1611.01891", "1705.10762", "1911.03393", "2006.08242",
        "2207.02127", "2209.03048", "2305.11832"]
    assert sum(1 for e in result.entries if e.doi) == 11
    # An arXiv "Export BibTeX" entry: eprint + archivePrefix, and its arXiv DOI.
    suzuki = entries["suzuki:2016"]
    assert (suzuki.arxiv_id, suzuki.doi, suzuki.year, suzuki.line) == (
        "1611.01891", "10.48550/arxiv.1611.01891", 2016, 14)
    # Zotero's older arXiv import: the id only in journal = {arXiv:1705.10762 [cs, stat]}.
    assert entries["vedantam:2018"].arxiv_id == "1705.10762"
    # ... or in note = {arXiv:1312.6114 [cs, stat]}, with its keywords as tags.
    kingma = entries["kingma"]
    assert kingma.arxiv_id == "1312.6114" and kingma.authors == ("Diederik P. Kingma",
                                                                   "Max Welling")
    assert kingma.tags == ("Computer Science - Machine Learning",
                           "Statistics - Machine Learning")
    # journal = {ArXiv} with no id: nothing to match but the title.
    assert entries["tian:2019"].arxiv_id is None
    assert entries["wu:2018"].title == ("Multimodal Generative Models for Scalable "
                                        "Weakly-Supervised Learning")


def test_a_better_bibtex_zotero_library() -> None:
    result = parsed("zotero-bbt-llm-data-curation.bib")
    assert len(result.entries) + len(result.errors) == 92
    assert len(result.entries) == 86
    # Bare web snapshots (no title, no author) are named by line and key; the rest import.
    assert [(e.line, e.key) for e in result.errors] == [
        (862, "zotero-109"), (866, "zotero-113"), (873, "zotero-114"), (878, "zotero-117"),
        (884, "zotero-16"), (890, "zotero-198")]
    assert all("neither a title nor authors" in e.reason for e in result.errors)
    ids = [e.arxiv_id for e in result.entries if e.arxiv_id]
    assert len(ids) == 28 and len(set(ids)) == 24  # two exports of four papers
    assert {"2506.02208", "2503.08893", "2602.14878", "2305.13300"} <= set(ids)
    kdrl = next(e for e in result.entries if e.key == "xuKDRLPostTrainingReasoning2025")
    assert kdrl.title == ("KDRL: Post-Training Reasoning LLMs via Unified Knowledge "
                          "Distillation and Reinforcement Learning")
    assert (kdrl.arxiv_id, kdrl.doi, kdrl.year, kdrl.kind, kdrl.line) == (
        "2506.02208", "10.48550/arxiv.2506.02208", 2025, "misc", 469)
    assert kdrl.authors[:2] == ("Hongling Xu", "Qi Zhu") and len(kdrl.authors) == 9


def test_an_endnote_style_ris_with_wrapped_fields() -> None:
    text = (REAL / "graph-embedding-review.ris").read_text(encoding="utf-8")
    assert sniff_format(text) == "ris"
    result = parse_citations(text)
    assert (len(result.entries), result.errors) == (60, ())
    mixhop = result.entries[0]
    # TI wrapped onto a continuation line reads as one title.
    assert mixhop.title == ("MixHop: Higher-Order Graph Convolutional Architectures via "
                            "Sparsified Neighborhood Mixing")
    assert mixhop.authors[0] == "Sami Abu-El-Haija" and mixhop.year == 2019
    assert mixhop.kind == "MISC" and mixhop.arxiv_id is None
    arxiv = {e.arxiv_id: e.line for e in result.entries if e.arxiv_id}
    assert arxiv == {"1611.07308": 1301, "2109.08031": 1426}
    assert sum(1 for e in result.entries if e.doi) == 52
    gae = next(e for e in result.entries if e.arxiv_id == "1611.07308")
    assert gae.title == "Variational Graph Auto-Encoders"
    assert gae.doi == "10.48550/arxiv.1611.07308"


def test_a_script_written_ris_with_a_nonstandard_note_tag() -> None:
    result = parsed("utah-lake-zotero-doi.ris")
    assert (len(result.entries), result.errors) == (60, ())
    assert all(e.doi for e in result.entries) and not any(e.arxiv_id for e in result.entries)
    first = result.entries[0]
    assert first.doi == "10.3390/hydrology5010008" and first.kind == "GEN"
    # "NOTE - PDF file: ..." is the record's note, not part of its URL.
    assert first.note == "PDF file: Abu-Hmeidan2017_ULSed.pdf"
    assert first.authors == ("Hani Abu-Hmeidan", "Gustavious Williams", "A. Miller")


def test_the_match_report_counts_each_way_an_entry_matches(store: Store) -> None:
    store.write_batch([
        paper("2506.02208"),  # the KDRL entry's eprint
        paper("2501.00002", doi="10.3390/HYDROLOGY5010008"),  # utah-lake's first DOI
        paper("2501.00003", title="MixHop: Higher-Order Graph Convolutional Architectures "
              "via Sparsified Neighborhood Mixing", authors=("Sami Abu-El-Haija", "B. P.")),
    ])
    reports = {r.name: r for r in match_report(store, sorted(REAL.glob("*.*[bs]")))}
    assert set(reports) == {"graph-embedding-review.ris", "multivae-paper.bib",
                            "utah-lake-zotero-doi.ris", "zotero-bbt-llm-data-curation.bib"}
    bbt, utah, graph = (reports["zotero-bbt-llm-data-curation.bib"],
                        reports["utah-lake-zotero-doi.ris"], reports["graph-embedding-review.ris"])
    assert (bbt.entries, bbt.rejected, bbt.by_arxiv_id, bbt.unmatched) == (86, 6, 1, 85)
    assert (utah.by_doi, utah.unmatched, utah.with_doi) == (1, 59, 60)
    assert (graph.by_title, graph.by_doi, graph.unmatched) == (1, 0, 59)
