"""Search quality on BEIR SciFact: lexical, semantic and hybrid, tuned on train, reported on test.

Uses the product's own path (`paperwire.evaluate.evaluate_beir`: throwaway store → indexer →
Searcher). The hybrid keyword weight ``alpha`` is swept on the train split only; the best
value is then scored on test. Query embeddings are cached between sweeps (the model is
deterministic), so a sweep costs retrieval and fusion only; latency is measured in a
separate uncached pass.

    python bench/search_scifact.py [--alphas 0.1,0.2,...] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402
from paperwire.evaluate import evaluate_beir  # noqa: E402
from paperwire.index.embedder import load_embedder  # noqa: E402

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"


class CachedEmbedder:
    """Wraps an embedder, remembering single-text (query) embeddings."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.model, self.dim = inner, inner.name, inner.model, inner.dim
        self.cache: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.embed(texts, batch_size=batch_size)
        key = texts[0]
        if key not in self.cache:
            self.cache[key] = self.inner.embed(texts)[0]
        return self.cache[key][None, :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alphas", default="0.1,0.2,0.25,0.3,0.35,0.4,0.5,0.6")
    parser.add_argument("--runtime", default="onnx-int8")
    parser.add_argument("--home", type=Path, default=None,
                        help="reuse a built index here (default: a temp dir)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not SCIFACT.exists():
        sys.exit(f"missing {SCIFACT}")
    embedder = load_embedder(args.runtime, threads=2)
    cached = CachedEmbedder(embedder)
    alphas = [float(a) for a in args.alphas.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)

        def run(split: str, mode: str, alpha: float | None = None, emb: Any = cached
                ) -> dict[str, float]:
            result = evaluate_beir(SCIFACT, split=split, mode=mode, embedder=emb, home=home,
                                   alpha=alpha, progress=True)
            print(f"{split:5} {mode:8} alpha={alpha} {result}", file=sys.stderr)
            return result

        sweep = {a: run("train", "hybrid", a)["ndcg@10"] for a in alphas}
        best = max(sweep, key=lambda a: sweep[a])
        rows = []
        for mode in ("lexical", "semantic", "hybrid"):
            alpha = best if mode == "hybrid" else None
            train = run("train", mode, alpha)
            test = run("test", mode, alpha, emb=embedder)  # uncached: real query latency
            rows.append(f"| {mode} | {train['ndcg@10']:.4f} | {train['recall@100']:.4f} | "
                        f"{train['mrr@10']:.4f} | **{test['ndcg@10']:.4f}** | "
                        f"{test['recall@100']:.4f} | {test['mrr@10']:.4f} | "
                        f"{test['p50_ms']:.1f} / {test['p95_ms']:.1f} |")
    sweep_line = ", ".join(f"{a:g}: {v:.4f}" for a, v in sweep.items())
    body = (f"`python bench/search_scifact.py`: the product's search end to end (throwaway "
            f"store → `paperwire index` → Searcher, top 100 per query) with the "
            f"`{embedder.name}` embedder. Hybrid keyword weight swept on **train** only "
            f"(nDCG@10 by alpha: {sweep_line}); best alpha = {best:g}, then scored on test. "
            "Latency per query includes embedding the query, fusion, fetching the 100 papers "
            "and building their snippets (2 threads).\n\n"
            "| mode | train nDCG@10 | train R@100 | train MRR@10 | test nDCG@10 | test R@100 | "
            "test MRR@10 | test p50 / p95 ms |\n|---|---|---|---|---|---|---|---|\n"
            + "\n".join(rows))
    print(body)
    if not args.no_write:
        write_section("Search quality on SciFact", body)


if __name__ == "__main__":
    main()
