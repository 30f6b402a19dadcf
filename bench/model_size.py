"""How big a kept For-you model is, per profile, on an eval folder's store (issue 14).

    python bench/model_size.py FOLDER HOME [--json]

FOLDER is a `paperwire eval recommend` folder and HOME the ``--home`` that run kept (its
store and vectors; only read). Every reader's profile is trained as the product trains it
(all their positives), saved as the store keeps it (paperwire.recommend.saved.dump), loaded
back and checked to rank a day's candidates exactly as the trained model does. Prints the
bytes per model by the profile's size. Run it under two trees to compare formats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paperwire.recommend import Profile, Signal  # noqa: E402
from paperwire.recommend.corpus import StoreCorpus  # noqa: E402
from paperwire.recommend.linear import LinearRanker  # noqa: E402
from paperwire.recommend.saved import dump, load  # noqa: E402
from paperwire.recommend.scoring import LinearModel  # noqa: E402
from paperwire.search import Searcher  # noqa: E402
from paperwire.settings import Settings  # noqa: E402
from paperwire.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("home", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    store = Store.from_url(f"sqlite:///{args.home / 'recommend.db'}")
    corpus = StoreCorpus(store, Searcher.from_settings(Settings(home=args.home), store))
    space = corpus.features()
    tests = [json.loads(line) for line in (args.folder / "tests.jsonl").open()]
    readers = [json.loads(line) for line in (args.folder / "profiles.jsonl").open()]
    rows, identical = [], 0
    for reader in readers:
        signals = tuple(Signal(p["id"], "saved", datetime.fromisoformat(p["at"]))
                        for p in reader["positives"])
        for n in sorted({len(signals), min(200, len(signals))}):
            newest = sorted(signals, key=lambda s: s.at or datetime.min)[-n:]
            model = LinearRanker().train(Profile(signals=tuple(newest)), corpus)
            if not isinstance(model, LinearModel):
                continue
            t0 = time.perf_counter()
            data = dump(model)
            dump_ms = 1000 * (time.perf_counter() - t0)
            t0 = time.perf_counter()
            loaded, _ = load(data, space, corpus)
            load_ms = 1000 * (time.perf_counter() - t0)
            day = next(t for t in tests if t["user"] == reader["user"])
            identical += loaded.rank(day["candidates"]) == model.rank(day["candidates"])
            rows.append({"user": reader["user"], "positives": n, "bytes": len(data),
                         "dump_ms": dump_ms, "load_ms": load_ms})
    store.close()
    by = {"all": rows, "200": [r for r in rows if r["positives"] == 200]}
    summary = {k: {"models": len(v), "bytes_p50": statistics.median(r["bytes"] for r in v),
                   "bytes_max": max(r["bytes"] for r in v),
                   "load_ms_p50": statistics.median(r["load_ms"] for r in v)}
               for k, v in by.items() if v}
    summary["loaded_ranks_identically"] = f"{identical} of {len(rows)}"
    summary["papers"] = len(space.ids)
    for k, v in summary.items():
        print(k, v)
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
