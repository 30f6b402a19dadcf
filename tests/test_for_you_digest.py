"""The digest's For-you section (above the threshold, never twice, nothing on an empty day,
one-click "not interested" links) and `paperwire recommend` (SQLite and PostgreSQL)."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.digest import Composer, send_digests
from paperwire.mail import OutboxMailer
from paperwire.store import Store
from tests.for_you_corpus import LATEST, NEAR, for_you_app
from tests.helpers import BASE


def _body(store: Store, to: str) -> str:
    [message] = store.outbox(to=to, kind="digest")[:1]
    parsed = email.message_from_string(message["message"], policy=email.policy.default)
    part = parsed.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_digest_for_you_never_repeats_and_sends_nothing_on_an_empty_day(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        store, settings = built.store, built.settings
        store.upsert_subscription(ann.email, status="active", trending=False, user_id=ann.id)
        client = built.client(signed_in=ann.email)
        page = client.get("/for-you.json").json()  # makes the profile, as a first visit does
        composer = Composer(settings, store)
        first = composer.compose(store.subscriptions(status="active")[0], "daily", LATEST)
        [section] = first.sections
        sent = [p.arxiv_id for p in section.papers]
        assert section.title == "For you" and set(sent[:3]) == set(NEAR)
        # The page's model, kept in the store when the page trained it: the digest trains
        # nothing, and sends what lies above that model's threshold, best first.
        assert (composer.recommender.trainings, composer.recommender.models.loads) == (0, 1)
        threshold = page["threshold"]
        assert threshold is not None
        assert sent == [p["arxiv_id"] for p in page["papers"] if p["score"] >= threshold]
        report = send_digests(settings, store, "daily", LATEST, mailer=OutboxMailer(store))
        assert report.sent == 1
        text = _body(store, ann.email)
        assert "For you" in text and "Not interested: " in text
        profile = client.get("/for-you.json").json()["profile"]["id"]
        assert store.rec_shown(profile, "digest") == set(sent)
        # A rerun of the same digest (after a crash) recommends the same papers: the ledger
        # leaves out only earlier digests', so nothing claimed is ever skipped.
        again = Composer(settings, store).compose(store.subscriptions(status="active")[0],
                                                  "daily", LATEST)
        assert [p.arxiv_id for p in again.sections[0].papers] == sent
        # The next day's digest reads the same latest day: nothing new, so nothing is sent.
        later = send_digests(settings, store, "daily", date(2025, 3, 21),
                             mailer=OutboxMailer(store))
        assert (later.sent, later.skipped) == (0, 1)
        # The mailed link works in one click, without signing in.
        link = re.search(re.escape(BASE) + r"(/for-you/not-interested/\S+)", text)
        assert link
        assert built.client().post(link.group(1)).status_code == 200
        assert link.group(1) and sent[0] not in [
            p["arxiv_id"] for p in client.get("/for-you.json").json()["papers"]]


def test_a_reader_without_a_profile_gets_no_for_you_section(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        sub = built.store.upsert_subscription(ann.email, status="active", user_id=ann.id)
        digest = Composer(built.settings, built.store).compose(sub, "daily", LATEST)
        assert all(not s.title.startswith("For you") for s in digest.sections)
        assert digest.recommended == ()


def test_recommend_cli_prints_json(tmp_path: Path, database_url: str,
                                   onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        env = {"PAPERWIRE_HOME": str(tmp_path), "PAPERWIRE_EMBEDDER": "none",
               "PAPERWIRE_DATABASE_URL": database_url}
        result = CliRunner().invoke(cli, ["recommend", "--user", ann.email, "--json",
                                          "--window", "month"], env=env,
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        data = json.loads(result.output.strip().splitlines()[-1])
        assert set(p["arxiv_id"] for p in data["papers"][:3]) == set(NEAR)
        assert data["papers"][0]["why"] and data["window"] == "month"
        text = CliRunner().invoke(cli, ["recommend", "--user", ann.email], env=env)
        assert text.exit_code == 0 and NEAR[0] in text.output
        missing = CliRunner().invoke(cli, ["recommend", "--user", "x@example.org"], env=env)
        assert missing.exit_code == 1 and "no account" in missing.output
        unknown = CliRunner().invoke(cli, ["recommend", "--user", ann.email, "--profile",
                                           "nope"], env=env)
        assert unknown.exit_code == 1 and "no profile" in unknown.output


def test_recommend_train_trains_only_the_stale_profiles(tmp_path: Path, database_url: str,
                                                        onnx_embedder: Any) -> None:
    from paperwire import for_you

    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, bob):
        store = built.store
        for user in (ann, bob):
            for_you.chosen(store, user)  # a profile each, never viewed: no model yet
        env = {"PAPERWIRE_HOME": str(tmp_path), "PAPERWIRE_DATABASE_URL": database_url,
               "PAPERWIRE_PROGRESS": "0"}
        first = CliRunner().invoke(cli, ["recommend-train"], env=env, catch_exceptions=False)
        assert first.exit_code == 0, first.output
        assert "2 of 2 profiles' models trained" in first.output
        assert store.rec_model_counts()["models"] == 2
        again = CliRunner().invoke(cli, ["recommend-train"], env=env)
        assert "0 of 2 profiles' models trained (2 up to date" in again.output
        for_you.mark_not_interested(store, ann.id, NEAR[0], None)
        third = CliRunner().invoke(cli, ["recommend-train"], env=env)
        assert "1 of 2 profiles' models trained" in third.output
        # The digest then trains none: it reads both kept models.
        composer = Composer(built.settings, store)
        for user in (ann, bob):
            composer.recommender.trained(for_you.chosen(store, user), keep=False, wait=True)
        assert (composer.recommender.trainings, composer.recommender.models.loads) == (0, 2)


def test_a_cold_digest_trains_within_its_budget_and_serves_older_models(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    from paperwire import for_you
    from paperwire.for_you_models import ModelStore, train_stale
    from paperwire.recommend.rankers import default_ranker

    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, bob):
        store, settings = built.store, built.settings
        for user in (ann, bob):
            for_you.chosen(store, user)  # a profile each, never viewed: no model yet
            store.upsert_subscription(user.email, status="active", trending=False,
                                      user_id=user.id)
        subs = store.subscriptions(status="active")
        # No budget left: no model is trained inside the digest, no section is sent.
        composer = Composer(settings, store)
        composer.recommender.train_budget_s = 0.0
        digests = [composer.compose(sub, "daily", LATEST) for sub in subs]
        assert all(d.sections[0].papers == () for d in digests)
        assert (composer.recommender.trainings, composer.for_you_deferred) == (0, 2)
        # The worker's training, bounded the same way, leaves both for the next run.
        models = ModelStore(store, composer.recommender.corpus, default_ranker())
        assert train_stale(models, budget_s=0.0).deferred == 2
        report = train_stale(models, budget_s=None)
        assert (report.trained, report.deferred) == (2, 0)
        # Kept as the fused ranker's, under its weights' key.
        kept = store.rec_models_info()
        assert len(kept) == 2 and all(r["ranker"].startswith("paperwire+fusion-")
                                      for r in kept.values())
        # An older kept model is served as it is, with the reader's current signals: the
        # paper marked "not interested" since is left out, and nothing is trained.
        for_you.mark_not_interested(store, ann.id, NEAR[0], None)
        composer = Composer(settings, store)
        composer.recommender.train_budget_s = 0.0
        digest = composer.compose(next(s for s in subs if s.user_id == ann.id), "daily",
                                  LATEST)
        sent = [p.arxiv_id for p in digest.sections[0].papers]
        assert sent and NEAR[0] not in sent and set(NEAR[1:]) <= set(sent)
        assert (composer.recommender.trainings, composer.for_you_deferred) == (0, 0)
        assert composer.recommender.models.loads == 1
