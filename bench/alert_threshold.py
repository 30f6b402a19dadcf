"""Measure the relevance thresholds of saved-search alerts: choose on SciFact train, report test.

An alert must send only papers that match, never pad to ``digest_size`` with off-topic
ones (paperwire/alerts.py). Two tests: the keyword test (BM25 as a share of the query's
ceiling, ``LexicalIndex.search(normalised=True)``, at least theta) and the meaning test
(cosine of the query's MiniLM embedding to the paper's stored vector, at least tau). This
script picks theta and tau with the best F1 on SciFact's *train* judgements (keywords
alone, meaning alone, both), then reports precision, recall, F1 and the share of empty
alerts on *test*, beside sending the top 10 unconditionally (the old behaviour), all in one
run. SciFact's queries are long claims and alerts are 1-4 words, so, given a home with the
75k arXiv sample embedded, it also runs short alerts over one week of it, each paper judged
on-topic by a plain reading of its title and abstract (the phrase's patterns below).

    .venv/bin/python bench/alert_threshold.py [--home /path/to/75k-home] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from paperwire.alerts import AlertTest, has_phrase, similarities
from paperwire.evaluate import load_beir, load_corpus_into
from paperwire.index.embedder import Embedder, load_embedder
from paperwire.index.indexer import IndexPaths, update_index
from paperwire.models import Filters
from paperwire.search import Searcher
from paperwire.settings import Settings
from paperwire.store import Store

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "data" / "beir" / "scifact"
SECTION = "## Saved-search alert threshold"
TOP = 10
THETAS = [round(0.02 * i, 2) for i in range(0, 31)]
TAUS = [round(0.02 * i, 2) for i in range(0, 36)]
# Short alerts and what a reader would call on-topic (title or abstract): one set over one
# week chooses the cosine threshold for short alerts, another set over the next week reports.
SHORT_TRAIN = {
    "object detection": r"object detection|detector",
    "large language models": r"language model|\bLLMs?\b",
    "contrastive learning": r"contrastive",
    "image segmentation": r"segment",
    "time series": r"time[- ]series",
    "quantization": r"quantiz",
    "neural radiance fields": r"radiance field|\bNeRFs?\b",
    "question answering": r"question answering|\bQA\b",
    "code generation": r"code generation|generat\w* code",
    "anomaly detection": r"anomal",
}
SHORT = {
    "multi-task learning": r"multi-?task",
    "graph neural networks": r"graph neural|\bGNNs?\b",
    "diffusion models": r"diffusion",
    "speech recognition": r"speech recognition|\bASR\b",
    "reinforcement learning": r"reinforcement learning|\bRL\b",
    "knowledge distillation": r"distill",
    "federated learning": r"federated",
    "point cloud": r"point[- ]cloud",
    "machine translation": r"machine translation|\bNMT\b|\bMT\b",
    "retrieval augmented generation": r"retrieval[- ]augmented|\bRAG\b",
    "mixture of experts": r"mixture[- ]of[- ]experts|\bMoE\b",
    "protein": r"protein",
}
PHRASE = AlertTest(0.0, 0.0, 4)  # the phrase test as the settings default it
# query -> (doc, share, cosine, passes the phrase test)
Run = dict[str, list[tuple[str, float, float | None, bool]]]


def scored(searcher: Searcher, queries: dict[str, str], filters: Filters | None = None
           ) -> Run:
    """Each query's keyword top 10 as (paper id, share, cosine, phrase test)."""
    runs: Run = {}
    for qid, text in queries.items():
        ranked = searcher.lexical.search(text, TOP, filters, normalised=True)
        cosine = similarities(searcher, text, [r for r, _ in ranked]) or {}
        papers = searcher.store.get_papers_by_row([r for r, _ in ranked])
        phrase = PHRASE.phrase_of(text)
        runs[qid] = [(papers[r].arxiv_id, s, cosine.get(r), phrase is None or has_phrase(
            phrase, papers[r])) for r, s in ranked]
    return runs


def measure(runs: Run, wanted: dict[str, set[str]], test: AlertTest) -> dict[str, float]:
    kept = hits = relevant = empty = 0
    for qid, ranked in runs.items():
        chosen = [d for d, s, c, ph in ranked
                  if test.passes(s, c) and (ph or not test.phrase_words)]
        kept += len(chosen)
        hits += sum(d in wanted[qid] for d in chosen)
        relevant += len(wanted[qid])
        empty += not chosen
    precision = hits / kept if kept else 0.0
    recall = hits / relevant if relevant else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"theta": test.min_share, "tau": test.min_similarity, "precision": precision,
            "recall": recall, "f1": f1, "sent": kept / len(runs), "sent_total": kept,
            "hits": hits, "empty": empty / len(runs)}


def best(runs: Run, wanted: dict[str, set[str]], thetas: list[float], taus: list[float]
         ) -> AlertTest:
    tests = [AlertTest(theta, tau) for theta in thetas for tau in taus]
    return max(tests, key=lambda t: measure(runs, wanted, t)["f1"])


def scifact(embedder: Embedder) -> dict[str, Any]:
    train, test = load_beir(SCIFACT, "train"), load_beir(SCIFACT, "test")
    with tempfile.TemporaryDirectory(prefix="alert-threshold-") as tmp:
        home = Path(tmp)
        with Store.from_url(f"sqlite:///{home / 'beir.db'}") as store:
            load_corpus_into(store, train)
            paths = IndexPaths.for_home(home)
            update_index(store, paths, embedder, progress=False)
            searcher = Searcher(store, paths, lambda: embedder)
            train_runs = scored(searcher, train.queries)
            test_runs = scored(searcher, test.queries)
    want = {split: {q: {d for d, g in s.qrels[q].items() if g > 0} for q in s.queries}
            for split, s in (("train", train), ("test", test))}
    chosen = {"keywords": best(train_runs, want["train"], THETAS, [0.0]),
              "meaning": best(train_runs, want["train"], [0.0], TAUS),
              "both": best(train_runs, want["train"], THETAS, TAUS)}
    return {"chosen": chosen, "train": {k: measure(train_runs, want["train"], t)
                                        for k, t in chosen.items()},
            "test": {k: measure(test_runs, want["test"], t) for k, t in chosen.items()},
            "padded": measure(test_runs, want["test"], AlertTest(0.0, 0.0)),
            "test_at": lambda t: measure(test_runs, want["test"], t)}


def short_alerts(home: Path, embedder: Embedder, days: tuple[dt.date, dt.date],
                 alerts: dict[str, str]) -> tuple[Run, dict[str, set[str]]]:
    """Every short alert over one week. "Relevant" is what the keyword top 10 holds
    on-topic (a week's full judgement is out of reach), so recall is within the top 10."""
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'paperwire.db'}",
                        embedder="onnx-int8")
    wanted: dict[str, set[str]] = {}
    with Store.from_url(settings.database_url, migrate_schema=False) as store:
        searcher = Searcher.from_settings(settings, store, embedder=embedder)
        filters = Filters(since=days[0], until=days[1])
        runs = scored(searcher, {q: q for q in alerts}, filters)
        for query, pattern in alerts.items():
            papers = store.get_papers_by_row(
                [r for r, _ in searcher.lexical.search(query, TOP, filters)])
            about = re.compile(pattern, re.I)
            wanted[query] = {p.arxiv_id for p in papers.values()
                             if about.search(p.title + " " + p.abstract)}
    return runs, wanted


def short_section(home: Path, embedder: Embedder, start: dt.date, result: dict[str, Any]
                  ) -> list[str]:
    """Short alerts: theta as SciFact train chose it; tau chosen on SHORT_TRAIN over the
    week before ``start``, reported on SHORT over the week from ``start``."""
    before = (start - dt.timedelta(days=7), start - dt.timedelta(days=1))
    week = (start, start + dt.timedelta(days=6))
    train_runs, train_wanted = short_alerts(home, embedder, before, SHORT_TRAIN)
    theta = result["chosen"]["keywords"].min_share
    short = best(train_runs, train_wanted, [theta], TAUS)
    runs, wanted = short_alerts(home, embedder, week, SHORT)
    now = AlertTest(theta, 0.0, PHRASE.phrase_words)
    tests = {"top 10 always (before)": AlertTest(0.0, 0.0), **result["chosen"],
             "keywords, then tau chosen on short alerts": short,
             "keywords and phrase (now)": now}
    lines = [f"Short alerts. Cosine threshold chosen on {len(SHORT_TRAIN)} alerts "
             f"({', '.join(SHORT_TRAIN)}) over {before[0]} … {before[1]} of the 75k "
             f"sample (keyword share fixed at SciFact's {theta:.2f}); reported on "
             f"{len(SHORT)} others ({', '.join(SHORT)}) over {week[0]} … {week[1]}. "
             "On-topic is a plain reading of title and abstract (the patterns in the "
             "script), and recall counts only the on-topic papers of the keyword top 10:",
             "", *HEAD, row("short train, chosen", measure(train_runs, train_wanted, short)),
             row("short train, keywords and phrase (now)",
                 measure(train_runs, train_wanted, now))]
    lines += [row(f"short test, {name}", measure(runs, wanted, t)) for name, t in tests.items()]
    lines += ["", "SciFact test at the short-alert thresholds: "
              + row("", result["test_at"](now)).split("|", 2)[2].strip(" |")
              + " (the few claims of up to 4 analysed words get the phrase test too)", ""]
    for query in ("multi-task learning",):
        for name, t in (("before", AlertTest(0.0, 0.0)), ("now", now)):
            sent = [d for d, s, c, ph in runs[query]
                    if t.passes(s, c) and (ph or not t.phrase_words)]
            lines.append(f"- \"{query}\" {name}: {len(sent)} sent, "
                         f"{len(set(sent) & wanted[query])} on-topic")
    return lines + [""]


def row(name: str, m: dict[str, float]) -> str:
    return (f"| {name} | {m['theta']:.2f} | {m['tau']:.2f} | {m['precision']:.3f} | "
            f"{m['recall']:.3f} | {m['f1']:.3f} | {m['sent']:.1f} | {100 * m['empty']:.0f} % |")


HEAD = ["| run | keyword share theta | cosine tau | precision | recall | F1 | "
        "papers sent per alert | alerts sent empty |", "|---|---|---|---|---|---|---|---|"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a home holding the 75k arXiv sample")
    parser.add_argument("--week", default="2026-06-22", help="first day of the short alerts' week")
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md")
    args = parser.parse_args()
    if not SCIFACT.exists():
        sys.exit(f"SciFact not found at {SCIFACT} (see ../shared/data/README.md)")
    embedder = load_embedder("onnx-int8", threads=2)
    result = scifact(embedder)
    lines = [SECTION, "",
             f"{dt.date.today():%Y-%m-%d}, {platform.machine()}, Python "
             f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} (2 cores "
             "shared); `bench/alert_threshold.py`, `onnx-int8` MiniLM. Each alert's "
             "candidates are its keyword top 10; theta (BM25 share of the query's ceiling) "
             "and tau (cosine to the stored vector) are the train split's best F1 over "
             "0.00-0.60 and 0.00-0.70, then applied unchanged to test.", "", *HEAD]
    for name in ("keywords", "meaning", "both"):
        lines.append(row(f"train, {name}", result["train"][name]))
    for name in ("keywords", "meaning", "both"):
        lines.append(row(f"test, {name}", result["test"][name]))
    lines += [row("test, top 10 always (before)", result["padded"]), ""]
    if args.home:
        lines += short_section(args.home, embedder, dt.date.fromisoformat(args.week),
                               result)
    lines += [
        "What this decided (paperwire/alerts.py; the settings `alert_min_share`, "
        "`alert_phrase_words`, `alert_min_similarity`): the keyword share threshold is "
        "SciFact train's (0.34), and it transfers: on SciFact test it lifts F1 from the "
        "padded top 10's to the table's, and on short alerts it drops papers that share "
        "one word of the alert at almost no cost in recall. The meaning test does not "
        "transfer: SciFact's tau empties every short alert (a two-word query's cosine to "
        "an abstract is 0.1-0.6 for on- and off-topic papers alike), and on short alerts "
        "the best tau is 0, so it stays off by default (a setting, for instances whose "
        "alerts are long). What separates \"multi-task learning\" from multi-agent or "
        "multi-step RL is the phrase: the alert's analysed words in order and adjacent in "
        "the title or abstract, for alerts of 2-4 words (author names left out). It trades "
        "some recall (a paper that says \"multi-task\" but never \"multi-task "
        "learning\") for precision; by F1 it beats keywords alone on both short sets. "
        "Caveat: the short sets' labels are regular expressions over title and abstract, "
        "looser than the phrase for most alerts but not hand judgements.", ""]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        bench = ROOT / "BENCHMARKS.md"
        old = bench.read_text(encoding="utf-8")
        start_at = old.find(SECTION)
        if start_at >= 0:
            end = old.find("\n## ", start_at + len(SECTION))
            old = old[:start_at] + old[end + 1:] if end >= 0 else old[:start_at]
        bench.write_text(old.rstrip("\n") + "\n\n" + text, encoding="utf-8")


if __name__ == "__main__":
    main()
