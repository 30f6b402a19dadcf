"""The fusion's variants on an eval folder, each fitted on some readers and scored on others.

    python bench/recommend_fusion_study.py FOLDER HOME [--cache FILE] [--group a,b]

Reads the folder and the store ``paperwire eval recommend FOLDER --home HOME`` kept, then,
for every reader, the fusion's fitting slates (their days before their first test day:
paperwire.recommend.fusion_fit) and their test days, each candidate as the seven fusion
features over the content model the eval trains (cached in ``--cache``: the variants are
then scored in seconds). Each variant is fitted on every reader's slates and, to check it
on readers it never saw, on each half of the readers (by name hash, as ``--half``) and
scored on the other half. Variants: content only; the five-feature fusion (recency, votes);
the seven-feature one (and team size); without votes (the folder's votes are counts from
after the fact); and per-reader weights, fitted on the reader's own slates with an L2 pull
of strength lambda toward the global weights.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

Slate = tuple[NDArray[np.float64], NDArray[np.bool_]]


def collect(folder: Path, home: Path) -> dict[str, Any]:
    from paperwire.index.embedder import load_embedder
    from paperwire.recommend.dataset import load_folder
    from paperwire.recommend.evaluation import _open
    from paperwire.recommend.fusion import reader_habits, slate_features, team_sizes
    from paperwire.recommend.fusion_fit import _reader_slates, folder_slates
    from paperwire.recommend.linear import LinearRanker, feature_space

    data = load_folder(folder)
    store, corpus = _open(data, home, load_embedder("onnx-int8", threads=2), False)
    corpus.features()
    slates, _ = folder_slates(data, corpus)
    first: dict[str, Any] = {}
    for test in data.tests:
        first[test.user] = min(first.get(test.user, test.start), test.start)
    fit = {u: _reader_slates(data, corpus, u, first[u], slates) for u in sorted(first)}
    tests: list[tuple[str, Slate | None]] = []
    models: dict[Any, Any] = {}
    for test in data.tests:
        profile = data.profile(test.user, test.start)
        if not profile.positives:
            tests.append((test.user, None))
            continue
        key = (test.user, frozenset(s.arxiv_id for s in profile.signals))
        if key not in models:
            model = LinearRanker().train(profile, corpus, now=test.start)
            newest = sorted(profile.positives, key=lambda s: s.at, reverse=True)
            models[key] = (model, reader_habits(newest, slates, feature_space(corpus, []),
                                                corpus))
        model, habit = models[key]
        rows, content = model.scores(list(test.candidates))
        pop = corpus.popularity(rows.ids)
        votes = np.asarray([pop.get(i, 0.0) for i in rows.ids])
        label = np.asarray([i in test.relevant for i in rows.ids])
        tests.append((test.user, (slate_features(np.asarray(content), rows.published, votes,
                                                 habit, team_sizes(corpus, rows.ids)),
                                  label)))
    store.close()
    return {"fit": fit, "tests": tests}


def _loss(w: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64],
          prior: NDArray[np.float64], lam: float) -> tuple[float, NDArray[np.float64]]:
    z = x @ w
    p = 1.0 / (1.0 + np.exp(-z))
    loss = float(np.sum(np.logaddexp(0.0, z) - y * z) + lam * np.sum((w - prior) ** 2))
    grad = x.T @ (p - y) + 2 * lam * (w - prior)
    return loss, grad


def fit_weights(slates: list[Slate], prior: NDArray[np.float64], lam: float,
                bias: bool = True) -> NDArray[np.float64]:
    """Logistic weights (an intercept too: only the weights rank) pulled toward ``prior``."""
    if not slates:
        return prior
    x = np.vstack([f for f, _ in slates])
    y = np.concatenate([k for _, k in slates]).astype(np.float64)
    x = np.column_stack([x, np.ones(len(x))])
    start = np.append(prior, 0.0)
    pull = np.append(prior, 0.0)

    def f(w: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        loss, grad = _loss(w, x, y, pull, lam)
        grad[-1] -= 2 * lam * (w[-1] - pull[-1])  # the intercept is free
        return loss - lam * (w[-1] - pull[-1]) ** 2, grad

    got = minimize(f, start, jac=True, method="L-BFGS-B")
    return np.asarray(got.x[:-1])


def mrr(tests: list[tuple[str, Slate | None]], weights: dict[str, NDArray[np.float64]],
        users: set[str]) -> float:
    out = []
    for user, slate in tests:
        if user not in users:
            continue
        if slate is None:
            out.append(0.0)
            continue
        x, label = slate
        order = np.argsort(-(x @ weights[user]), kind="stable")[:10]
        hits = np.flatnonzero(label[order])
        out.append(1.0 / (hits[0] + 1) if len(hits) else 0.0)
    return float(np.mean(out)) if out else float("nan")


def _global(fit: dict[str, list[Slate]], users: Sequence[str], cols: list[int]
            ) -> NDArray[np.float64]:
    from sklearn.linear_model import LogisticRegression

    every = [sl for u in users for sl in fit.get(u, [])]
    x = np.vstack([f[:, cols] for f, _ in every])
    y = np.concatenate([k for _, k in every])
    w = np.zeros(7)
    w[cols] = LogisticRegression(C=1.0, max_iter=2000).fit(x, y).coef_[0]
    return w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("home", type=Path)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--group", default="taesiri,akhaliq")
    args = parser.parse_args()
    if args.cache is not None and args.cache.exists():
        found = pickle.loads(args.cache.read_bytes())
    else:
        found = collect(args.folder, args.home)
        if args.cache is not None:
            args.cache.write_bytes(pickle.dumps(found))
    fit: dict[str, list[Slate]] = found["fit"]
    tests = found["tests"]
    users = sorted({u for u, _ in tests})
    halves = {h: {u for u in users if zlib.crc32(u.encode()) % 2 == h} for h in (0, 1)}
    group = {g for g in args.group.split(",") if g}
    variants: dict[str, Any] = {
        "content only": [0], "five (recency, votes)": [0, 1, 2, 3, 4],
        "seven (and team size)": [0, 1, 2, 3, 4, 5, 6],
        "seven without votes": [0, 1, 3, 5, 6]}
    print("| variant | all (fit on all) | half 1, fit on half 0 | half 0, fit on half 1 | "
          f"{','.join(sorted(group))} (fit on all) | the others (fit on all) |")
    print("|---|---|---|---|---|---|")
    for name, cols in variants.items():
        w_all = _global(fit, users, cols)
        on = {h: _global(fit, sorted(halves[h]), cols) for h in (0, 1)}
        cells = [mrr(tests, dict.fromkeys(users, w_all), set(users)),
                 mrr(tests, dict.fromkeys(users, on[0]), halves[1]),
                 mrr(tests, dict.fromkeys(users, on[1]), halves[0]),
                 mrr(tests, dict.fromkeys(users, w_all), group),
                 mrr(tests, dict.fromkeys(users, w_all), set(users) - group)]
        print(f"| {name} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")
        print(f"<!-- {name} weights (fit on all): {np.round(w_all, 3).tolist()} -->")
    seven = [0, 1, 2, 3, 4, 5, 6]
    for lam in (10, 100, 1000):
        prior = _global(fit, users, seven)
        own = {u: fit_weights(fit.get(u, []), prior, lam) for u in users}
        own_h = {}
        for h in (0, 1):
            p_h = _global(fit, sorted(halves[h]), seven)
            own_h.update({u: fit_weights(fit.get(u, []), p_h, lam) for u in halves[1 - h]})
        cells = [mrr(tests, own, set(users)), mrr(tests, own_h, halves[1]),
                 mrr(tests, own_h, halves[0]), mrr(tests, own, group),
                 mrr(tests, own, set(users) - group)]
        print(f"| seven, per reader (lambda {lam:g}) | " + " | ".join(f"{c:.4f}" for c in cells)
              + " |")


if __name__ == "__main__":
    main()
