"""A tiny `eval recommend` folder in three clear topics, written by the tests that need one."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

_WORDS = {
    "graphs": "graph neural network message passing molecule atoms bonds property "
              "prediction chemistry node edge",
    "speech": "speech recognition acoustic model noisy microphone audio transcription "
              "speaker phoneme reverberation",
    "robots": "reinforcement learning robot policy manipulation grasping reward "
              "locomotion simulator control",
}
TOPICS = {topic: words.split() for topic, words in _WORDS.items()}
_FILLER = "we propose a method and show results on benchmarks with strong baselines"
FILLER = _FILLER.split()
START = date(2025, 1, 6)


def topic_papers(per_topic: int = 14, seed: int = 3) -> list[dict[str, Any]]:
    """Papers in paperwire JSONL: each topic's words and authors, one paper a day per
    topic (``first_seen`` the day), ids ``2501.<topic><n>``."""
    rng = random.Random(seed)
    out = []
    for t, (topic, words) in enumerate(TOPICS.items()):
        for n in range(per_topic):
            day = START + timedelta(days=n)
            picked = rng.sample(words, 6) + rng.sample(FILLER, 4)
            out.append({
                "id": f"2501.{t}{n:04d}", "title": " ".join(picked[:4]).capitalize(),
                "summary": " ".join(picked + rng.sample(words, 4)),
                "authors": [f"{topic.title()} Lead", f"{topic.title()} Student {n % 3}"],
                "categories": ["cs.LG"], "published": f"{day.isoformat()}T09:00:00Z",
                "first_seen": (day + timedelta(days=1)).isoformat()})
    return out


def paper_id(topic: str, n: int) -> str:
    return f"2501.{list(TOPICS).index(topic)}{n:04d}"


def write_folder(root: Path, *, votes: bool = True) -> Path:
    """corpus.jsonl, profiles.jsonl, tests.jsonl (and votes.jsonl) under ``root``.

    "gina" keeps graph papers, "sam" speech papers; each is tested on the later days with
    that day's three papers as candidates. "late" has positives only after every test day,
    so their tests are misses for every ranker."""
    root.mkdir(parents=True, exist_ok=True)
    papers = topic_papers()
    profiles = [
        {"user": "gina", "positives": [{"id": paper_id("graphs", n),
                                        "at": (START + timedelta(days=n + 1)).isoformat()}
                                       for n in range(8)], "negatives": []},
        {"user": "sam", "positives": [{"id": paper_id("speech", n),
                                       "at": (START + timedelta(days=n + 1)).isoformat()}
                                      for n in range(8)],
         "negatives": [{"id": paper_id("robots", 0), "at": START.isoformat()}]},
        {"user": "late", "positives": [{"id": paper_id("robots", 13), "at": "2025-06-01"}],
         "negatives": []},
    ]
    tests = []
    for user, topic in (("gina", "graphs"), ("sam", "speech"), ("late", "robots")):
        for n in range(10, 13):
            day = START + timedelta(days=n + 1)
            tests.append({"user": user, "day": day.isoformat(),
                          "candidates": [paper_id(t, n) for t in TOPICS],
                          "relevant": [paper_id(topic, n)]})
    files: dict[str, list[dict[str, Any]]] = {"corpus": papers, "profiles": profiles,
                                              "tests": tests}
    if votes:
        # robots 5 votes, graphs 3, speech 1
        files["votes"] = [{"id": p["id"], "upvotes": {"0": 3, "1": 1, "2": 5}[p["id"][5]],
                           "day": p["first_seen"]} for p in papers]
    for name, rows in files.items():
        (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                            encoding="utf-8")
    return root
