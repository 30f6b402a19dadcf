"""Saved-search alerts send only papers that pass their relevance tests, never padding."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from paperwire.alerts import AlertTest
from paperwire.digest import Composer, send_digests
from paperwire.errors import ConfigError
from paperwire.mail import OutboxMailer
from paperwire.models import SearchSpec
from paperwire.search import Searcher
from paperwire.settings import Settings
from paperwire.store import Store
from tests.app import load_corpus, make_settings
from tests.helpers import paper

DAY = date(2025, 3, 14)
ON_TOPIC = paper(
    "2503.00001", listed_on=DAY, categories=("cs.LG",),
    title="Multi-task learning with shared encoders for dense prediction",
    abstract="We study multi-task learning: one network is trained jointly on depth, "
             "segmentation and normal estimation, and a shared encoder with task-specific "
             "heads reduces negative transfer between the tasks.")
MULTI_AGENT = paper(
    "2503.00002", listed_on=DAY, categories=("cs.LG",),
    title="Cooperative multi-agent reinforcement learning for warehouse robots",
    abstract="Multiple agents learn to coordinate pick-and-place tasks with reinforcement "
             "learning; a multi-agent critic assigns each task to a robot in the warehouse.")
SCATTERING = paper(
    "2503.00003", listed_on=DAY, categories=("cs.GR",),
    title="Neural subsurface scattering for real-time rendering of skin",
    abstract="We render translucent materials in real time with a small network that "
             "learns subsurface scattering profiles from measured skin; the rendering task "
             "runs at 60 frames per second.")
FACES = paper(
    "2503.00004", listed_on=DAY, categories=("cs.CV",),
    title="Occlusion-robust face recognition in crowds",
    abstract="Face recognition fails under masks and occlusion; we align partial faces "
             "to a template before matching identities in surveillance footage.")
PAPERS = [ON_TOPIC, MULTI_AGENT, SCATTERING, FACES]


@pytest.fixture
def store_of(tmp_path: Path, database_url: str) -> Any:
    """A function building a store holding PAPERS, keyword-indexed (and embedded by
    ``vectors``, an embedder, when given); the store closes at the test's end."""
    opened: list[Store] = []

    def build(vectors: Any = None, **changes: Any) -> tuple[Settings, Store]:
        settings = make_settings(tmp_path, database_url, **changes)
        store = Store.open(settings)
        opened.append(store)
        load_corpus(store, tmp_path, papers=PAPERS, index=True, embedder=vectors)
        return settings, store

    yield build
    for store in opened:
        store.close()


def _alert(settings: Settings, store: Store, query: str, searcher: Searcher | None = None
           ) -> list[str]:
    sub = store.upsert_subscription("a@example.org", status="active", trending=False,
                                    searches=[SearchSpec(query)])
    digest = Composer(settings, store, searcher).compose(sub, "daily", DAY)
    return [p.arxiv_id for s in digest.sections for p in s.papers]


def test_the_defaults_are_the_measured_thresholds() -> None:
    test = AlertTest.from_settings(Settings())
    assert (test.min_share, test.min_similarity, test.phrase_words) == (0.34, 0.0, 4)
    assert test.phrase_of("multi-task learning") == ["multi", "task", "learn"]
    assert test.phrase_of("diffusion") is None  # one word: the keyword test says it all


@pytest.mark.parametrize(("name", "value"), [("PAPERWIRE_ALERT_MIN_SHARE", "1.5"),
                                             ("PAPERWIRE_ALERT_MIN_SIMILARITY", "-0.1"),
                                             ("PAPERWIRE_ALERT_PHRASE_WORDS", "17")])
def test_the_thresholds_are_bounded(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_the_on_topic_paper_is_sent_and_the_padding_is_not(store_of: Any) -> None:
    settings, store = store_of()
    # Without the tests every keyword match filled the section (the complaint).
    off = replace(settings, alert_min_share=0.0, alert_phrase_words=0)
    assert set(_alert(off, store, "multi-task learning")) == {
        ON_TOPIC.arxiv_id, MULTI_AGENT.arxiv_id, SCATTERING.arxiv_id}
    assert _alert(settings, store, "multi-task learning") == [ON_TOPIC.arxiv_id]
    # Each test does its part: the keyword share drops the paper sharing one word; the
    # multi-agent paper shares every analysed word ("multi", "task", "learn") but not the
    # phrase.
    no_phrase = _alert(replace(settings, alert_phrase_words=0), store, "multi-task learning")
    assert no_phrase == [ON_TOPIC.arxiv_id, MULTI_AGENT.arxiv_id]
    # A hyphen or none: the phrase is the analysed words, not the spelling.
    assert _alert(settings, store, "multi task learning") == [ON_TOPIC.arxiv_id]


def test_the_meaning_test_where_it_is_asked_for(store_of: Any, onnx_embedder: Any) -> None:
    settings, store = store_of(onnx_embedder, embedder="onnx-int8", alert_phrase_words=0,
                               alert_min_similarity=0.45)
    searcher = Searcher.from_settings(settings, store, embedder=onnx_embedder)
    assert _alert(settings, store, "multi-task learning", searcher) == [ON_TOPIC.arxiv_id]
    loose = replace(settings, alert_min_similarity=0.0)
    assert MULTI_AGENT.arxiv_id in _alert(loose, store, "multi-task learning", searcher)


def test_an_alert_with_nothing_relevant_sends_nothing(store_of: Any) -> None:
    settings, store = store_of()
    # One word of the alert matches a face-recognition paper; it is not about speech.
    off = replace(settings, alert_min_share=0.0, alert_phrase_words=0)
    assert _alert(off, store, "speech recognition") == [FACES.arxiv_id]
    assert _alert(settings, store, "speech recognition") == []
    report = send_digests(settings, store, "daily", DAY, mailer=OutboxMailer(store))
    assert (report.sent, report.skipped) == (0, 1)
    assert store.outbox(to="a@example.org") == []
