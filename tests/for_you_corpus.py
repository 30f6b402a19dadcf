"""A small corpus for For-you tests: two topics (molecules, speech), papers a reader saves
early in March 2025 and recent candidates of both topics, with real MiniLM vectors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from paperwire.models import Paper, User
from tests.app import WebApp, load_corpus, make_app
from tests.helpers import make_user, paper

LATEST = date(2025, 3, 20)
MOLECULES = [
    ("Graph neural networks for molecules", "Message passing networks predict molecular "
     "properties from graphs of atoms and bonds."),
    ("Molecular property prediction with graph transformers", "Graph attention over atoms "
     "and bonds predicts properties of molecules."),
    ("Equivariant networks for molecular dynamics", "Rotation-equivariant graph networks "
     "learn interatomic potentials for molecules."),
    ("Drug discovery with molecular graph generation", "A generative graph model proposes "
     "new molecules with wanted chemical properties."),
    ("Protein-ligand binding with geometric deep learning", "Geometric graph networks "
     "predict how small molecules bind to proteins."),
    ("Self-supervised pretraining on molecular graphs", "Contrastive pretraining of graph "
     "neural networks on millions of unlabelled molecules."),
]
SPEECH = [
    ("Speech recognition in noisy rooms", "Acoustic models for far-field speech "
     "recognition with reverberation and noise."),
    ("Robust automatic speech recognition", "Noise-robust acoustic modelling for speech "
     "recognisers in the wild."),
    ("Streaming speech recognition with transducers", "A low-latency transducer model "
     "transcribes speech as it is spoken."),
]
RECENT_MOLECULES = [
    ("Graph neural networks predict molecular toxicity", "Message passing over molecular "
     "graphs predicts the toxicity of chemical compounds."),
    ("Molecule generation with diffusion on graphs", "A diffusion model over atoms and bonds "
     "generates valid molecules."),
    ("Crystal property prediction with graph networks", "Graph networks over atoms predict "
     "properties of crystals and molecules."),
]


def _paper(arxiv_id: str, title: str, abstract: str, day: date) -> Paper:
    return paper(arxiv_id, title=title, abstract=abstract, listed_on=day,
                 published=datetime.combine(day, datetime.min.time()))


# Older papers on other topics: the "everything else" a linear model learns against and
# calibrates its threshold on (a library of one topic in a corpus of two says little).
OTHERS = [f"{topic}: study {k}" for topic in (
    "Image segmentation with transformers", "Reinforcement learning for robot grasping",
    "Machine translation of low-resource languages", "Recommender systems with implicit feedback",
    "Quantum error correction codes", "Time series forecasting with state space models",
    "Federated learning under client drift", "Program synthesis from natural language")
    for k in (1, 2, 3)]


def corpus() -> list[Paper]:
    saved = [_paper(f"2503.{n:05d}", t, a, date(2025, 3, 3)) for n, (t, a)
             in enumerate(MOLECULES, start=1)]
    recent = [_paper(f"2503.{n:05d}", t, a, LATEST) for n, (t, a)
              in enumerate([*RECENT_MOLECULES, *SPEECH], start=101)]
    others = [_paper(f"2502.{n:05d}", t, f"We present {t.lower()} and its evaluation.",
                     date(2025, 2, 20)) for n, t in enumerate(OTHERS, start=1)]
    return saved + recent + others


SAVED = [f"2503.{n:05d}" for n in range(1, 7)]
NEAR = [f"2503.{n:05d}" for n in range(101, 104)]  # recent molecule papers
FAR = [f"2503.{n:05d}" for n in range(104, 107)]  # recent speech papers


def save(built: WebApp, user: User, ids: list[str]) -> None:
    """The user saves ``ids`` into their reading list (as the card's Save button does)."""
    found = built.store.default_collection(user.id, "Reading")
    rows = built.store.row_ids(ids)
    built.store.add_collection_items(found["id"], [
        {"import_key": f"arxiv:{i}", "paper_id": rows[i]} for i in ids], user.id)


@contextmanager
def for_you_app(home: Path, database_url: str, embedder: Any, **settings: Any
                ) -> Iterator[tuple[WebApp, User, User]]:
    """The app over the corpus with its vectors; ann has saved the six older molecule papers,
    bob has nothing."""
    with make_app(home, database_url, embedder="onnx-int8", **settings) as built:
        load_corpus(built.store, home, papers=corpus(), index=True, embedder=embedder)
        ann = make_user(built.store, "ann@example.org", name="Ann")
        bob = make_user(built.store, "bob@example.org", name="Bob")
        save(built, ann, SAVED)
        yield built, ann, bob


def retrained(built: WebApp, timeout: float = 60.0) -> None:
    """Wait for the app's background retrains to finish."""
    retrainer = built.app.state.site.recommender().retrainer
    assert retrainer is not None and retrainer.wait(timeout), "the retrain did not finish"
