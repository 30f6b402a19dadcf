"""Build a `paperwire eval recommend` folder from Hugging Face daily papers (submitters as readers).

    python bench/recommend_dataset.py OUT_DIR [--source PATH] [--min-submissions 10]

Each submitter (``item.submittedBy.name``) with at least ``--min-submissions`` submissions
becomes a reader: the earlier 60 % of their submissions (by featured day) are positives, the
later ones are tests; a test day's candidates are every paper featured that day and its
relevant ones those this reader submitted. Writes corpus.jsonl (paperwire JSONL: HF records
carry no arXiv categories, so each paper gets the placeholder ``cs.AI``), profiles.jsonl,
tests.jsonl and votes.jsonl (HF upvotes, counted when the file was collected). The format is
in docs/formats.md. The shared data is read, never copied into the repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
                  / "hf-daily-papers" / "daily-papers-2024-2026.jsonl.gz")
TRAIN_SHARE = 0.6


def read_items(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def corpus_record(day: str, paper: dict[str, Any]) -> dict[str, Any]:
    authors = [a.get("name", "").strip() for a in paper.get("authors", [])]
    return {"id": paper["id"], "title": " ".join(paper["title"].split()),
            "summary": " ".join((paper.get("summary") or "").split()) or paper["title"],
            "authors": [a for a in authors if a], "categories": ["cs.AI"],
            "published": paper.get("publishedAt"), "first_seen": day}


def build(items: list[dict[str, Any]], min_submissions: int) -> dict[str, list[dict[str, Any]]]:
    """The four files' records, from the daily-papers lines."""
    corpus: dict[str, dict[str, Any]] = {}
    votes: dict[str, dict[str, Any]] = {}
    featured: dict[str, list[str]] = defaultdict(list)
    submitted: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in items:
        day, item = line["date"], line["item"]
        paper = item["paper"]
        pid = paper["id"]
        if pid not in corpus:  # a paper featured twice keeps its first day
            corpus[pid] = corpus_record(day, paper)
            votes[pid] = {"id": pid, "upvotes": int(paper.get("upvotes") or 0), "day": day}
        if pid not in featured[day]:
            featured[day].append(pid)
        who = (item.get("submittedBy") or {}).get("name")
        if who:
            submitted[who].append((day, pid))
    profiles, tests = [], []
    for user in sorted(submitted):
        events = sorted(set(submitted[user]))
        if len(events) < min_submissions:
            continue
        cut = int(round(len(events) * TRAIN_SHARE))
        profiles.append({"user": user, "positives": [{"id": p, "at": d} for d, p in events[:cut]],
                         "negatives": []})
        later: dict[str, list[str]] = defaultdict(list)
        for day, pid in events[cut:]:
            later[day].append(pid)
        for day in sorted(later):
            tests.append({"user": user, "day": day, "candidates": featured[day],
                          "relevant": sorted(set(later[day]))})
    return {"corpus": list(corpus.values()), "profiles": profiles, "tests": tests,
            "votes": list(votes.values())}


def write(out: Path, files: dict[str, list[dict[str, Any]]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        tmp = out / f".{name}.jsonl.tmp"
        with tmp.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.replace(out / f"{name}.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--min-submissions", type=int, default=10)
    args = parser.parse_args()
    if not args.source.is_file():
        raise SystemExit(f"{args.source}: missing (the shared data is not here)")
    files = build(read_items(args.source), args.min_submissions)
    write(args.out, files)
    print(f"{len(files['corpus'])} papers, {len(files['profiles'])} readers, "
          f"{len(files['tests'])} test days -> {args.out}")


if __name__ == "__main__":
    main()
