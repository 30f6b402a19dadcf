"""The Zotero source against a loopback server replaying Web API v3 responses (fixtures/zotero).

Pagination by ``Link: rel="next"``, ``Backoff`` and ``429 Retry-After`` waits (recorded, not
slept), 403/404/unreachable/timeout errors that name what is wrong, and the item mapping:
arXiv ids wherever Zotero keeps them, DOIs, tags, child notes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paperwire.errors import ConfigError, ZoteroError
from paperwire.settings import Settings
from paperwire.sources.zotero import ZoteroLibrary, fetch_zotero_collection, zotero_entries
from tests.live_server import free_port
from tests.replay_server import (  # noqa: F401  (replay_fixture provides the "replay" fixture)
    RecordingSleep,
    ReplayServer,
    Reply,
    replay_fixture,
)
from tests.zotero_data import (
    API_KEY,
    COLLECTION,
    LIBRARY_ID,
    TEXT_HEADERS,
    first_page,
    is_items_request,
    serve,
)

pytest.importorskip("pyzotero", reason="pyzotero (the `zotero` extra) is not installed: "
                    "`make install` adds it")

LIBRARY = ZoteroLibrary(LIBRARY_ID, API_KEY)


def settings(url: str, tmp_path: Path, timeout: float = 5.0) -> Settings:
    return Settings(home=tmp_path, zotero_api_url=url, http_timeout=timeout)


def test_a_collection_is_read_page_after_page(replay: ReplayServer, tmp_path: Path) -> None:
    serve(replay, "collection_items.json")
    sleep = RecordingSleep()
    parsed = fetch_zotero_collection(settings(replay.url, tmp_path), LIBRARY, COLLECTION,
                                     sleep=sleep, page_size=2)
    assert [r.param("start") for r in replay.requests] == [None, "2", "4"]
    first = replay.requests[0]
    assert first.headers["Zotero-API-Version"] == "3"
    assert first.headers["Authorization"] == f"Bearer {API_KEY}"
    assert first.param("limit") == "2" and first.param("format") == "json"
    # The second page carried "Backoff: 3": the third request waited for it (slept here
    # through RecordingSleep, so no time passes).
    assert len(sleep.waits) == 1 and 2.0 < sleep.waits[0] <= 3.0
    # Six items: three references, a child note, a PDF attachment, an item with nothing.
    assert [e.key for e in parsed.entries] == ["QX4C8VZA", "7N2EVFDS", "D8P4GA6W"]
    assert [str(e) for e in parsed.errors] == [
        "line 6 (T6Y2NCRU): webpage has neither a title nor creators"]


def test_items_map_to_citation_entries(replay: ReplayServer, tmp_path: Path) -> None:
    serve(replay, "collection_items.json")
    parsed = fetch_zotero_collection(settings(replay.url, tmp_path), LIBRARY, COLLECTION,
                                     sleep=RecordingSleep(), page_size=2)
    attention, resnet, alexnet = parsed.entries
    assert attention.title == "Attention Is All You Need" and attention.kind == "preprint"
    assert attention.authors[:2] == ("Ashish Vaswani", "Noam Shazeer")
    assert len(attention.authors) == 8 and attention.year == 2017
    assert attention.arxiv_id == "1706.03762" and attention.doi == "10.48550/arxiv.1706.03762"
    assert attention.tags == ("Computer Science - Computation and Language",
                              "Computer Science - Machine Learning", "transformers")
    assert attention.note == "Read for chapter 2.\nCompare with the <RNN> baselines in table 2"
    assert attention.line == 1
    # The older arXiv translator kept the id only in Extra ("arXiv: 1512.03385").
    assert (resnet.arxiv_id, resnet.doi, resnet.note, resnet.tags) == \
        ("1512.03385", None, None, ("vision",))
    # No arXiv id; the DOI is in Extra; the editor is not an author.
    assert (alexnet.arxiv_id, alexnet.doi, alexnet.year) == (None, "10.1145/3065386", 2012)
    assert alexnet.authors == ("Alex Krizhevsky", "Ilya Sutskever", "Geoffrey E Hinton")
    assert alexnet.kind == "conferencePaper" and alexnet.line == 5


def test_a_collection_named_by_name(replay: ReplayServer, tmp_path: Path) -> None:
    serve(replay, "collections.json", "collection_items.json")
    parsed = fetch_zotero_collection(settings(replay.url, tmp_path), LIBRARY,
                                     "thesis READING", sleep=RecordingSleep(), page_size=2)
    assert replay.requests[0].path == f"/users/{LIBRARY_ID}/collections"
    assert len(parsed.entries) == 3


@pytest.mark.parametrize(("name", "message"), [
    ("Reading list", "has no collection named 'Reading list'; it has 'Group meeting', "
                     "'Group meeting', 'Thesis reading'"),
    ("Group meeting", "has 2 collections named 'Group meeting' (keys B4XF6MNC, KIMI8BSG): "
                      "give the key"),
])
def test_a_name_that_names_no_single_collection(replay: ReplayServer, tmp_path: Path,
                                                name: str, message: str) -> None:
    serve(replay, "collections.json")
    with pytest.raises(ZoteroError, match="^" + re.escape("Zotero user library 475425 " + message)):
        fetch_zotero_collection(settings(replay.url, tmp_path), LIBRARY, name)


def test_429_with_retry_after_is_waited_out(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add(is_items_request(), Reply(429, "Too Many Requests",
                                         [*TEXT_HEADERS, ("Retry-After", "2")]), first_page())
    serve(replay, "collection_items.json")
    sleep = RecordingSleep()
    parsed = fetch_zotero_collection(settings(replay.url, tmp_path), LIBRARY, COLLECTION,
                                     sleep=sleep, page_size=2)
    assert [r.param("start") for r in replay.requests] == [None, None, "2", "4"]
    assert 1.0 < sleep.waits[0] <= 2.0  # Retry-After: 2, then Backoff: 3 on page two
    assert len(parsed.entries) == 3


def test_rate_limiting_that_never_ends_is_an_error(replay: ReplayServer, tmp_path: Path
                                                   ) -> None:
    replay.add(is_items_request(), Reply(429, "Too Many Requests",
                                         [*TEXT_HEADERS, ("Retry-After", "1")]))
    sleep = RecordingSleep()
    with pytest.raises(ZoteroError, match="still rate-limiting Zotero user library 475425"):
        fetch_zotero_collection(settings(replay.url, tmp_path), LIBRARY, COLLECTION,
                                sleep=sleep)
    assert len(replay.requests) == 3 and len(sleep.waits) >= 2


def test_a_wait_too_long_is_not_sat_through(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add(is_items_request(), Reply(429, "Too Many Requests",
                                         [*TEXT_HEADERS, ("Retry-After", "7200")]))
    sleep = RecordingSleep()
    with pytest.raises(ZoteroError, match="asked us to wait 7,200 s .* than the 120 s"):
        fetch_zotero_collection(settings(replay.url, tmp_path), LIBRARY, COLLECTION,
                                sleep=sleep)
    assert len(replay.requests) == 1 and sleep.waits == []


def test_a_refused_key_is_named(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add(is_items_request(), Reply(403, "Forbidden", TEXT_HEADERS))
    with pytest.raises(ZoteroError, match=r"refused the API key for Zotero user library "
                                          r"475425 \(HTTP 403\)"):
        fetch_zotero_collection(settings(replay.url, tmp_path), LIBRARY, COLLECTION)


def test_an_unknown_collection_key_is_named(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add(lambda seen: True, Reply(404, "Collection not found", TEXT_HEADERS))
    with pytest.raises(ZoteroError, match=r"library 475425 has no collection 'ZZZZ2345' "
                                          r"\(HTTP 404\)"):
        fetch_zotero_collection(settings(replay.url, tmp_path), LIBRARY, "ZZZZ2345")
    assert replay.requests[0].path == f"/users/{LIBRARY_ID}/collections/ZZZZ2345/items"


def test_a_group_library_is_read_under_groups(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add(lambda seen: True, Reply(404, "Not found", TEXT_HEADERS))
    with pytest.raises(ZoteroError, match="Zotero group library 2175430 has no collection"):
        fetch_zotero_collection(settings(replay.url, tmp_path),
                                ZoteroLibrary("2175430", API_KEY, "group"), COLLECTION)
    assert replay.requests[0].path == f"/groups/2175430/collections/{COLLECTION}/items"


def test_an_unreachable_host_is_named(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ZoteroError, match=f"cannot reach Zotero at {url}: ConnectError"):
        fetch_zotero_collection(settings(url, tmp_path), LIBRARY, COLLECTION)


def test_a_server_that_does_not_answer_times_out(replay: ReplayServer, tmp_path: Path
                                                 ) -> None:
    replay.add(lambda seen: True, Reply(200, "[]", TEXT_HEADERS, delay=3.0))
    with pytest.raises(ZoteroError, match="did not answer within 0.5 s"):
        fetch_zotero_collection(settings(replay.url, tmp_path, timeout=0.5), LIBRARY,
                                COLLECTION)


def test_a_reply_that_is_not_json(replay: ReplayServer, tmp_path: Path) -> None:
    replay.add(lambda seen: True, Reply(200, "<html>proxy error</html>",
                                        [("Content-Type", "application/json")]))
    with pytest.raises(ZoteroError, match="sent a reply that is not JSON"):
        fetch_zotero_collection(settings(replay.url, tmp_path), LIBRARY, COLLECTION)


@pytest.mark.parametrize(("library_id", "key", "kind", "message"), [
    ("alice", API_KEY, "user", "a Zotero user id is a number"),
    ("475425", "", "user", "a Zotero API key is letters and digits"),
    ("475425", "key with\nnewline", "user", "a Zotero API key is letters and digits"),
    ("475425", API_KEY, "team", "a Zotero library is 'user' or 'group'"),
])
def test_bad_credentials_are_refused_before_any_request(library_id: str, key: str, kind: str,
                                                        message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ZoteroLibrary(library_id, key, kind)


def test_an_empty_collection_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="by its key or its name"):
        fetch_zotero_collection(settings("http://127.0.0.1:9", tmp_path), LIBRARY, "  ")


def test_arxiv_ids_wherever_zotero_keeps_them() -> None:
    def item(key: str, **data: object) -> dict[str, object]:
        return {"key": key, "data": {"key": key, "itemType": "journalArticle",
                                     "title": f"Paper {key}", **data}}
    parsed = zotero_entries([
        item("A", publicationTitle="arXiv:1810.04805 [cs]"),
        item("B", url="https://arxiv.org/pdf/hep-th/9901001v2"),
        item("C", archiveID="arXiv:2503.11731"),
        item("D", DOI="10.48550/arXiv.2401.00001"),
        item("E", extra="Citation Key: smith2020\narXiv: 2001.08361"),
        item("F", url="https://example.org/not-arxiv/1234.5678"),
        {"key": "G", "data": {"key": "G", "itemType": "note", "note": "<p>standalone</p>"}},
        {"key": "H"},
    ])
    assert [(e.key, e.arxiv_id) for e in parsed.entries] == [
        ("A", "1810.04805"), ("B", "hep-th/9901001"), ("C", "2503.11731"),
        ("D", "2401.00001"), ("E", "2001.08361"), ("F", None)]
    assert [str(e) for e in parsed.errors] == ["line 8: not a Zotero item (no 'data')"]


def test_the_cli_imports_a_zotero_collection_once(replay: ReplayServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from paperwire.cli import cli
    from paperwire.store import Store
    from tests.helpers import make_user

    home = tmp_path / "home"
    with Store.open(Settings(home=home, progress=False)) as store:
        make_user(store, "ada@example.org")
    monkeypatch.setenv("PAPERWIRE_ZOTERO_API_URL", replay.url)
    args = ["--home", str(home), "--no-progress", "library", "zotero", "--user",
            "ada@example.org", "--collection", "From Zotero", "--zotero-library", LIBRARY_ID,
            "--zotero-collection", COLLECTION, "--no-fetch", "--page-size", "2"]
    refused = CliRunner().invoke(cli, args, env={"ZOTERO_API_KEY": ""})
    assert refused.exit_code == 1 and "ZOTERO_API_KEY" in refused.output
    serve(replay, "collection_items.json")
    done = CliRunner().invoke(cli, args, env={"ZOTERO_API_KEY": API_KEY})
    assert done.exit_code == 0, done.output
    assert replay.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"
    # The three references match nothing in an empty store: kept, and each one named.
    assert "3 unmatched (kept)" in done.output and "1 rejected" in done.output
    assert done.output.count("unmatched: line") == 3
    serve(replay, "collection_items.json")
    again = CliRunner().invoke(cli, args, env={"ZOTERO_API_KEY": API_KEY})
    assert again.exit_code == 0 and "0 added" in again.output
