"""Measure lexical retrieval candidates on SciFact: tune on train, report test, record the result.

Candidates: SQLite FTS5 bm25(), bm25s (+ PyStemmer), tantivy, PostgreSQL ts_rank/ts_rank_cd.
Each is tuned on SciFact *train* only; the best train setting is then scored on *test*. An
optional scale run (``--scale N[:engine+engine]``, repeatable) times the tuned engines on real
arXiv text grown to N papers: build time, index size, incremental add of 100 papers, query
latency, peak RSS. Latencies are the best of three passes: the machine is shared, and the
best pass is the one least disturbed by other work.

    .venv/bin/python bench/lexical_scifact.py                   # SciFact, writes BENCHMARKS.md
    .venv/bin/python bench/lexical_scifact.py --scale 300000 --scale 1000000:tantivy

This is a measuring harness, not paperwire code: the SQL below exists to compare engines, and
whatever wins gets implemented behind the Store (the one door to persistence).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import itertools
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from paperwire.evaluate import (
    BeirDoc,
    BeirSplit,
    evaluate,
    latency_percentiles,
    load_beir,
    run_search,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
SECTION = "## Lexical retrieval on SciFact"
K = 100
Hits = list[tuple[str, float]]

# Lucene's English stop list (33 words; also bm25s's and tantivy's "english"): the standard
# for BM25 baselines. Engines without top-k pruning (FTS5, ts_rank) pay for every match, and
# an OR over "the" matches nearly every document.
STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
    "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
    "these", "they", "this", "to", "was", "will", "with"))
WORD = re.compile(r"\w+")


def query_terms(text: str, stop: bool) -> list[str]:
    terms = dict.fromkeys(w.lower() for w in WORD.findall(text))  # dedupe, keep order
    return [t for t in terms if not (stop and t in STOPWORDS)]


# --- candidates ------------------------------------------------------------------------------
class Fts5:
    """SQLite FTS5, title and abstract as columns; k1=1.2, b=0.75 are fixed in SQLite."""

    name = "sqlite-fts5"
    build_grid = [{"tokenizer": t} for t in ("porter unicode61 remove_diacritics 2",
                                             "unicode61 remove_diacritics 2")]
    query_grid = [{"title_weight": w, "stop": s} for w in (1.0, 2.0, 3.0, 5.0)
                  for s in (True, False)]

    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "fts.db"
        self.db: sqlite3.Connection | None = None
        self.ids: list[str] = []

    def build(self, docs: Iterable[BeirDoc], tokenizer: str) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        # Contentless, as an external-content table over papers would be: index size only.
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, abstract, content='', "
                        f"tokenize='{tokenizer}')")
        self.ids = []
        self.add(docs)

    def add(self, docs: Iterable[BeirDoc]) -> None:
        assert self.db is not None
        rows = []
        for doc in docs:
            self.ids.append(doc.doc_id)
            rows.append((len(self.ids), doc.title, doc.text))
        with self.db:
            self.db.executemany("INSERT INTO docs(rowid, title, abstract) VALUES (?, ?, ?)",
                                rows)

    def search(self, text: str, k: int, title_weight: float, stop: bool) -> Hits:
        assert self.db is not None
        terms = query_terms(text, stop)
        if not terms:
            return []
        # Each term quoted: FTS5 query syntax (AND, NEAR, -, :) cannot be triggered by text.
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = self.db.execute("SELECT rowid, bm25(docs, ?, 1.0) AS s FROM docs "
                               "WHERE docs MATCH ? ORDER BY s LIMIT ?",
                               (title_weight, match, k)).fetchall()
        return [(self.ids[rowid - 1], -score) for rowid, score in rows]

    def size_bytes(self) -> int:
        assert self.db is not None
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return _du(self.path.parent, "fts.db")

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


class Bm25s:
    """bm25s (sparse-matrix BM25), title repeated to weight it; static index."""

    name = "bm25s"
    build_grid = [{"title_repeat": r, "k1": k1, "b": b, "pattern": p}
                  for r in (1, 2, 3, 4, 5) for k1 in (0.9, 1.2, 1.5)
                  for b in (0.75, 0.9, 1.0) for p in (r"(?u)\b\w\w+\b", r"(?u)\b\w+\b")]
    query_grid: list[dict[str, Any]] = [{}]

    def __init__(self, workdir: Path) -> None:
        import Stemmer

        self.workdir = workdir
        self.stemmer = Stemmer.Stemmer("english")
        self.retriever: Any = None
        self.ids: list[str] = []
        self.pattern = ""
        self._tokens: dict[tuple[int, str], list[list[str]]] = {}  # tokenise once per setting

    def _tokenize(self, texts: list[str], pattern: str) -> list[list[str]]:
        import bm25s

        tokens: list[list[str]] = bm25s.tokenize(
            texts, stopwords="en", stemmer=self.stemmer, token_pattern=pattern,
            return_ids=False, show_progress=False)
        return tokens

    def build(self, docs: Iterable[BeirDoc], title_repeat: int, k1: float, b: float,
              pattern: str) -> None:
        import bm25s

        docs = list(docs)
        key = (title_repeat, pattern)
        if key not in self._tokens:
            self._tokens = {key: self._tokenize(
                [" ".join([d.title] * title_repeat + [d.text]) for d in docs], pattern)}
        self.ids, self.pattern = [d.doc_id for d in docs], pattern
        self.params = (title_repeat, k1, b, pattern)
        self.retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
        self.retriever.index(self._tokens[key], show_progress=False)

    def add(self, docs: Iterable[BeirDoc]) -> None:
        # bm25s has no incremental add: the only way is a rebuild with the new documents.
        raise NotImplementedError

    def search(self, text: str, k: int) -> Hits:
        tokens = list(dict.fromkeys(self._tokenize([text], self.pattern)[0]))
        known = [t for t in tokens if t in self.retriever.vocab_dict]
        if not known:
            return []
        k = min(k, len(self.ids))
        docs, scores = self.retriever.retrieve([known], k=k, show_progress=False, n_threads=1)
        return [(self.ids[i], float(s)) for i, s in zip(docs[0], scores[0], strict=True)
                if s > 0]

    def size_bytes(self) -> int:
        target = self.workdir / "bm25s"
        shutil.rmtree(target, ignore_errors=True)
        self.retriever.save(str(target))
        return _du(target)

    def close(self) -> None:
        self._tokens = {}


class Tantivy:
    """tantivy (Lucene-like, block-max WAND); k1=1.2, b=0.75 fixed. Each field is scored and
    length-normalised on its own and the scores add up, so besides title + abstract fields it
    tries a ``body`` field (title and abstract as one text, the BEIR/Anserini baseline) with
    the title field added on top at a boost (0 = not at all)."""

    name = "tantivy"
    build_grid = [{"stop": s} for s in (True, False)]
    query_grid = [{"text_field": f, "title_boost": w} for f in ("abstract", "body")
                  for w in (0.0, 0.25, 0.5, 1.0, 2.0) if w or f == "body"]

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir / "tantivy"
        self.index: Any = None
        self.ids: list[str] = []

    def build(self, docs: Iterable[BeirDoc], stop: bool) -> None:
        import tantivy

        builder = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
                   .filter(tantivy.Filter.remove_long(40)).filter(tantivy.Filter.lowercase()))
        if stop:
            builder = builder.filter(tantivy.Filter.stopword("english"))
        self.analyzer = builder.filter(tantivy.Filter.stemmer("english")).build()
        schema = tantivy.SchemaBuilder()
        schema.add_unsigned_field("row", fast=True)  # would be papers.id
        schema.add_text_field("title", tokenizer_name="en", index_option="freq")
        schema.add_text_field("abstract", tokenizer_name="en", index_option="freq")
        schema.add_text_field("body", tokenizer_name="en", index_option="freq")
        self.schema = schema.build()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
        self.index = tantivy.Index(self.schema, path=str(self.workdir))
        self.index.register_tokenizer("en", self.analyzer)
        self.ids = []
        self.add(docs)

    def add(self, docs: Iterable[BeirDoc]) -> None:
        import tantivy

        writer = self.index.writer(heap_size=128_000_000, num_threads=1)
        for doc in docs:
            self.ids.append(doc.doc_id)
            record = tantivy.Document()
            record.add_unsigned("row", len(self.ids) - 1)  # Document(row=...) would be i64
            record.add_text("title", doc.title)
            record.add_text("abstract", doc.text)
            record.add_text("body", f"{doc.title} {doc.text}")
            writer.add_document(record)
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def search(self, text: str, k: int, text_field: str, title_boost: float) -> Hits:
        import tantivy

        terms = list(dict.fromkeys(self.analyzer.analyze(text)))
        if not terms:
            return []
        clauses = []
        for term in terms:
            if title_boost:
                title = tantivy.Query.term_query(self.schema, "title", term,
                                                 index_option="freq")
                if title_boost != 1.0:
                    title = tantivy.Query.boost_query(title, title_boost)
                clauses.append((tantivy.Occur.Should, title))
            clauses.append((tantivy.Occur.Should, tantivy.Query.term_query(
                self.schema, text_field, term, index_option="freq")))
        result = self.searcher.search(tantivy.Query.boolean_query(clauses), limit=k,
                                      count=False)
        rows = self.searcher.fast_field_values("row", [addr for _, addr in result.hits])
        return [(self.ids[row], score) for (score, _), row in
                zip(result.hits, rows, strict=True)]

    def size_bytes(self) -> int:
        return _du(self.workdir)

    def close(self) -> None:
        self.index = None


class Postgres:
    """PostgreSQL full text: weighted tsvector (title A, abstract B), GIN, ts_rank[_cd]."""

    name = "postgres-tsrank"
    build_grid: list[dict[str, Any]] = [{}]
    query_grid = [{"fn": f, "norm": n, "abstract_weight": w} for f in ("ts_rank", "ts_rank_cd")
                  for n in (0, 1, 32) for w in (0.4, 1.0)]

    def __init__(self, workdir: Path) -> None:
        import pgserver
        import psycopg

        self.server = pgserver.get_server(  # type: ignore[attr-defined]
            workdir / "pg", cleanup_mode="stop")
        self.conn = psycopg.connect(self.server.get_uri(), autocommit=True)
        self.ids: list[str] = []

    def build(self, docs: Iterable[BeirDoc]) -> None:
        self.conn.execute("DROP TABLE IF EXISTS docs")
        self.conn.execute(
            "CREATE TABLE docs (row integer PRIMARY KEY, title text, abstract text, "
            "tsv tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', title), 'A') "
            "|| setweight(to_tsvector('english', abstract), 'B')) STORED)")
        self.conn.execute("CREATE INDEX docs_tsv ON docs USING gin (tsv)")
        self.ids = []
        self.add(docs)
        self.conn.execute("ANALYZE docs")

    def add(self, docs: Iterable[BeirDoc]) -> None:
        rows = []
        for doc in docs:
            self.ids.append(doc.doc_id)
            rows.append((len(self.ids) - 1, doc.title, doc.text))
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO docs (row, title, abstract) VALUES (%s, %s, %s)", rows)

    def search(self, text: str, k: int, fn: str, norm: int, abstract_weight: float) -> Hits:
        terms = query_terms(text, stop=True)
        if not terms:
            return []
        weights = f"{{0.1, 0.2, {abstract_weight}, 1.0}}"  # D, C, B (abstract), A (title)
        sql = (f"SELECT row, {fn}(%s::float4[], tsv, q, %s) AS s "
               "FROM docs, to_tsquery('english', %s) q WHERE tsv @@ q ORDER BY s DESC LIMIT %s")
        rows = self.conn.execute(sql, (weights, norm, " | ".join(terms), k)).fetchall()
        return [(self.ids[row], float(score)) for row, score in rows]

    def size_bytes(self) -> int:
        row = self.conn.execute("SELECT pg_total_relation_size('docs')").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.conn.close()
        self.server.cleanup()


ENGINES: dict[str, type[Any]] = {c.name: c for c in (Fts5, Bm25s, Tantivy, Postgres)}


def _du(path: Path, only: str | None = None) -> int:
    files = [path / only] if only else [p for p in path.rglob("*") if p.is_file()]
    extra = [Path(f"{f}-wal") for f in files if only]
    return sum(f.stat().st_size for f in (*files, *extra) if f.exists())


# --- SciFact: tune on train, report test -------------------------------------------------------
def scifact(engine_names: Sequence[str], data: Path) -> list[dict[str, Any]]:
    train, test = load_beir(data, "train"), load_beir(data, "test")
    docs = list(test.iter_corpus())
    results = []
    for name in engine_names:
        with tempfile.TemporaryDirectory(prefix=f"lex-{name}-") as tmp:
            engine = ENGINES[name](Path(tmp))
            try:
                results.append(_tune_and_test(engine, docs, train, test))
            finally:
                engine.close()
    return results


def _search(engine: Any, query_params: dict[str, Any], text: str) -> Hits:
    hits: Hits = engine.search(text, K, **query_params)
    return hits


def _tune_and_test(engine: Any, docs: list[BeirDoc], train: BeirSplit, test: BeirSplit
                   ) -> dict[str, Any]:
    best: tuple[float, dict[str, Any], dict[str, Any]] = (-1.0, {}, {})
    started = time.perf_counter()
    for build_params in engine.build_grid:
        engine.build(docs, **build_params)
        for query_params in engine.query_grid:
            run, _ = run_search(functools.partial(_search, engine, query_params),
                                train.queries, K)
            score = evaluate(run, train.qrels)["ndcg@10"]
            if score > best[0]:
                best = (score, build_params, query_params)
    tuning_s = time.perf_counter() - started
    _, build_params, query_params = best
    started = time.perf_counter()
    engine.build(docs, **build_params)
    build_s = time.perf_counter() - started

    search = functools.partial(_search, engine, query_params)
    out: dict[str, Any] = {"engine": engine.name, "params": {**build_params, **query_params},
                           "configs": len(engine.build_grid) * len(engine.query_grid),
                           "tuning_s": tuning_s, "build_s": build_s,
                           "size_mb": engine.size_bytes() / 1e6}
    for split in (train, test):
        run_search(search, dict(itertools.islice(split.queries.items(), 20)), K)  # warm up
        run, _ = run_search(search, split.queries, K)
        out[split.split] = {**evaluate(run, split.qrels),
                            **best_latency(search, list(split.queries.values()))}
    print(f"  {engine.name}: train nDCG@10 {out['train']['ndcg@10']:.4f}, test "
          f"{out['test']['ndcg@10']:.4f} with {out['params']}", flush=True)
    return out


# --- scale: real arXiv text grown to N papers --------------------------------------------------
def arxiv_docs(n: int) -> Iterator[BeirDoc]:
    """N distinct papers from the 75k real ones: copy j pairs paper i's title with another
    paper's abstract, so posting lists grow like a real corpus's instead of repeating."""
    base = _arxiv_base()
    for i in range(n):
        copy, row = divmod(i, len(base))
        title = base[row][0]
        abstract = base[(row + copy * 7919) % len(base)][1]
        yield BeirDoc(f"{row}-{copy}", title, abstract)


@functools.cache
def _arxiv_base() -> list[tuple[str, str]]:
    path = DATA / "arxiv" / "arxiv-daily-75k.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [(r["title"], " ".join(r["summary"].split())) for r in map(json.loads, handle)]


def _peak_rss_mb() -> float:
    # VmHWM, not getrusage: ru_maxrss survives exec, so a child would report its parent's peak.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale_queries(count: int = 200) -> dict[str, list[str]]:
    """Titles of Hugging Face daily papers (real paper wording, not from the corpus), whole
    (a pasted title: the slow case for an OR query) and as their first three content words
    (what people type)."""
    path = DATA / "hf-daily-papers" / "daily-papers-2024-2026.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        titles = [json.loads(line)["item"]["paper"]["title"] for line in handle]
    titles = titles[:: max(1, len(titles) // count)][:count]
    return {"title": titles, "short": [" ".join(query_terms(t, stop=True)[:3]) for t in titles]}


def scale_worker(name: str, n: int, params: dict[str, Any]) -> dict[str, Any]:
    """One engine at one size, in its own process so peak RSS is its own."""
    queries = scale_queries()
    _arxiv_base()
    base_rss = _peak_rss_mb()
    build_keys = set().union(*(p.keys() for p in ENGINES[name].build_grid))
    build_params = {k: v for k, v in params.items() if k in build_keys}
    query_params = {k: v for k, v in params.items() if k not in build_keys}
    with tempfile.TemporaryDirectory(prefix=f"lex-scale-{name}-") as tmp:
        engine = ENGINES[name](Path(tmp))
        try:
            started = time.perf_counter()
            engine.build(arxiv_docs(n), **build_params)
            build_s = time.perf_counter() - started
            extra = [BeirDoc(f"new-{i}", d.title, d.text)
                     for i, d in enumerate(itertools.islice(arxiv_docs(n + 100), n, None))]
            started = time.perf_counter()
            try:
                engine.add(extra)
                add_s: float | None = time.perf_counter() - started
            except NotImplementedError:
                add_s = None
            search = functools.partial(_search, engine, query_params)
            latency: dict[str, float] = {}
            for kind, texts in queries.items():
                for text in texts[:20]:
                    search(text)  # warm up
                latency.update({f"{kind}_{p}": v for p, v in
                                best_latency(search, texts).items()})
            size = engine.size_bytes()
        finally:
            engine.close()
    peak = _peak_rss_mb()
    return {"engine": name, "docs": n, "build_s": build_s, "add100_s": add_s,
            "size_mb": size / 1e6, "peak_rss_mb": peak, "base_rss_mb": base_rss, **latency}


def best_latency(search: Any, texts: Sequence[str], passes: int = 3) -> dict[str, float]:
    """Per-query latency percentiles, each the lowest over ``passes`` passes."""
    best: dict[str, float] = {}
    for _ in range(passes):
        seconds = []
        for text in texts:
            started = time.perf_counter()
            search(text)
            seconds.append(time.perf_counter() - started)
        for name, value in latency_percentiles(seconds).items():
            best[name] = min(value, best.get(name, value))
    return best


def scale(results: list[dict[str, Any]], specs: Sequence[str]) -> list[dict[str, Any]]:
    """Run each ``N[:engine+engine]`` spec; by default every engine but PostgreSQL, which
    quality already rules out."""
    rows = []
    for spec in specs:
        size, _, only = spec.partition(":")
        names = only.split("+") if only else [n for n in ENGINES if n != Postgres.name]
        for result in results:
            if result["engine"] not in names:
                continue
            cmd = [sys.executable, __file__, "--scale-worker", result["engine"], "--scale-docs",
                   size, "--params", json.dumps(result["params"])]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  {rows[-1]}", flush=True)
    return rows


# --- report --------------------------------------------------------------------------------
def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                      if line.startswith("Model name")), model)
    except (OSError, subprocess.CalledProcessError):
        pass
    return (f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}")


def report(results: list[dict[str, Any]], scaled: list[dict[str, Any]]) -> str:
    lines = [SECTION, "",
             f"{dt.date.today().isoformat()} · {machine()} · `bench/lexical_scifact.py`", "",
             "Tuned on SciFact train (809 queries) by nDCG@10, reported on test (300 queries);"
             " one query at a time, one thread, k=100. Published BM25 on test: 0.665–0.687.",
             "",
             "| engine | best train setting | train nDCG@10 | train R@100 | train MRR@10 "
             "| test nDCG@10 | test R@100 | test MRR@10 | test p50 / p95 ms | build s | MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        tr, te = r["train"], r["test"]
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        lines.append(
            f"| {r['engine']} | {params} | {tr['ndcg@10']:.4f} | {tr['recall@100']:.4f} | "
            f"{tr['mrr@10']:.4f} | **{te['ndcg@10']:.4f}** | {te['recall@100']:.4f} | "
            f"{te['mrr@10']:.4f} | {te['p50_ms']:.2f} / {te['p95_ms']:.2f} | "
            f"{r['build_s']:.1f} | {r['size_mb']:.1f} |")
    if scaled:
        lines += ["", "Scale: real arXiv titles and abstracts (75k papers, recombined) grown to "
                  "N papers, each engine with its best SciFact setting, one thread; queries: "
                  "200 Hugging Face daily-paper titles whole, and their first three content "
                  "words; top 100. Peak RSS is the worker's high-water mark, build included; "
                  f"{scaled[0]['base_rss_mb']:.0f} MB of it is the harness and the 75k source "
                  "papers it holds.", "",
                  "| engine | papers | build s | add 100 papers s | index MB | title query p50 / "
                  "p95 ms | 3-word query p50 / p95 ms | peak RSS MB |",
                  "|---|---|---|---|---|---|---|---|"]
        for s in scaled:
            add = "rebuild only" if s["add100_s"] is None else f"{s['add100_s']:.2f}"
            lines.append(f"| {s['engine']} | {s['docs']:,} | {s['build_s']:.0f} | {add} | "
                         f"{s['size_mb']:.0f} | "
                         f"{s['title_p50_ms']:.1f} / {s['title_p95_ms']:.1f} | "
                         f"{s['short_p50_ms']:.1f} / {s['short_p95_ms']:.1f} | "
                         f"{s['peak_rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def write_section(text: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace this benchmark's section (or append it), leaving every other section alone."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = old.find(SECTION + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        nxt = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + ("\n" + old[nxt + 1:] if nxt >= 0 else "")
    path.write_text(new, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "beir" / "scifact")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--scale", action="append", default=[], metavar="N[:ENGINE+...]",
                        help="also time the tuned engines on N arXiv papers (repeatable)")
    parser.add_argument("--scale-docs", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--scale-worker", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_worker:
        print(json.dumps(scale_worker(args.scale_worker, args.scale_docs,
                                      json.loads(args.params))))
        return
    if not args.data.is_dir():
        sys.exit(f"SciFact not found at {args.data}; pass --data DIR (a BEIR folder)")
    results = scifact(args.engines.split(","), args.data)
    scaled = scale(results, args.scale)
    text = report(results, scaled)
    print("\n" + text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
