"""BEIR loading and IR metrics: measure any search callable on a relevance-judged collection.

A BEIR folder holds ``corpus.jsonl`` (``{"_id", "title", "text"}`` a line), ``queries.jsonl``
(``{"_id", "text"}`` a line) and ``qrels/<split>.tsv`` (header ``query-id corpus-id score``).
``load_beir`` checks all three before anything is indexed and raises SourceError naming the
file and line of the first problem; the corpus itself is streamed, never held in memory.

Search is measured through a plain callable, ``search(query_text) -> [(doc_id, score), ...]``
in rank order, so lexical, semantic and hybrid search are measured by the same code.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperwire.errors import ConfigError, SourceError

__all__ = [
    "METRICS",
    "RANKING_METRICS",
    "BeirDoc",
    "BeirSplit",
    "Qrels",
    "Run",
    "SearchFn",
    "evaluate",
    "evaluate_search",
    "iter_corpus",
    "latency_percentiles",
    "load_beir",
    "read_qrels",
    "read_queries",
    "run_search",
]

Run = dict[str, dict[str, float]]  # query id -> doc id -> score (higher is better)
Qrels = dict[str, dict[str, int]]  # query id -> doc id -> graded relevance (0 = judged not)
SearchFn = Callable[[str], Sequence[tuple[str, float]]]

METRICS = ("ndcg@10", "recall@100", "mrr@10")
RANKING_METRICS = ("mrr@10", "ndcg@10", "hit@10", "recall@50")  # eval recommend's
QRELS_HEADER = ("query-id", "corpus-id", "score")
_LAYOUT = "a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv"


@dataclass(frozen=True)
class BeirDoc:
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class BeirSplit:
    """One split of a BEIR folder, checked: its judged queries and qrels; the corpus streams."""

    root: Path
    split: str
    queries: dict[str, str]  # only the queries this split judges, in qrels order
    qrels: Qrels
    doc_count: int

    @property
    def corpus_path(self) -> Path:
        return self.root / "corpus.jsonl"

    def iter_corpus(self) -> Iterator[BeirDoc]:
        return iter_corpus(self.corpus_path)


# --- loading -------------------------------------------------------------------------------
def load_beir(root: Path | str, split: str = "test") -> BeirSplit:
    """Check a BEIR folder end to end and return the split, or raise SourceError saying where.

    Reads the corpus once for its ids (to check the qrels against them), so a broken folder
    fails in seconds instead of after an index has been built.
    """
    root = Path(root)
    if not root.is_dir():
        raise SourceError(f"{root}: not a directory ({_LAYOUT})")
    corpus, queries_path = root / "corpus.jsonl", root / "queries.jsonl"
    qrels_path = root / "qrels" / f"{split}.tsv"
    for path in (corpus, queries_path):
        if not path.is_file():
            raise SourceError(f"{path}: missing ({_LAYOUT})")
    if not qrels_path.is_file():
        found = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        have = f"splits found: {', '.join(found)}" if found else "no qrels/*.tsv found"
        raise SourceError(f"{qrels_path}: missing, no split {split!r} ({have})")
    doc_ids: set[str] = set()
    for doc in iter_corpus(corpus):
        doc_ids.add(doc.doc_id)
    all_queries = read_queries(queries_path)
    qrels = read_qrels(qrels_path, all_queries.keys(), doc_ids)
    queries = {qid: all_queries[qid] for qid in qrels}
    return BeirSplit(root=root, split=split, queries=queries, qrels=qrels,
                     doc_count=len(doc_ids))


def iter_corpus(path: Path) -> Iterator[BeirDoc]:
    """Stream a BEIR corpus; ``title`` may be absent (several BEIR sets have none)."""
    seen: dict[str, int] = {}
    for line_no, obj in _iter_jsonl(path):
        doc_id = _unique_id(obj, path, line_no, seen)
        title = _text_field(obj, "title", path, line_no, required=False)
        text = _text_field(obj, "text", path, line_no, required=True)
        yield BeirDoc(doc_id, title, text)


def read_queries(path: Path) -> dict[str, str]:
    """All queries of a BEIR ``queries.jsonl`` (every split's), id -> text."""
    queries: dict[str, str] = {}
    seen: dict[str, int] = {}
    for line_no, obj in _iter_jsonl(path):
        qid = _unique_id(obj, path, line_no, seen)
        queries[qid] = _text_field(obj, "text", path, line_no, required=True)
    return queries


def read_qrels(path: Path, query_ids: Container[str], doc_ids: Container[str]) -> Qrels:
    """Read ``qrels/<split>.tsv``; every id must exist in ``query_ids`` and ``doc_ids``
    else SourceError naming the line."""
    qrels: Qrels = {}
    lines: dict[tuple[str, str], int] = {}
    for line_no, line in _iter_lines(path):
        fields = line.rstrip("\r\n").split("\t")
        if line_no == 1:
            if tuple(f.strip().lower() for f in fields) != QRELS_HEADER:
                raise SourceError(f"{path} line 1: expected the header "
                                  f"'query-id<TAB>corpus-id<TAB>score', found {line.strip()!r}")
            continue
        if fields == [""]:
            continue  # blank line, typically a trailing one
        if len(fields) != 3:
            raise SourceError(f"{path} line {line_no}: expected 3 tab-separated fields "
                              f"(query-id, corpus-id, score), found {len(fields)}")
        qid, doc_id, raw_score = (f.strip() for f in fields)
        try:
            score = int(raw_score)
        except ValueError:
            raise SourceError(f"{path} line {line_no}: score {raw_score!r} is not an "
                              "integer") from None
        if qid not in query_ids:
            raise SourceError(f"{path} line {line_no}: query-id {qid!r} is not in "
                              "queries.jsonl")
        if doc_id not in doc_ids:
            raise SourceError(f"{path} line {line_no}: corpus-id {doc_id!r} is not in "
                              "corpus.jsonl")
        if (qid, doc_id) in lines:
            raise SourceError(f"{path} line {line_no}: duplicate judgement of {qid!r}, "
                              f"{doc_id!r} (first on line {lines[qid, doc_id]})")
        lines[qid, doc_id] = line_no
        qrels.setdefault(qid, {})[doc_id] = score
    if not qrels:
        raise SourceError(f"{path}: no judgements")
    return qrels


def _iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    # Binary, decoded a line at a time: a bad byte is reported with its line number, and
    # only b"\n" splits lines (text mode would also split on a stray \r inside a record).
    try:
        with path.open("rb") as handle:
            for line_no, raw in enumerate(handle, 1):
                try:
                    yield line_no, raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise SourceError(f"{path} line {line_no}: not UTF-8 ({exc.reason} "
                                      f"at byte {exc.start})") from None
    except FileNotFoundError:
        raise SourceError(f"{path}: missing ({_LAYOUT})") from None


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for line_no, line in _iter_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{path} line {line_no}: not valid JSON ({exc.msg} at column "
                              f"{exc.colno})") from None
        if not isinstance(obj, dict):
            raise SourceError(f"{path} line {line_no}: expected a JSON object, found "
                              f"{type(obj).__name__}")
        yield line_no, obj


def _field_id(obj: Mapping[str, Any], path: Path, line_no: int) -> str:
    value = obj.get("_id")
    # Some BEIR exports write numeric ids; qrels compare them as text.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise SourceError(f"{path} line {line_no}: missing required field '_id'")
    return value.strip()


def _unique_id(obj: Mapping[str, Any], path: Path, line_no: int, seen: dict[str, int]) -> str:
    """The line's ``_id``, recorded in ``seen``; SourceError if an earlier line had it."""
    value = _field_id(obj, path, line_no)
    if value in seen:
        raise SourceError(f"{path} line {line_no}: duplicate _id {value!r} "
                          f"(first on line {seen[value]})")
    seen[value] = line_no
    return value


def _text_field(obj: Mapping[str, Any], name: str, path: Path, line_no: int, *,
                required: bool) -> str:
    value = obj.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        what = "missing required field" if value is None else "expected a string in field"
        raise SourceError(f"{path} line {line_no}: {what} {name!r}")
    return value


# --- metrics -------------------------------------------------------------------------------
def evaluate(run: Mapping[str, Mapping[str, float]], qrels: Qrels,
             metrics: Sequence[str] = METRICS) -> dict[str, float]:
    """``metrics`` (by default nDCG@10, Recall@100 and MRR@10; also hit@10 = success@10 and
    recall@50) averaged over every query in ``qrels``.

    Computed by ir-measures (trec_eval's code underneath). A judged query missing from
    ``run`` counts as 0, unlike trec_eval, which silently averages over the queries the run
    answered and so flatters a system that errors on hard queries. Queries in ``run`` that
    ``qrels`` does not judge are ignored.
    """
    try:
        import ir_measures
    except ImportError:  # imported here: loading it costs CLI start-up time for every command
        raise ConfigError("evaluation needs ir-measures: pip install 'ir-measures>=0.4'"
                          ) from None
    if not qrels:
        raise ValueError("qrels judge no queries")
    known = {"ndcg@10": ir_measures.nDCG @ 10, "recall@100": ir_measures.R @ 100,
             "mrr@10": ir_measures.RR @ 10, "hit@10": ir_measures.Success @ 10,
             "recall@50": ir_measures.R @ 50}
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise ValueError(f"unknown metrics {unknown} (known: {', '.join(known)})")
    measures = {name: known[name] for name in metrics}
    by_measure = {measure: name for name, measure in measures.items()}
    answered = {qid: {d: float(s) for d, s in docs.items()}
                for qid, docs in run.items() if qid in qrels and docs}
    totals = dict.fromkeys(metrics, 0.0)
    if answered:
        judged = {qid: qrels[qid] for qid in answered}
        for metric in ir_measures.iter_calc(list(measures.values()), judged, answered):
            totals[by_measure[metric.measure]] += metric.value
    return {name: totals[name] / len(qrels) for name in metrics}


def latency_percentiles(seconds: Sequence[float], percentiles: Sequence[int] = (50, 95)
                        ) -> dict[str, float]:
    """``{"p50_ms": ..., "p95_ms": ...}`` from per-query times in seconds (linear
    interpolation between ranks, as numpy's default)."""
    if not seconds:
        raise ValueError("no latencies to summarise")
    ordered = sorted(seconds)
    result: dict[str, float] = {}
    for p in percentiles:
        if not 0 <= p <= 100:
            raise ValueError(f"percentile {p} is outside 0..100")
        pos = (len(ordered) - 1) * p / 100
        lo, hi = math.floor(pos), math.ceil(pos)
        value = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
        result[f"p{p}_ms"] = value * 1000.0
    return result


def run_search(search: SearchFn, queries: Mapping[str, str], k: int = 100
               ) -> tuple[Run, list[float]]:
    """Ask ``search`` every query; return the run (top ``k``) and each query's seconds.

    The run scores are derived from rank (k, k-1, ...), not taken from the hits: trec_eval
    re-sorts by score and breaks ties by doc id, which would measure an order other than
    the one ``search`` returned.
    """
    run: Run = {}
    seconds: list[float] = []
    for qid, text in queries.items():
        started = time.perf_counter()
        hits = search(text)
        seconds.append(time.perf_counter() - started)
        ranked: dict[str, float] = {}
        for doc_id, _score in hits:
            if len(ranked) == k:
                break
            ranked.setdefault(doc_id, float(k - len(ranked)))
        run[qid] = ranked
    return run, seconds


def evaluate_search(search: SearchFn, split: BeirSplit, k: int = 100) -> dict[str, float]:
    """Metrics, latency percentiles and the query count of ``search`` on a loaded split."""
    run, seconds = run_search(search, split.queries, k)
    return {**evaluate(run, split.qrels), **latency_percentiles(seconds),
            "queries": float(len(split.queries))}


# --- the product's own search, end to end ----------------------------------------------------
def load_corpus_into(store: Any, split: BeirSplit, batch: int = 2000) -> int:
    """Write a BEIR corpus into a (throwaway) store as papers keyed by their doc ids."""
    from paperwire.models import Paper

    count, pending = 0, []
    for doc in split.iter_corpus():
        pending.append(Paper(arxiv_id=doc.doc_id, title=" ".join(doc.title.split()),
                             abstract=" ".join(doc.text.split()), authors=(),
                             categories=("beir",), primary_category="beir", source="beir"))
        if len(pending) >= batch:
            count += store.write_batch(pending).total
            pending = []
    if pending:
        count += store.write_batch(pending).total
    return count


def evaluate_beir(root: Path | str, *, split: str = "test", mode: str = "hybrid",
                  embedder: Any = None, home: Path | None = None, progress: bool = False,
                  alpha: float | None = None) -> dict[str, float]:
    """Load a BEIR folder into a throwaway store (or reuse ``home``), index it with the
    product's indexer and answer every query with the product's Searcher."""
    import tempfile

    from paperwire.index.indexer import update_index
    from paperwire.search import Searcher
    from paperwire.settings import Settings
    from paperwire.store import Store

    data = load_beir(root, split)
    with tempfile.TemporaryDirectory(prefix="paperwire-beir-") as tmp:
        base = home or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        store = Store.from_url(f"sqlite:///{base / 'beir.db'}")
        try:
            if store.count_papers() != data.doc_count:
                load_corpus_into(store, data)
            use_embedder = embedder if mode != "lexical" else None
            searcher = Searcher.from_settings(Settings(home=base), store,
                                              meaning=use_embedder is not None,
                                              embedder=use_embedder)
            update_index(store, searcher.paths, use_embedder, progress=progress,
                         vectors=searcher.vectors)
            if alpha is not None:
                searcher.alpha = alpha

            def search(text: str) -> list[tuple[str, float]]:
                hits = searcher.search(text, limit=100, mode=mode).hits
                return [(h.paper.arxiv_id, h.score) for h in hits]

            return evaluate_search(search, data)
        finally:
            store.close()
