"""For you, timed: /for-you for a reader with 200 positives over the 75k bench home on one
worker (p50/p95), the first view after a change (a retrain), and a daily digest with a
For-you section for 10,000 subscribers through `paperwire digest send`.

The home is copied from ``--home`` (an indexed, embedded bench home: copy /work/bench-home/pw
first, then `paperwire init` and `paperwire index` on the copy) into a temporary folder, so
every run starts from the same data. Readers' positives are real neighbourhoods: the 200
(page) or 50 (digest) papers nearest a random paper among 20,000 sampled, so a profile has
a topic, as a reader's library does.

    python bench/for_you.py --home /tmp/fybench [--requests 300] [--subscribers 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.digest import _free_port, add_subscribers  # noqa: E402
from bench.report import write_section  # noqa: E402
from bench.web import Server  # noqa: E402

AS_OF = "2026-07-01"


def _store(home: Path) -> Any:
    from paperwire.settings import Settings
    from paperwire.store import Store

    return Store.open(Settings(home=home, progress=False)), Settings(home=home, progress=False)


def neighbourhoods(store: Any, settings: Any, topics: int, size: int, seed: int = 3
                   ) -> list[list[str]]:
    """``topics`` lists of the ``size`` papers nearest a random paper (of 20,000 sampled)."""
    from paperwire.recommend.corpus import StoreCorpus
    from paperwire.search import Searcher

    corpus = StoreCorpus(store, Searcher.from_settings(settings, store))
    ids, vecs = corpus.vectors(store.sample_ids(20_000, seed=seed))
    rng = np.random.default_rng(seed)
    out = []
    for k in rng.choice(len(ids), size=topics, replace=False):
        order = np.argsort(-(vecs @ vecs[k]))[:size]
        out.append([ids[int(j)] for j in order])
    return out


def add_reader(store: Any, email: str, papers: list[str]) -> Any:
    """An account (no usable password: the bench signs in by session) whose Reading list
    holds ``papers``, with one For-you profile over it."""
    from paperwire import for_you

    user = store.create_user(email, "!", email.split("@")[0])
    store.mark_verified(user.id)
    user = store.user_by_id(user.id)
    found = store.default_collection(user.id, "Reading")
    rows = store.row_ids(papers)
    store.add_collection_items(found["id"], [{"import_key": f"arxiv:{i}", "paper_id": rows[i]}
                                             for i in papers if i in rows], user.id)
    for_you.chosen(store, user)
    return user


def timed(url: str, cookie: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        request = urllib.request.Request(url, headers={"Cookie": f"pw_session={cookie}"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
            assert answer.status == 200
        out.append((time.perf_counter() - started) * 1000)
    return out


def _first_view(url: str, cookie: str, timeout: float = 900.0) -> float:
    """Milliseconds until the first 200 (a 503 says the feature space is still being built
    after the server's start)."""
    import urllib.error

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            timed(url, cookie, 1)
            return (time.perf_counter() - started) * 1000
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                raise
            time.sleep(1.0)
    raise TimeoutError("the first view never answered")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def page_bench(home: Path, requests: int) -> dict[str, Any]:
    from paperwire import accounts, for_you

    store, settings = _store(home)
    with store:
        [positives] = neighbourhoods(store, settings, 1, 200)
        user = add_reader(store, "page-reader@example.org", positives)
        cookie = accounts.start_session(store, settings, user)
        profile = for_you.chosen(store, user)
        server = Server(home, 1)
        try:
            base = server.base
            first = _first_view(f"{base}/for-you", cookie)
            rows: dict[str, list[float]] = {}
            for name, path in (("/for-you (week)", "/for-you"),
                               ("/for-you.json (week)", "/for-you.json"),
                               ("/for-you?window=month", "/for-you?window=month"),
                               ("/for-you?window=day&hide_seen=1",
                                "/for-you?window=day&hide_seen=1")):
                timed(f"{base}{path}", cookie, 5)  # warm
                rows[name] = timed(f"{base}{path}", cookie, requests)
            retrain, fresh = [], []
            marks = store.rec_candidates(*_week(store), 40)
            for arxiv_id in marks[:20]:
                for_you.mark_not_interested(store, user.id, arxiv_id, profile)
                marked = time.perf_counter()
                retrain += timed(f"{base}/for-you", cookie, 1)
                fresh.append(_until_kept(store, profile, marked))
        finally:
            server.stop()
        model = store.rec_model(profile.id, data=False) or {}
    return {"first": first, "rows": rows, "retrain": retrain, "fresh": fresh,
            "train_ms": model.get("train_ms"), "size": model.get("size")}


def _until_kept(store: Any, profile: Any, since: float, timeout: float = 60.0) -> float:
    """Milliseconds from ``since`` until the store keeps a model for the profile's current
    version (the background retrain the view queued has finished)."""
    while time.perf_counter() - since < timeout:
        kept = store.rec_model(profile.id, data=False)
        if kept is not None and kept["version"] == store.rec_version(profile.row()):
            return (time.perf_counter() - since) * 1000
        time.sleep(0.01)
    return float("nan")


def _week(store: Any) -> tuple[Any, Any]:
    from datetime import timedelta

    latest = store.latest_day()
    return latest - timedelta(days=6), latest


def digest_bench(home: Path, subscribers: int, for_you: bool = True) -> dict[str, Any]:
    """The digest send; ``for_you=False``: the same subscribers without accounts (the
    baseline, bench/digest.py's digest, run in the same invocation)."""
    users: list[int] | None = None
    made = 0.0
    trained: dict[str, Any] = {}
    if for_you:
        store, settings = _store(home)
        with store:
            started = time.perf_counter()
            topics = neighbourhoods(store, settings, 200, 50, seed=5)
            users = [add_reader(store, f"reader{i:05d}@example.org",
                                topics[i % len(topics)]).id for i in range(subscribers)]
            made = time.perf_counter() - started
            trained = pretrain(store, settings, users, len(topics))
    add_subscribers(home, subscribers, user_ids=users)
    port = _free_port()
    sink = subprocess.Popen([sys.executable, str(Path(__file__).with_name("digest.py")),
                             "--sink", str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None and sink.stdin is not None
    assert sink.stdout.readline().strip() == "ready"
    env = dict(os.environ, PAPERWIRE_HOME=str(home), PAPERWIRE_PROGRESS="0",
               PAPERWIRE_SMTP_URL=f"smtp://127.0.0.1:{port}",
               PAPERWIRE_SMTP_CONCURRENCY="4", PAPERWIRE_SECRET_KEY="b" * 40,
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "paperwire", "digest", "send", "--period",
                             "daily", "--as-of", AS_OF], env=env, stdout=subprocess.PIPE,
                            text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    summary = proc.stdout.read().strip() if proc.stdout else ""
    sink.stdin.close()
    received = int(sink.stdout.read().strip() or 0)
    sink.wait()
    store, _ = _store(home)
    with store:
        shown = store.rec_shown_counts()
    return {"made_s": made, "seconds": seconds, "summary": summary, "received": received,
            "rss": usage.ru_maxrss / 1024, "exit": os.waitstatus_to_exitcode(status),
            "shown": shown, "trained": trained}


def pretrain(store: Any, settings: Any, users: list[int], topics: int) -> dict[str, Any]:
    """Every reader's model current before the digest, as the web's retrains (or
    `paperwire recommend-train`) leave them: one model trained per topic, and its row kept
    for each reader of that topic under the reader's own profile version (their signals
    are the same papers). The digest then trains none and loads 10,000 models."""
    from paperwire import for_you
    from paperwire.for_you_models import ModelStore
    from paperwire.for_you_rank import product_corpus
    from paperwire.recommend.rankers import default_ranker
    from paperwire.search import Searcher

    started = time.perf_counter()
    corpus = product_corpus(store, Searcher.from_settings(settings, store))
    corpus.features()
    space_s = time.perf_counter() - started
    models = ModelStore(store, corpus, default_ranker())
    profiles = [for_you.chosen(store, store.user_by_id(u)) for u in users]
    train_ms = []
    for k in range(topics):
        first = profiles[k]
        models.train(first)
        row = store.rec_model(first.id)
        train_ms.append(row["train_ms"])
        for other in profiles[k + topics::topics]:
            store.save_rec_model(other.id, version=store.rec_version(other.row()),
                                 space_key=row["space_key"], ranker=row["ranker"],
                                 read_at=row["read_at"], train_ms=row["train_ms"],
                                 data=row["data"])
    return {"space_s": space_s, "train_ms_p50": statistics.median(train_ms),
            "seconds": time.perf_counter() - started, "models": store.rec_model_counts()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--skip-digest", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pw-foryou-bench-") as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(args.home, home)
        page = page_bench(home, args.requests)
        load_page = os.getloadavg()[0]
        digest = baseline = None
        if not args.skip_digest:
            plain = Path(tmp) / "plain"
            shutil.copytree(args.home, plain)
            baseline = digest_bench(plain, args.subscribers, for_you=False)
            shutil.rmtree(plain)
            digest = digest_bench(home, args.subscribers)
        load_digest = os.getloadavg()[0]
    Path("/tmp/pw-foryou-bench.json").write_text(json.dumps(
        {"page": page, "digest": digest, "baseline": baseline, "load": [load_page, load_digest]},
        default=str))
    report(page, digest, baseline, args, load_page, load_digest)


def report(page: dict[str, Any], digest: dict[str, Any] | None,
           baseline: dict[str, Any] | None, args: Any, load_page: float, load_digest: float
           ) -> None:
    lines = ["| route | requests | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|"]
    for name, values in page["rows"].items():
        lines.append(_row(name, values))
    lines.append(_row('/for-you, first view after a "not interested" (previous model; '
                      'retrain queued)', page["retrain"]))
    lines.append(_row("mark → the retrained model kept in the store (background)",
                      page["fresh"]))
    print("\n".join(lines), f"first view {page['first']:.0f} ms")
    body = f"""
`python bench/for_you.py --home /tmp/fybench` (a copy of /work/bench-home/pw: {80_316:,}
papers, MiniLM vectors in the memory-mapped float16 copy, SQLite). One reader with 200 saved
papers (the 200 nearest a random paper), one profile over them; `paperwire serve --workers 1`,
one client in a closed loop (each request sent when the last was answered), signed in by
session cookie; the default (paperwire, linear) ranker. The week is ~2,000 candidates, the
month the newest 5,000 (MAX_CANDIDATES).

{chr(10).join(lines)}

The very first view (the feature space being built by the warm-up thread the server started,
then the profile trained) took {page['first']:.0f} ms. The profile's kept model: trained in
{page['train_ms'] or 0:.0f} ms (fit, three calibration refits, serialising), {page['size'] or 0:,}
bytes. Load average (1 min) after the page runs: {load_page:.1f}.
"""
    if digest is not None and baseline is not None:
        shown, trained = digest["shown"], digest["trained"]
        ratio = digest["seconds"] / baseline["seconds"]
        body += f"""
Digest: {args.subscribers:,} daily subscribers as in bench/digest.py (same mix of trending
and saved searches), each an account with one For-you profile over 50 saved papers (200
topics of 50 neighbours; made in {digest['made_s']:.0f} s, not timed). Before the digest
every profile's model was made current, as the web's retrains or `paperwire recommend-train`
leave them: one model trained per topic (median {trained['train_ms_p50']:.0f} ms each; the
feature space built in {trained['space_s']:.0f} s), its row kept for each of the topic's
readers under their own profile version ({trained['models']['models']:,} rows,
{trained['models']['bytes'] / 2**20:.0f} MiB; {trained['seconds']:.0f} s in all, not
timed). Digest of {AS_OF} sent by `paperwire digest send` to an aiosmtpd sink over 4 SMTP
connections; the baseline is the same subscribers without accounts on a fresh copy of the
home, run first in the same invocation.

| | |
|---|---|
| run summary | {digest['summary']} |
| messages received by the sink | {digest['received']:,} |
| total time (space, 10,000 kept models read, compose, ledger, SMTP) | {digest['seconds']:.1f} s |
| the same digest without accounts (baseline, same run) | {baseline['seconds']:.1f} s |
| with For you / without | {ratio:.2f} |
| digests with For you / papers recommended | {shown['profiles']:,} / {shown['papers']:,} |
| sender peak RSS | {digest['rss']:.0f} MiB |
| load average (1 min) at the end | {load_digest:.1f} |
"""
    print(body)
    write_section("For you", body)


def _row(name: str, values: list[float]) -> str:
    return (f"| {name} | {len(values)} | {statistics.median(values):.1f} | "
            f"{pct(values, 95):.1f} | {max(values):.1f} |")


if __name__ == "__main__":
    main()
