"""The model's part of a /for-you view, through the product's corpus: a week ranked whole.

    python bench/for_you_model.py HOME [--positives 200] [--repeat 30]

HOME is a paperwire home with papers and vectors (only read; PAPERWIRE_DATABASE_URL may
name its database). One reader of one field (the papers whose title says "language
model"), their newest ``--positives`` as saved papers; the default ranker trains once, then
ranks every paper of the newest 7 days with reasons, as /for-you does when the profile is
calibrated (it counts every paper above the threshold), through ``product_corpus`` (the
page's cached corpus). Run under two trees, alternating, to compare rankers.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paperwire.evaluate import latency_percentiles  # noqa: E402
from paperwire.for_you_rank import product_corpus  # noqa: E402
from paperwire.recommend import Profile, Signal  # noqa: E402
from paperwire.recommend.rankers import default_ranker  # noqa: E402
from paperwire.search import Searcher  # noqa: E402
from paperwire.settings import Settings  # noqa: E402
from paperwire.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--positives", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    settings = Settings.from_env(home=args.home)
    store = Store.open(settings)
    corpus = product_corpus(store, Searcher.from_settings(settings, store))
    space = corpus.features()
    last = float(np.nanmax(space.published))
    newest = datetime.fromtimestamp(last, UTC).replace(tzinfo=None)
    week = [p for p, t in zip(space.ids, space.published, strict=True)
            if t >= last - 7 * 86400][:5000]
    rng = random.Random(7)
    sample = rng.sample(space.ids, min(20000, len(space.ids)))
    titles = corpus.titles(sample)
    liked = [p for p in sample if "language model" in titles.get(p, "").lower()]
    chosen = rng.sample(liked, min(args.positives, len(liked)))
    profile = Profile(signals=tuple(Signal(p, "saved", newest - timedelta(days=k))
                                    for k, p in enumerate(chosen)))
    ranker = default_ranker()
    trains = []
    for _ in range(3):
        t0 = time.perf_counter()
        model = ranker.train(profile, corpus, now=newest)
        trains.append(time.perf_counter() - t0)
    model.rank(week)  # warm: the corpus's caches, as every view after the first
    ranks = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        model.rank(week)
        ranks.append(time.perf_counter() - t0)
    lat = latency_percentiles(ranks)
    print(f"ranker {getattr(ranker, 'key', ranker.name)}; {len(chosen)} positives; "
          f"train p50 {1000 * statistics.median(trains):.0f} ms; rank {len(week):,} "
          f"(all, reasons): p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms; "
          f"cpu {time.process_time():.1f} s")
    store.close()


if __name__ == "__main__":
    main()
