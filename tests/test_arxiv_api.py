"""arXiv API lookups: recorded Atom responses parsed, and batches run against a loopback server.

The recordings answer one id_list each; a batch of several ids is answered by merging the
recorded entries of its ids into one feed (what arXiv returns for a multi-id id_list).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import etree

from paperwire.errors import HarvestError
from paperwire.models import HarvestState, Limits, Rejection, validate
from paperwire.settings import Settings
from paperwire.sources import Source
from paperwire.sources.arxiv_api import ArxivAPISource, entry_to_paper, parse_feed
from tests.replay_server import (  # noqa: F401  (replay_fixture provides the "replay" fixture)
    RecordingSleep,
    ReplayServer,
    Reply,
    Seen,
    replay_fixture,
    split,
)
from tests.shared_data import SHARED_DATA, require

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
FIXTURES = SHARED_DATA / "arxiv" / "fixtures" / "api-atom"
ATOM_FILES = sorted(p.name for p in (FIXTURES / "atom").glob("*.atom.xml")) or ["(missing)"]
RECORDED = {  # id_list → recorded-json file
    "2104.12255v1": "id_2104.12255v1_s0_m100_6ae69987ffe1.json",
    "quant-ph/0201082v1": "id_quant-ph_0201082v1_s0_m100_86989fe779ef.json",
    "astro-ph/0601001": "id_astro-ph_0601001_s0_m100_3150dca9dc76.json",
    "1605.08386": "id_1605.08386_s0_m100_199195aa31ad.json",
    "1707.08567": "id_1707.08567_s0_m100_6a1afebfc6a3.json",
    "0808.05394": "id_0808.05394_s0_m100_7b0c7d0a7cdd.json",
    "0000.0000": "id_0000.0000_s0_m100_8b51d9633a68.json",
    "0808.05394,1707.08567": "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json",
    "abc": "id_abc_s0_m100_b79c8dcf6bc3.json",
}
ATOM_TYPE = [("Content-Type", "application/atom+xml; charset=UTF-8")]
SETTINGS = Settings(request_delay=3.0, max_retries=2, http_timeout=5.0)


def recorded(id_list: str) -> dict[str, Any]:
    path = require(FIXTURES / "recorded-json" / RECORDED[id_list])
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def recorded_entries(id_list: str) -> list[Any]:
    root = etree.fromstring(recorded(id_list)["body"].encode("utf-8"))
    return list(root.findall(f"{ATOM}entry"))


def merged_feed(seen: Seen) -> Reply:
    """What arXiv answers for a multi-id id_list: the recorded entries of each id, in one feed."""
    ids = (seen.param("id_list") or "").split(",")
    if ",".join(ids) in RECORDED:
        return Reply(recorded(",".join(ids))["status_code"], recorded(",".join(ids))["body"],
                     ATOM_TYPE)
    root = etree.fromstring(recorded(ids[0])["body"].encode("utf-8"))
    for entry in root.findall(f"{ATOM}entry"):
        root.remove(entry)
    for one in ids:
        for entry in recorded_entries(one):
            root.append(entry)
    return Reply(200, etree.tostring(root, xml_declaration=True, encoding="UTF-8"), ATOM_TYPE)


def fixes(text: str) -> str:
    """The fixture text as a reader should see it: whitespace collapsed, and the UTF-8 that the
    recordings hold decoded twice ("WÃ¼bben") decoded once."""
    text = " ".join(text.split())
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def source(replay: ReplayServer, sleep: RecordingSleep, ids: list[str],
           **kwargs: Any) -> ArxivAPISource:
    return ArxivAPISource(SETTINGS, ids, endpoint=replay.url + "/api/query", sleep=sleep,
                          **kwargs)


# --- parsing every recorded Atom response --------------------------------------------------

@pytest.mark.parametrize("name", ATOM_FILES)
def test_every_atom_fixture_parses_to_its_values(name: str) -> None:
    content = require(FIXTURES / "atom" / name).read_bytes()
    root = etree.fromstring(content)
    feed = parse_feed(content)
    entries = root.findall(f"{ATOM}entry")
    papers = [e for e in entries if "/api/errors" not in (e.findtext(f"{ATOM}id") or "")]
    assert len(feed.entries) == len(papers)
    assert len(feed.errors) == len(entries) - len(papers)
    for entry in papers:
        paper = validate(entry_to_paper(entry), Limits())
        url = entry.findtext(f"{ATOM}id") or ""
        assert url.startswith("http://arxiv.org/abs/")
        assert paper.versioned_id == url.removeprefix("http://arxiv.org/abs/")
        assert paper.title == fixes(entry.findtext(f"{ATOM}title") or "")
        assert paper.abstract == fixes(entry.findtext(f"{ATOM}summary") or "")
        assert paper.authors == tuple(fixes(a.findtext(f"{ATOM}name") or "")
                                      for a in entry.findall(f"{ATOM}author"))
        terms = tuple(c.get("term") for c in entry.findall(f"{ATOM}category"))
        assert paper.categories == tuple(dict.fromkeys(terms))
        assert paper.primary_category == entry.find(f"{ARXIV}primary_category").get("term")
        published = entry.findtext(f"{ATOM}published") or ""
        assert paper.published is not None
        assert paper.published.isoformat() + "Z" == published
        for field, tag in (("comments", "comment"), ("journal_ref", "journal_ref"),
                           ("doi", "doi")):
            raw = entry.findtext(f"{ARXIV}{tag}")
            assert getattr(paper, field) == (fixes(raw) if raw else None)
        assert paper.source == "api"


def test_recorded_text_decoded_twice_is_repaired() -> None:
    [entry] = recorded_entries("1707.08567")
    assert "Dirk WÃ¼bben" in etree.tostring(entry, encoding="unicode")
    assert "Dirk Wübben" in entry_to_paper(entry).authors


def test_error_entry_is_not_a_paper() -> None:
    feed = parse_feed(recorded("abc")["body"].encode("utf-8"))
    assert feed.entries == {}
    assert feed.errors == [("abc", "incorrect id format for abc")]


# --- lookups against the loopback server ---------------------------------------------------

def test_batches_send_id_lists_and_return_every_paper(replay: ReplayServer,
                                                      sleep: RecordingSleep) -> None:
    replay.add(lambda s: s.path == "/api/query", merged_feed)
    ids = ["2104.12255v1", "quant-ph/0201082v1", "abc", "astro-ph/0601001", "1605.08386",
           "https://arxiv.org/abs/1707.08567"]
    lookup = source(replay, sleep, ids, batch_size=2)
    assert isinstance(lookup, Source) and lookup.total == 6
    items = list(lookup.read(None))
    papers, rejections, checkpoints = split(items)
    assert [s.param("id_list") for s in replay.requests] == [
        "2104.12255v1,quant-ph/0201082v1", "astro-ph/0601001,1605.08386", "1707.08567"]
    assert [s.param("max_results") for s in replay.requests] == ["2", "2", "1"]
    titles = {p.arxiv_id: p.title for p in papers}
    for id_list in ("2104.12255v1", "quant-ph/0201082v1", "astro-ph/0601001", "1605.08386",
                    "1707.08567"):
        [entry] = recorded_entries(id_list)
        base = id_list.split("v1")[0] if id_list.endswith("v1") else id_list
        assert titles.pop(base) == fixes(entry.findtext(f"{ATOM}title") or "")
    assert titles == {}
    assert [(p.arxiv_id, p.version) for p in papers][:2] == [("2104.12255", 1),
                                                            ("quant-ph/0201082", 1)]
    [bad] = rejections
    assert bad.where == "arXiv id 'abc'"
    assert bad.reason.startswith("'abc' is not an arXiv identifier")
    assert [c.progress for c in checkpoints] == [2, 5, 6]  # after each batch, ids consumed
    assert [c.state.done for c in checkpoints] == [False, False, True]
    assert checkpoints[0].state.key == lookup.state_key and lookup.state_key.startswith("api:")
    assert items.index(bad) < items.index(checkpoints[1])  # reported with its batch
    assert len(sleep.waits) == 2 and all(2.0 < w <= 3.0 for w in sleep.waits)


def test_unknown_id_is_reported_not_found(replay: ReplayServer, sleep: RecordingSleep) -> None:
    replay.add(lambda s: s.path == "/api/query", merged_feed)
    papers, rejections, _ = split(list(source(replay, sleep, ["0808.05394", "1707.08567"])
                                       .read(None)))
    assert replay.requests[0].param("id_list") == "0808.05394,1707.08567"  # the recorded query
    assert [p.arxiv_id for p in papers] == ["1707.08567"]
    assert rejections == [Rejection("arXiv id '0808.05394'", "not found on arXiv")]


def test_empty_result_means_not_found(replay: ReplayServer, sleep: RecordingSleep) -> None:
    replay.add(lambda s: s.path == "/api/query", merged_feed)
    papers, rejections, _ = split(list(source(replay, sleep, ["0000.0000"]).read(None)))
    assert papers == [] and rejections == [Rejection("arXiv id '0000.0000'", "not found on arXiv")]


def bad_id_reply(bad: str, name_it: bool) -> Any:
    """arXiv's recorded HTTP 400 for an id it cannot parse. That recording is for "abc", which
    paperwire refuses before asking; here it answers for an id that passes our syntax check
    (``name_it``: with "abc" replaced by that id, as arXiv would name it)."""
    answer = recorded("abc")
    assert answer["status_code"] == 400
    body = answer["body"].replace("abc", bad) if name_it else answer["body"]

    def respond(seen: Seen) -> Reply:
        if bad in (seen.param("id_list") or "").split(","):
            return Reply(400, body, ATOM_TYPE)
        return merged_feed(seen)

    return respond


def test_http_400_for_one_id_rejects_it_and_keeps_the_others(replay: ReplayServer,
                                                             sleep: RecordingSleep) -> None:
    bad = "hep-xx/0101001"
    replay.add(lambda s: s.path == "/api/query", bad_id_reply(bad, name_it=True))
    ids = ["1605.08386", bad, "1707.08567"]
    papers, rejections, _ = split(list(source(replay, sleep, ids).read(None)))
    assert [p.arxiv_id for p in papers] == ["1605.08386", "1707.08567"]
    assert rejections == [Rejection(f"arXiv id '{bad}'",
                                    f"arXiv rejected it: incorrect id format for {bad}")]
    # arXiv drops the whole request for one bad id, so the others are asked for again.
    assert [s.param("id_list") for s in replay.requests] == [",".join(ids),
                                                             "1605.08386,1707.08567"]


def test_http_400_naming_no_requested_id_is_found_by_halving(replay: ReplayServer,
                                                             sleep: RecordingSleep) -> None:
    bad = "hep-xx/0101001"
    replay.add(lambda s: s.path == "/api/query", bad_id_reply(bad, name_it=False))
    ids = ["1605.08386", bad, "1707.08567", "astro-ph/0601001"]
    papers, rejections, _ = split(list(source(replay, sleep, ids).read(None)))
    assert sorted(p.arxiv_id for p in papers) == ["1605.08386", "1707.08567",
                                                  "astro-ph/0601001"]
    assert rejections == [Rejection(f"arXiv id '{bad}'",
                                    "arXiv rejected it: incorrect id format for abc")]
    assert [s.param("id_list") for s in replay.requests] == [
        ",".join(ids), f"1605.08386,{bad}", "1605.08386", bad,
        "1707.08567,astro-ph/0601001"]


def test_interrupted_lookup_resumes_after_last_batch(replay: ReplayServer,
                                                     sleep: RecordingSleep) -> None:
    replay.add(lambda s: s.path == "/api/query", merged_feed)
    ids = ["2104.12255v1", "quant-ph/0201082v1", "astro-ph/0601001", "1605.08386"]
    lookup = source(replay, sleep, ids, batch_size=2)
    state = HarvestState(key=lookup.state_key, source="api", position=2)
    papers, _, checkpoints = split(list(lookup.read(state)))
    assert [s.param("id_list") for s in replay.requests] == ["astro-ph/0601001,1605.08386"]
    assert [p.arxiv_id for p in papers] == ["astro-ph/0601001", "1605.08386"]
    assert checkpoints[-1].state.done and checkpoints[-1].progress == 4


def test_malformed_atom_fails_after_retries(replay: ReplayServer, sleep: RecordingSleep) -> None:
    body = recorded("1605.08386")["body"]
    replay.add(lambda s: True, Reply(200, body[: len(body) // 2], ATOM_TYPE))
    with pytest.raises(HarvestError) as raised:
        list(source(replay, sleep, ["1605.08386"]).read(None))
    assert f"{replay.url}/api/query?id_list=1605.08386" in str(raised.value)
    assert "malformed XML" in str(raised.value)
    assert len(replay.requests) == SETTINGS.max_retries + 1


def test_server_error_then_success(replay: ReplayServer, sleep: RecordingSleep) -> None:
    replay.add(lambda s: True, Reply(500, "oops"), merged_feed)
    papers, rejections, _ = split(list(source(replay, sleep, ["1605.08386"]).read(None)))
    assert [p.title for p in papers] == ["Heat-bath random walks with Markov bases"]
    assert rejections == [] and len(replay.requests) == 2 and sleep.waits == [5.0]


def test_only_invalid_ids_make_no_request(replay: ReplayServer, sleep: RecordingSleep) -> None:
    papers, rejections, checkpoints = split(list(source(replay, sleep, ["abc", " "]).read(None)))
    assert papers == [] and [r.where for r in rejections] == ["arXiv id 'abc'"]
    assert replay.requests == [] and checkpoints[-1].state.done
