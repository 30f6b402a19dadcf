"""BEIR loading errors name the file and line; metrics match values worked out by hand."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from paperwire.errors import SourceError
from paperwire.evaluate import (
    BeirDoc,
    evaluate,
    evaluate_search,
    latency_percentiles,
    load_beir,
    run_search,
)

CORPUS = [
    {"_id": "d1", "title": "Aspirin and heart attacks", "text": "Aspirin lowers risk."},
    {"_id": "d2", "title": "Statins", "text": "Statins lower cholesterol."},
    {"_id": "d3", "text": "A document without a title."},
]
QUERIES = [
    {"_id": "q1", "text": "does aspirin prevent heart attacks"},
    {"_id": "q2", "text": "statins and cholesterol"},
    {"_id": "q3", "text": "a query judged only in train"},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n"


def write_beir(root: Path, corpus: list[str] | None = None, queries: list[str] | None = None,
               qrels: str | None = QRELS, split: str = "test") -> Path:
    """A small BEIR folder; each file may be replaced by raw lines (None keeps the good one)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = corpus if corpus is not None else [json.dumps(d) for d in CORPUS]
    (root / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = queries if queries is not None else [json.dumps(q) for q in QUERIES]
    (root / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if qrels is not None:
        (root / "qrels").mkdir(exist_ok=True)
        (root / "qrels" / f"{split}.tsv").write_text(qrels, encoding="utf-8")
    return root


# --- loading -------------------------------------------------------------------------------
def test_loads_a_good_folder(tmp_path: Path) -> None:
    split = load_beir(write_beir(tmp_path / "beir"), "test")
    assert split.queries == {"q1": QUERIES[0]["text"], "q2": QUERIES[1]["text"]}  # judged only
    assert split.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1}}
    assert split.doc_count == 3
    docs = list(split.iter_corpus())
    assert docs[0] == BeirDoc("d1", "Aspirin and heart attacks", "Aspirin lowers risk.")
    assert docs[2].title == ""  # title is optional in BEIR


def test_missing_queries_file_is_named(tmp_path: Path) -> None:
    root = write_beir(tmp_path / "beir")
    (root / "queries.jsonl").unlink()
    with pytest.raises(SourceError, match=r"queries\.jsonl: missing"):
        load_beir(root)


def test_missing_split_lists_the_splits_there(tmp_path: Path) -> None:
    root = write_beir(tmp_path / "beir", split="train")
    with pytest.raises(SourceError, match=r"test\.tsv: missing.*splits found: train"):
        load_beir(root, "test")


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    corpus = [json.dumps(CORPUS[0]), json.dumps(CORPUS[1]), '{"_id": "d3", "text": "cut']
    root = write_beir(tmp_path / "beir", corpus=corpus)
    with pytest.raises(SourceError, match=r"corpus\.jsonl line 3: not valid JSON"):
        load_beir(root)


def test_missing_field_names_file_and_line(tmp_path: Path) -> None:
    queries = [json.dumps(QUERIES[0]), json.dumps({"_id": "q2"}), json.dumps(QUERIES[2])]
    root = write_beir(tmp_path / "beir", queries=queries)
    with pytest.raises(SourceError, match=r"queries\.jsonl line 2: missing required field "
                                          r"'text'"):
        load_beir(root)


def test_duplicate_doc_id_names_both_lines(tmp_path: Path) -> None:
    corpus = [json.dumps(d) for d in CORPUS] + [json.dumps(CORPUS[1])]
    root = write_beir(tmp_path / "beir", corpus=corpus)
    with pytest.raises(SourceError, match=r"corpus\.jsonl line 4: duplicate _id 'd2' "
                                          r"\(first on line 2\)"):
        load_beir(root)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    root = write_beir(tmp_path / "beir")
    with (root / "corpus.jsonl").open("ab") as handle:
        handle.write(b'{"_id": "d4", "text": "caf\xe9"}\n')
    with pytest.raises(SourceError, match=r"corpus\.jsonl line 4: not UTF-8"):
        load_beir(root)


def test_qrels_unknown_doc_id_names_file_and_line(tmp_path: Path) -> None:
    root = write_beir(tmp_path / "beir", qrels=QRELS + "q2\tnope\t1\n")
    with pytest.raises(SourceError, match=r"qrels/test\.tsv line 4: corpus-id 'nope' is not "
                                          r"in corpus\.jsonl"):
        load_beir(root)


def test_qrels_unknown_query_id_names_file_and_line(tmp_path: Path) -> None:
    root = write_beir(tmp_path / "beir", qrels="query-id\tcorpus-id\tscore\nq9\td1\t1\n")
    with pytest.raises(SourceError, match=r"test\.tsv line 2: query-id 'q9' is not in "
                                          r"queries\.jsonl"):
        load_beir(root)


@pytest.mark.parametrize(("qrels", "message"), [
    ("q1\td1\t1\n", r"line 1: expected the header"),
    ("query-id\tcorpus-id\tscore\nq1 d1 1\n", r"line 2: expected 3 tab-separated fields"),
    ("query-id\tcorpus-id\tscore\nq1\td1\thigh\n", r"line 2: score 'high' is not an integer"),
    ("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t2\n",
     r"line 3: duplicate judgement .*first on line 2"),
    ("query-id\tcorpus-id\tscore\n", r"no judgements"),
])
def test_malformed_qrels(tmp_path: Path, qrels: str, message: str) -> None:
    root = write_beir(tmp_path / "beir", qrels=qrels)
    with pytest.raises(SourceError, match=message):
        load_beir(root)


# --- metrics -------------------------------------------------------------------------------
def test_relevant_doc_at_rank_two() -> None:
    got = evaluate({"q1": {"d2": 3.0, "d1": 2.0, "d3": 1.0}}, {"q1": {"d1": 1}})
    assert got["mrr@10"] == pytest.approx(0.5)
    assert got["ndcg@10"] == pytest.approx(1 / math.log2(3))  # ideal DCG is 1
    assert got["recall@100"] == pytest.approx(1.0)


def test_averages_over_every_judged_query() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"a": 1, "b": 1}, "q3": {"x": 1}}
    # q2: "a" first, "b" at rank 101, past both cut-offs; q3 is not answered at all.
    q2 = {"a": 200.0, **{f"filler{i}": 100.0 - i for i in range(99)}, "b": 0.5}
    run = {"q1": {"d2": 3.0, "d1": 2.0}, "q2": q2, "q9": {"d1": 1.0}}  # q9 is not judged
    got = evaluate(run, qrels)
    ndcg_q1 = 1 / math.log2(3)
    ndcg_q2 = 1 / (1 + 1 / math.log2(3))  # DCG 1; ideal has both relevant at ranks 1 and 2
    assert got["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2 + 0) / 3)
    assert got["mrr@10"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert got["recall@100"] == pytest.approx((1 + 0.5 + 0) / 3)


def test_graded_relevance_uses_linear_gain() -> None:
    # trec_eval (and so BEIR's published numbers) use the grade itself as gain, not 2^g - 1.
    got = evaluate({"q": {"low": 3.0, "none": 2.0, "high": 1.0}}, {"q": {"high": 2, "low": 1}})
    dcg = 1 / math.log2(2) + 2 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert got["ndcg@10"] == pytest.approx(dcg / ideal)
    assert got["mrr@10"] == pytest.approx(1.0)


def test_nothing_retrieved_scores_zero() -> None:
    assert evaluate({}, {"q1": {"d1": 1}}) == {"ndcg@10": 0.0, "recall@100": 0.0,
                                                "mrr@10": 0.0}


def test_run_follows_rank_order_not_scores() -> None:
    # A search may return equal or odd scores; the order it returned is what a user sees.
    hits = [("d2", 0.0), ("d1", 5.0), ("d2", 9.0), ("d3", 1.0)]
    run, seconds = run_search(lambda _text: hits, {"q1": "anything"}, k=2)
    assert list(run["q1"]) == ["d2", "d1"]  # the duplicate is dropped, then cut at k
    assert run["q1"]["d2"] > run["q1"]["d1"]
    assert len(seconds) == 1
    assert evaluate(run, {"q1": {"d1": 1}})["mrr@10"] == pytest.approx(0.5)


def test_latency_percentiles_interpolate() -> None:
    got = latency_percentiles([0.004, 0.001, 0.003, 0.002])
    assert got["p50_ms"] == pytest.approx(2.5)
    assert got["p95_ms"] == pytest.approx(3.85)  # 3 + 0.85 * (4 - 3)
    with pytest.raises(ValueError):
        latency_percentiles([])


def test_evaluate_search_end_to_end(tmp_path: Path) -> None:
    split = load_beir(write_beir(tmp_path / "beir"))
    docs = list(split.iter_corpus())

    def words(text: str) -> set[str]:
        return set(re.findall(r"\w+", text.lower()))

    def search(text: str) -> list[tuple[str, float]]:
        scored = [(d.doc_id, float(len(words(text) & words(f"{d.title} {d.text}"))))
                  for d in docs]
        return sorted((hit for hit in scored if hit[1] > 0), key=lambda h: -h[1])

    got = evaluate_search(search, split)
    assert got["queries"] == 2
    assert got["mrr@10"] == pytest.approx(1.0)
    assert got["ndcg@10"] == pytest.approx(1.0)
    assert got["p95_ms"] >= got["p50_ms"] >= 0
