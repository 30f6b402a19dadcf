"""Code and project links: found in abstracts and comments, imported from HF; "has code"."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from click.testing import CliRunner
from sqlalchemy import text

from paperwire.cli import cli
from paperwire.links import find_links, normalise_url
from paperwire.models import Filters
from paperwire.search import Searcher
from paperwire.signals import import_hf_daily
from paperwire.sources.hf_daily import HfDailySource
from paperwire.store import Store
from paperwire.store.database import _alembic_config
from tests.app import load_corpus, make_app, make_settings
from tests.helpers import paper
from tests.shared_data import arxiv_records


def test_repository_urls_are_normalised_and_found_once() -> None:
    assert normalise_url("https://www.github.com/sremedios/eclare.") == (
        "https://github.com/sremedios/eclare", "code", "github.com")
    assert normalise_url("https://github.com/o/r.git") == normalise_url(
        "http://github.com/o/r/tree/main/src")
    assert normalise_url("https://github.com/openai") is None  # an organisation, not a repo
    assert normalise_url("https://doi.org/10.1/x") is None
    assert normalise_url("https://taco-group.github.io/DecAlign/")[1] == "project"
    found = find_links("Code at https://github.com/a/b. Also (https://github.com/a/b/) and "
                       "our project page: https://example.org/proj, see https://doi.org/1",
                       "abstract")
    assert [(link.url, link.kind) for link in found] == [
        ("https://github.com/a/b", "code"), ("https://example.org/proj", "project")]
    assert find_links(None, "comments") == [] and find_links("no links here", "x") == []


def test_real_abstracts_yield_code_links() -> None:
    records = arxiv_records(2000)
    with_code = [r for r in records
                 if any(link.kind == "code" for link in
                        find_links(r["summary"], "abstract") + find_links(r["comment"], "c"))]
    mentions = [r for r in records if "github.com/" in (r["summary"] + (r["comment"] or ""))]
    # Every abstract that names a GitHub repository yields its code link (a few name only
    # a user or organisation page, which is not a repository).
    assert len(with_code) >= 0.9 * len(mentions) > 100


def test_links_follow_the_text_and_filter_search(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)
    with Store.open(settings) as store:
        load_corpus(store, tmp_path, index=True, papers=[
            paper("2501.00001", abstract="Graph learning. Code: https://github.com/x/graphs."),
            paper("2501.00002", abstract="Graph learning without code.",
                  comments="Project page https://x.github.io/graphs2"),
            paper("2501.00003", abstract="More graph learning.")])
        links = store.links_of(["2501.00001", "2501.00002", "2501.00003"])
        assert [link.url for link in links["2501.00001"]] == ["https://github.com/x/graphs"]
        assert [link.kind for link in links["2501.00002"]] == ["project"]
        assert "2501.00003" not in links
        searcher = Searcher.from_settings(settings, store, meaning=False)
        hits = searcher.search("graph learning", mode="lexical", filters=Filters(code=True))
        assert [h.paper.arxiv_id for h in hits.hits] == ["2501.00001"]
        # A new version whose abstract drops the link drops it, and the filter follows.
        store.write_batch([paper("2501.00001", version=2, abstract="Graph learning.")])
        store.write_batch([paper("2501.00003", version=2,
                                 abstract="Graph learning: https://gitlab.com/g/r")])
        assert "2501.00001" not in store.links_of(["2501.00001"])
        hits = searcher.search("graph learning", mode="lexical", filters=Filters(code=True))
        assert [h.paper.arxiv_id for h in hits.hits] == ["2501.00003"]


def test_hf_import_brings_the_repository_and_its_stars(tmp_path: Path, store: Store) -> None:
    item = {"date": "2025-03-14", "item": {"paper": {
        "id": "2503.00001", "title": "T", "summary": "An abstract.", "upvotes": 3,
        "authors": [{"name": "Ada Lovelace"}], "publishedAt": "2025-03-12T17:59:59.000Z",
        "githubRepo": "https://github.com/Ada/engine/", "githubStars": 41,
        "projectPage": "https://ada.example.org/engine"}}}
    path = tmp_path / "daily.jsonl"
    path.write_text(json.dumps(item) + "\n", encoding="utf-8")
    assert import_hf_daily(HfDailySource(path), store, progress=False).ok
    links = store.links_of(["2503.00001"])["2503.00001"]
    assert [(x.url, x.kind, x.stars, x.source) for x in links] == [
        ("https://github.com/Ada/engine", "code", 41, "hf-daily"),
        ("https://ada.example.org/engine", "project", None, "hf-daily")]
    # Re-importing replaces the signal's links (new star count), never adds a second row.
    item["item"]["paper"]["githubStars"] = 50  # type: ignore[index]
    path.write_text(json.dumps(item).replace("2025-03-14", "2025-03-15") + "\n",
                    encoding="utf-8")
    assert import_hf_daily(HfDailySource(path), store, progress=False).ok
    again = store.links_of(["2503.00001"])["2503.00001"]
    assert [(x.url, x.stars) for x in again][0] == ("https://github.com/Ada/engine", 50)
    assert len(again) == 2


def test_the_migration_finds_links_in_papers_already_stored(database_url: str) -> None:
    with Store.from_url(database_url, migrate_schema=False) as bare, \
            bare.engine.begin() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0016")
        conn.execute(text(
            "INSERT INTO papers (arxiv_id, title, abstract, authors, primary_category, "
            "categories, content_hash, source, created_at, modified_at, comments) VALUES "
            "('2401.00001', 'T', 'See https://github.com/o/r.', '[]', 'cs.LG', '[]', 'h', "
            "'jsonl', :now, :now, NULL)"),
            {"now": "2026-01-01 00:00:00"})
    with Store.from_url(database_url) as store:
        links = store.links_of(["2401.00001"])
        assert [x.url for x in links["2401.00001"]] == ["https://github.com/o/r"]
        assert store.rows_with_code() == frozenset(store.row_ids(["2401.00001"]).values())


def test_the_cli_searches_papers_with_code(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)
    with Store.open(settings) as store:
        load_corpus(store, tmp_path, index=True, papers=[
            paper("2501.00001", abstract="Sparse attention. https://github.com/s/attn"),
            paper("2501.00002", abstract="Sparse attention, no code.")])
    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path), "--database-url", database_url, "search",
              "sparse attention", "--mode", "lexical", "--has-code", "--json"],
        env={"PAPERWIRE_EMBEDDER": "none"})
    assert result.exit_code == 0, result.output
    assert [h["arxiv_id"] for h in json.loads(result.output)["hits"]] == ["2501.00001"]


def test_cards_and_the_paper_page_show_code_links(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, index=True, papers=[
            paper("2501.00001", abstract="Sparse attention. https://github.com/s/attn",
                  comments="Project page: https://s.github.io/attn"),
            paper("2501.00002", abstract="Sparse attention without code.")]) as built:
        client = built.client()
        page = client.get("/papers/2501.00001")
        assert 'class="code-link" href="https://github.com/s/attn"' in page.text
        assert 'class="project-link" href="https://s.github.io/attn"' in page.text
        data = client.get("/papers/2501.00001.json").json()
        assert [link["url"] for link in data["paper"]["code"]] == [
            "https://github.com/s/attn", "https://s.github.io/attn"]
        hits = client.get("/search.json", params={"q": "sparse attention",
                                                  "mode": "lexical"}).json()
        by_id = {h["arxiv_id"]: h for h in hits["hits"]}
        assert by_id["2501.00001"]["code"][0]["kind"] == "code"
        assert by_id["2501.00002"]["code"] == []
        listing = client.get("/search", params={"q": "sparse attention", "mode": "lexical"})
        assert listing.text.count('class="code-link"') == 1


def test_has_code_filters_the_search_page_and_the_api(tmp_path: Path, database_url: str
                                                      ) -> None:
    with make_app(tmp_path, database_url, index=True, papers=[
            paper("2501.00001", abstract="Sparse attention. https://github.com/s/attn"),
            paper("2501.00002", abstract="Sparse attention without code.")]) as built:
        client = built.client()
        page = client.get("/search.json", params={"q": "sparse attention", "code": "1",
                                                  "mode": "lexical"}).json()
        assert [h["arxiv_id"] for h in page["hits"]] == ["2501.00001"] and page["code"]
        api = client.get("/api/search", params={"q": "sparse attention", "code": "true",
                                                "mode": "lexical"}).json()
        assert [h["arxiv_id"] for h in api["hits"]] == ["2501.00001"]
        assert client.get("/search", params={"q": "x", "code": "yes"}).status_code == 400


def test_has_code_holds_for_papers_a_library_note_matches(tmp_path: Path,
                                                          database_url: str) -> None:
    # The words are only in the reader's notes, not in the papers: the library's own match
    # finds both, and "has code" keeps the one with a repository.
    with make_app(tmp_path, database_url, index=True,
                  users=[("ann@example.org", "user", "Ann")],
                  papers=[paper("2501.00001", abstract="Graphs. https://github.com/s/attn"),
                          paper("2501.00002", abstract="Graphs, no code.")]) as built:
        ann = built.store.user_by_email("ann@example.org")
        assert ann is not None
        found = built.store.default_collection(ann.id, "Reading")
        rows = built.store.row_ids(["2501.00001", "2501.00002"])
        built.store.add_collection_items(found["id"], [
            {"import_key": f"arxiv:{i}", "paper_id": r, "note": "sparse attention"}
            for i, r in rows.items()], ann.id)
        client = built.client(signed_in="ann@example.org")

        def ids(**params: str) -> list[str]:
            answer = client.get("/search.json", params={"q": "sparse attention",
                                                        "library": "mine", "mode": "lexical",
                                                        **params})
            assert answer.status_code == 200, answer.text
            return sorted(h["arxiv_id"] for h in answer.json()["hits"])

        assert ids() == ["2501.00001", "2501.00002"]
        assert ids(code="1") == ["2501.00001"]
