"""/for-you, its JSON twin, feed and API: ranked with reasons, "not interested" acting at
once and on neighbours, cold start, privacy, feed tokens, bounds (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from paperwire import accounts, for_you
from tests.for_you_corpus import FAR, NEAR, SAVED, for_you_app, retrained
from tests.helpers import csrf, post_form


def _ids(data: dict[str, Any]) -> list[str]:
    return [p["arxiv_id"] for p in data["papers"]]


def test_for_you_ranks_papers_like_the_saved_ones_first_and_says_why(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        client = built.client(signed_in=ann.email)
        answer = client.get("/for-you.json")
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "private, no-store"
        data = answer.json()
        ids = _ids(data)
        assert set(ids) == set(NEAR + FAR), "the window's papers, none of the saved ones"
        assert set(ids[:3]) == set(NEAR)
        top = data["papers"][0]
        assert top["why"] and top["reasons"][0]["papers"][0] in SAVED
        assert data["cold_start"] is None and data["positives"] == len(SAVED)
        html = client.get("/for-you")
        assert html.status_code == 200 and top["why"].split("“")[0] in html.text
        assert 'action="/for-you/not-interested"' in html.text
        assert client.get("/for-you", headers={"Accept": "application/json"}).json() == data


def test_not_interested_removes_the_paper_at_once_and_lowers_its_neighbours(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        client = built.client(signed_in=ann.email)
        before = {p["arxiv_id"]: p["score"] for p in client.get("/for-you.json").json()["papers"]}
        gone = NEAR[0]
        answer = post_form(client, "/for-you/not-interested", {"arxiv_id": gone},
                           follow_redirects=False)
        assert answer.status_code == 303
        # At once: the paper is gone, ranked by the model it had while the retrain runs.
        now = {p["arxiv_id"]: p["score"] for p in client.get("/for-you.json").json()["papers"]}
        assert gone not in now
        retrained(built)
        after = {p["arxiv_id"]: p["score"] for p in client.get("/for-you.json").json()["papers"]}
        assert gone not in after
        for near in NEAR[1:]:
            assert after[near] < before[near], near
        for far in FAR:
            assert after[far] <= before[far] + 1e-6


def test_a_view_never_waits_for_a_retrain(tmp_path: Path, database_url: str,
                                          onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        client = built.client(signed_in=ann.email)
        client.get("/for-you.json")
        recommender = built.app.state.site.recommender()
        trained = recommender.trainings
        client.get("/for-you.json?window=month")
        client.get("/for-you.json?window=day")
        assert recommender.trainings == trained
        assert recommender.retrainer is not None
        first = client.get("/for-you.json").json()["papers"]
        # Hold the background trainer: the view after a mark must not wait for it.
        with recommender.retrainer.held():
            post_form(client, "/for-you/not-interested", {"arxiv_id": FAR[0]})
            stale = client.get("/for-you.json").json()["papers"]
            assert recommender.trainings == trained, "the view did not train"
            assert stale == [p for p in first if p["arxiv_id"] != FAR[0]], \
                "the previous model's ranking, less the paper marked"
        retrained(built)
        assert recommender.trainings == trained + 1
        client.get("/for-you.json")
        client.get("/for-you.json")
        assert recommender.trainings == trained + 1, "the retrained model is picked up"


def test_another_host_reuses_the_kept_model_after_an_ingest(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    from paperwire.for_you_rank import Recommender, product_corpus
    from paperwire.search import Searcher
    from paperwire.store import Store
    from tests.helpers import paper

    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        client = built.client(signed_in=ann.email)
        first = client.get("/for-you.json").json()
        kept = built.store.rec_model(first["profile"]["id"], data=False)
        assert kept is not None and kept["size"] > 0
        # Papers arrive; another process starts: its own Store, feature space (built with
        # the kept vocabulary, so its IDF is the first one's) and Recommender.
        built.store.write_batch([paper(f"2501.{n:05d}", title=f"Speech coding {n}",
                                       abstract="neural speech codecs") for n in range(5)])
        with Store.open(built.settings) as other:
            searcher = Searcher.from_settings(built.settings, other, embedder=onnx_embedder)
            recommender = Recommender(other, product_corpus(other, searcher))
            profile = for_you.chosen(other, ann)
            got = recommender.for_you(profile)
            assert recommender.trainings == 0 and recommender.models.loads == 1
            scores = {r.arxiv_id: round(r.score, 4) for r in got.shown}
        assert scores == {p["arxiv_id"]: p["score"] for p in first["papers"]}


def test_a_damaged_kept_model_is_retrained_over(tmp_path: Path, database_url: str,
                                                onnx_embedder: Any) -> None:
    from datetime import UTC, datetime

    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        client = built.client(signed_in=ann.email)
        first = client.get("/for-you.json").json()
        pid = first["profile"]["id"]
        store = built.store
        kept = store.rec_model(pid)
        assert kept is not None
        # A row written after the kept one wins; one read earlier never overwrites it.
        assert not store.save_rec_model(pid, version=kept["version"], space_key="x",
                                        ranker="paperwire", read_at=datetime(2000, 1, 1),
                                        train_ms=1.0, data=b"old")
        assert store.save_rec_model(pid, version=kept["version"],
                                    space_key=kept["space_key"], ranker="paperwire",
                                    read_at=datetime.now(UTC).replace(tzinfo=None),
                                    train_ms=1.0, data=kept["data"][:-50])
        site = built.app.state.site
        site._recommender = None  # a restarted process: nothing in memory
        again = client.get("/for-you.json").json()
        assert site.recommender().trainings == 1, "the damaged model was not used"
        assert [p["arxiv_id"] for p in again["papers"]] == \
            [p["arxiv_id"] for p in first["papers"]]
        profile = for_you.chosen(store, ann, pid)
        assert site.recommender().models.stored(profile) is not None, "kept whole again"
        for_you.delete(store, profile)
        assert store.rec_model(pid) is None


def test_cold_start_asks_for_seeds_and_offers_papers_to_rate(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, _, bob):
        client = built.client(signed_in=bob.email)
        data = client.get("/for-you.json").json()
        cold = data["cold_start"]
        assert cold and cold["import_url"] == "/library" and cold["to_rate"]
        assert "import a .bib file" in client.get("/for-you").text
        post_form(client, "/for-you/rate", {"arxiv_id": NEAR[0], "verdict": "more"})
        data = client.get("/for-you.json").json()
        assert data["profile"]["seed_papers"] == [NEAR[0]] and data["positives"] == 1
        assert _ids(data)[:2] and set(_ids(data)[:2]) <= set(NEAR[1:])


def test_nobody_else_sees_a_profile_its_reasons_or_its_feed(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, bob):
        mine = built.client(signed_in=ann.email)
        profile = mine.get("/for-you.json").json()["profile"]["id"]
        other = built.client(signed_in=bob.email)
        assert other.get(f"/for-you.json?profile={profile}").status_code == 404
        assert other.get(f"/api/recommendations?profile={profile}").status_code == 404
        answer = post_form(other, f"/for-you/profiles/{profile}", {"action": "delete"})
        assert answer.status_code == 404
        assert built.store.rec_profile(profile) is not None
        anonymous = built.client()
        redirect = anonymous.get("/for-you", follow_redirects=False)
        assert redirect.status_code == 303 and redirect.headers["location"].startswith(
            "/signin")
        assert anonymous.get("/for-you.json").status_code == 401
        assert anonymous.get("/for-you/profiles.json").status_code == 401
        assert anonymous.get("/api/recommendations").status_code == 401
        assert anonymous.get("/feeds/for-you/not-a-token.atom").status_code == 404


def test_feed_token_works_until_revoked_or_replaced(tmp_path: Path, database_url: str,
                                                    onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        client = built.client(signed_in=ann.email)
        profile = client.get("/for-you.json").json()["profile"]["id"]
        made = post_form(client, f"/for-you/profiles/{profile}", {"action": "feed"})
        url = re.search(r'value="(http[^"]+\.atom)"', made.text)
        assert url, made.text
        path = url.group(1).removeprefix(built.settings.base_url)
        reader = built.client()  # a feed reader: no cookies
        feed = reader.get(path)
        assert feed.status_code == 200 and NEAR[0] in feed.text
        assert feed.headers["cache-control"] == "private, no-store"
        assert "/for-you/not-interested/" in feed.text
        assert reader.get(path.removesuffix(".atom") + ".json").json()["papers"][0]["why"]
        post_form(client, f"/for-you/profiles/{profile}", {"action": "feed"})
        assert reader.get(path).status_code == 404, "a new address retires the old one"
        post_form(client, f"/for-you/profiles/{profile}", {"action": "revoke"})
        assert not built.store.rec_profile(profile)["has_feed"]  # type: ignore[index]


def test_signed_link_marks_in_one_click_and_its_page_changes_nothing(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        profile = for_you.chosen(built.store, ann)
        token = for_you.not_interested_token(built.settings, profile, NEAR[1])
        mail_client = built.client()
        assert mail_client.get(f"/for-you/not-interested/{token}").status_code == 200
        reader = built.client(signed_in=ann.email)
        assert NEAR[1] in _ids(reader.get("/for-you.json").json())
        assert mail_client.post(f"/for-you/not-interested/{token}").status_code == 200
        assert NEAR[1] not in _ids(reader.get("/for-you.json").json())
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        assert mail_client.post(f"/for-you/not-interested/{forged}").status_code == 400


def test_profiles_are_checked_and_bounded(tmp_path: Path, database_url: str,
                                          onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        client = built.client(signed_in=ann.email)
        for form, wrong in (({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
                            ({"name": "T", "trending": "2"}, "trending"),
                            ({"name": "T", "source": "collections"}, "collections"),
                            ({"name": "T", "collection_999": "on"}, "collections"),
                            ({"name": "T", "seed_papers": "not-an-id"}, "seed_papers")):
            answer = post_form(client, "/for-you/profiles", form,
                               headers={"Accept": "application/json"})
            assert answer.status_code == 400 and wrong in answer.json()["error"], form
        made = post_form(client, "/for-you/profiles", {
            "name": "Thesis", "trending": "0.3", "seed_text": "graph networks for molecules"})
        assert made.status_code == 200
        names = [p["name"] for p in client.get("/for-you/profiles.json").json()["profiles"]]
        assert names == ["Thesis"]
        twin = post_form(client, "/for-you/profiles", {"name": "thesis"},
                         headers={"Accept": "application/json"})
        assert twin.status_code == 400 and "already" in twin.json()["error"]


def test_api_needs_a_token_and_bounds_its_parameters(tmp_path: Path, database_url: str,
                                                     onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        token = accounts.create_api_token(built.store, ann, "script")["token"]
        api = built.client(headers={"Authorization": f"Bearer {token}"})
        data = api.get("/api/recommendations?window=month&limit=2").json()
        assert len(data["papers"]) == 2 and set(_ids(data)) <= set(NEAR)
        for bad in ("limit=0", "limit=101", "window=year", "profile=" + "x" * 101):
            assert api.get(f"/api/recommendations?{bad}").status_code == 400, bad
        assert api.get("/api/recommendations?profile=nope").status_code == 404
        schema = built.client().get("/api/openapi.json").json()
        assert "/api/recommendations" in schema["paths"]
        assert csrf(built.client())  # the site still serves pages to anyone


def test_reset_forgets_marks_and_a_rename_keeps_the_profile(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        client = built.client(signed_in=ann.email)
        profile = client.get("/for-you.json").json()["profile"]["id"]
        post_form(client, "/for-you/not-interested", {"arxiv_id": NEAR[0]})
        assert NEAR[0] not in _ids(client.get("/for-you.json").json())
        post_form(client, f"/for-you/profiles/{profile}", {"action": "reset"})
        assert NEAR[0] in _ids(client.get("/for-you.json").json())
        post_form(client, f"/for-you/profiles/{profile}", {
            "action": "save", "shown": "1", "name": "Molecules", "source": "all",
            "trending": "0.5", "use_votes": "on"})
        data = client.get("/for-you.json").json()["profile"]
        assert (data["id"], data["name"], data["trending"], data["in_digest"]) == \
            (profile, "Molecules", 0.5, False)


def test_a_view_during_the_space_build_is_told_to_come_back(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    from paperwire.for_you_models import space_ready

    with for_you_app(tmp_path, database_url, onnx_embedder) as (built, ann, _):
        client = built.client(signed_in=ann.email)
        recommender = built.app.state.site.recommender()
        recommender.space_wait_s = 0.0  # the build has only just started when it is asked
        answer = client.get("/for-you.json")
        assert answer.status_code == 503 and "getting ready" in answer.text
        assert answer.headers["Retry-After"] == "15"
        assert space_ready(recommender.corpus, built.store, 60)
        assert client.get("/for-you.json").status_code == 200
