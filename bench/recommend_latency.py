"""For-you model cost on a real instance: feature space, training on 200 positives, a month ranked.

    python bench/recommend_latency.py HOME [--positives 200] [--repeat 30]

HOME is a paperwire home with papers and vectors (e.g. a cp -a copy of the 75k bench home;
the script only reads it). Reports the feature-space build time (once per process), the
profile training time, and the p50/p95 of ranking every paper of the last 30 days for one
reader (limit 50, reasons included) — the model's part of a /for-you page.
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
from paperwire.recommend import Profile, Signal  # noqa: E402
from paperwire.recommend.corpus import StoreCorpus  # noqa: E402
from paperwire.recommend.rankers import default_ranker, estimate  # noqa: E402
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
    corpus = StoreCorpus(store, Searcher.from_settings(settings, store))
    started = time.perf_counter()
    space = corpus.features()
    build_s = time.perf_counter() - started
    last = float(np.nanmax(space.published))
    newest = datetime.fromtimestamp(last, UTC).replace(tzinfo=None)
    month = [p for p, t in zip(space.ids, space.published, strict=True)
             if t >= last - 30 * 86400]
    rng = random.Random(7)
    # A reader of one field: positives drawn from the papers sharing a frequent word.
    liked = _field(corpus, space.ids, rng)
    chosen = rng.sample(liked, min(args.positives, len(liked)))
    profile = Profile(signals=tuple(Signal(p, "saved", newest - timedelta(days=k))
                                    for k, p in enumerate(chosen)))
    ranker = default_ranker()
    trains, ranks = [], []
    for _ in range(max(3, args.repeat // 5)):
        t0 = time.perf_counter()
        model = ranker.train(profile, corpus, now=newest)
        trains.append(time.perf_counter() - t0)
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        model.rank(month, limit=50)
        ranks.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    found = estimate(model, 0.6)
    calibrate_s = time.perf_counter() - t0
    print(f"papers {len(space.ids):,}, feature space built in {build_s:.1f} s")
    print(f"train ({len(chosen)} positives): p50 {1000 * statistics.median(trains):.0f} ms")
    lat = latency_percentiles(ranks)
    print(f"rank {len(month):,} candidates (limit 50, reasons): p50 {lat['p50_ms']:.1f} ms, "
          f"p95 {lat['p95_ms']:.1f} ms")
    print(f"calibration (3-fold, lazy, once per model): {1000 * calibrate_s:.0f} ms; "
          f"estimate: {found.text() if found else 'none'}")
    store.close()


def _field(corpus: StoreCorpus, ids: list[str], rng: random.Random) -> list[str]:
    sample = rng.sample(ids, min(20000, len(ids)))
    titles = corpus.titles(sample)
    return [p for p in sample if "language model" in titles.get(p, "").lower()]


if __name__ == "__main__":
    main()
