"""OAI-PMH harvesting: recorded arXiv pages parsed, and harvests run against a loopback server.

Expected values are read from the fixtures with XPath here, independently of the parser.
arXiv's recorded ListRecords responses each fit on one page, so lists of several pages are
built from the recorded records (split into pages, each given a resumptionToken element in
arXiv's "id|cursor" style); OAI-PMH error responses are not among the recordings and are
written from the OAI-PMH 2.0 specification (section 3.6).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import date, datetime
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from lxml import etree

from paperwire.errors import ConfigError, HarvestError
from paperwire.models import Checkpoint, HarvestState, Limits, Paper, Rejection, normalize_text
from paperwire.schedule import listing_day
from paperwire.settings import Settings
from paperwire.sources import Item, Source
from paperwire.sources.http import PoliteClient, retry_after_seconds
from paperwire.sources.oai import OAISource, parse_page, record_to_item
from tests.replay_server import (  # noqa: F401  (replay_fixture provides the "replay" fixture)
    DROP_MID_BODY,
    Matcher,
    RecordingSleep,
    ReplayServer,
    Reply,
    load_exchanges,
    replay_fixture,
    split,
)
from tests.shared_data import SHARED_DATA, require

OAI = "http://www.openarchives.org/OAI/2.0/"
FIXTURES = SHARED_DATA / "arxiv" / "fixtures" / "oai-pmh"
FORMAT_DIR = FIXTURES / "arxiv-format"
LIST_RECORDS_503 = (FIXTURES / "recorded-exchanges" /
                    "oaipmh-listrecords---should-list-identifiers-from-arxiv.json")
FORMAT_FILES = sorted(p.name for p in FORMAT_DIR.glob("*.xml")) or ["(shared data missing)"]
XML = [("Content-Type", "text/xml")]
SETTINGS = Settings(request_delay=3.0, max_retries=3, http_timeout=5.0,
                    user_agent="paperwire-tests/1.0 (mailto:tests@example.org)")


# --- expected values, read straight from the fixtures -------------------------------------

def _meta_text(meta: Any, name: str) -> str | None:
    found = meta.xpath(f"./*[local-name()='{name}']")
    return normalize_text("".join(found[0].itertext())) or None if found else None


def expected(record: Any) -> dict[str, Any]:
    meta = record.xpath("./*[local-name()='metadata']/*")[0]
    authors = meta.xpath("./*[local-name()='authors']/*[local-name()='author']")
    keynames = [" ".join(a.xpath("./*[local-name()='keyname']/text()")) for a in authors]
    fields = ("id", "title", "abstract", "created", "updated", "comments", "journal-ref",
              "doi", "license")
    values: dict[str, Any] = {name: _meta_text(meta, name) for name in fields}
    values["categories"] = tuple((_meta_text(meta, "categories") or "").split())
    values["keynames"] = [k.strip() for k in keynames if any(c.isalnum() for c in k)]
    values["identifier"] = record.xpath("string(.//*[local-name()='identifier'])").strip()
    return values


def fixture_records(name: str) -> list[Any]:
    root = etree.parse(str(require(FORMAT_DIR / name))).getroot()
    return list(root.iter(f"{{{OAI}}}record"))


def recorded_ids(records: list[Any]) -> list[str]:
    return [expected(r)["id"] for r in records]


# --- building multi-page lists from the recorded records ----------------------------------

def all_records() -> list[Any]:
    """18 distinct real records from three recorded responses."""
    names = ("arxiv-physics-hep-th.xml", "arxiv-physics-hep-ex.xml", "sample_arxiv_record.xml")
    return [r for name in names for r in fixture_records(name)]


def build_pages(records: list[Any], per_page: int,
                response_date: str = "2017-12-14T12:56:31Z") -> tuple[list[bytes], list[str]]:
    """Split records into OAI-PMH ListRecords pages; returns the pages and the tokens that
    lead to pages 2, 3, ... (a token like arXiv's: an opaque id, "|", the next cursor)."""
    chunks = [records[i:i + per_page] for i in range(0, len(records), per_page)]
    tokens = [f"7088{n:03d}|{(n + 1) * per_page + 1}" for n in range(len(chunks) - 1)]
    pages = []
    for n, chunk in enumerate(chunks):
        root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI})
        etree.SubElement(root, f"{{{OAI}}}responseDate").text = response_date
        listing = etree.SubElement(root, f"{{{OAI}}}ListRecords")
        for record in chunk:
            listing.append(copy.deepcopy(record))
        token = etree.SubElement(listing, f"{{{OAI}}}resumptionToken",
                                 cursor=str(n * per_page), completeListSize=str(len(records)))
        token.text = tokens[n] if n < len(tokens) else None
        pages.append(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return pages, tokens


def serve_list(replay: ReplayServer, pages: list[bytes], tokens: list[str],
               before: dict[int, list[Reply]] | None = None) -> None:
    """Route the first request and each token to its page; ``before[i]`` are replies (faults)
    served for page i before the page itself."""
    before = before or {}
    replay.add(lambda s: s.param("verb") == "ListRecords" and not s.param("resumptionToken"),
               *before.get(0, []), Reply(200, pages[0], XML))
    for i, token in enumerate(tokens, start=1):
        replay.add(token_is(token), *before.get(i, []), Reply(200, pages[i], XML))


def token_is(token: str) -> Matcher:
    return lambda seen: seen.param("resumptionToken") == token


def oai_error(code: str, message: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="{OAI}">'
            "<responseDate>2018-06-21T14:31:04Z</responseDate>"
            '<request verb="ListRecords">http://export.arxiv.org/oai2</request>'
            f'<error code="{code}">{message}</error></OAI-PMH>')


def source(replay: ReplayServer, sleep: RecordingSleep, settings: Settings = SETTINGS,
           **kwargs: Any) -> OAISource:
    kwargs.setdefault("set_spec", "physics:hep-th")
    return OAISource(settings, endpoint=replay.url + "/oai2", sleep=sleep, **kwargs)


# --- parsing every recorded arXiv-format response -----------------------------------------

@pytest.mark.parametrize("name", FORMAT_FILES)
def test_every_arxiv_format_fixture_parses_to_its_values(name: str) -> None:
    records = fixture_records(name)
    assert records, f"{name} holds no <record>"
    for record in records:
        want = expected(record)
        paper = record_to_item(record, "arXiv", Limits())
        assert isinstance(paper, Paper), f"{want['identifier']}: {paper}"
        assert paper.arxiv_id == want["id"]
        assert want["identifier"] == f"oai:arXiv.org:{paper.arxiv_id}"
        assert paper.title == want["title"]
        assert paper.abstract == want["abstract"]
        assert paper.categories == want["categories"]
        assert paper.primary_category == want["categories"][0]
        assert paper.published == datetime.fromisoformat(want["created"])
        assert paper.updated == (datetime.fromisoformat(want["updated"])
                                 if want["updated"] else None)
        assert (paper.comments, paper.journal_ref, paper.doi, paper.license) == (
            want["comments"], want["journal-ref"], want["doi"], want["license"])
        assert len(paper.authors) == len(want["keynames"])
        for author, keyname in zip(paper.authors, want["keynames"], strict=True):
            assert author.endswith(keyname) or keyname in author.split(" ")
        assert paper.source == "oai" and paper.version is None
        # OAI-PMH carries no listing day: it is computed from the v1 date and the schedule.
        assert paper.published is not None
        assert paper.listed_on == listing_day(paper.published) > paper.published.date()


def test_single_record_values() -> None:
    [record] = fixture_records("arxiv-single.xml")
    paper = record_to_item(record, "arXiv", Limits())
    assert isinstance(paper, Paper)
    assert paper.arxiv_id == "1401.2122"
    assert paper.authors == ("A. Sergyeyev",)
    assert paper.primary_category == "math.AP"
    assert paper.published == datetime(2014, 1, 9)
    assert paper.updated == datetime(2017, 10, 23)
    assert paper.journal_ref == "Lett. Math. Phys. 108 (2018), no. 2, 359-376"
    assert paper.doi == "10.1007/s11005-017-1013-4"
    assert paper.abstract.startswith("We introduce a novel systematic construction")
    assert "\n" not in paper.title and "  " not in paper.abstract


def test_author_suffix_kept_and_separator_author_dropped() -> None:
    [record] = fixture_records("sample_arxiv_record4.xml")
    paper = record_to_item(record, "arXiv", Limits())
    assert isinstance(paper, Paper)
    # <keyname>W.</keyname><forenames>R.</forenames><suffix>IV</suffix>
    assert "R. W. IV" in paper.authors
    # BICEP2/Keck list an "author" whose keyname is ":" between the collaborations and people.
    assert ":" not in paper.authors
    assert paper.authors[:3] == ("Keck Array", "BICEP2 Collaborations", "P. Ade")


def test_arxiv_element_that_inherits_the_oai_namespace_is_read() -> None:
    # In this recording <arXiv> has no xmlns of its own, so it sits in the OAI-PMH namespace.
    [record] = fixture_records("sample_arxiv_record0.xml")
    meta = record.find(f"{{{OAI}}}metadata")[0]
    assert meta.tag == f"{{{OAI}}}arXiv"
    paper = record_to_item(record, "arXiv", Limits())
    assert isinstance(paper, Paper)
    assert paper.title == "Irreversible degradation of quantum coherence under relativistic motion"
    assert paper.categories == ("quant-ph", "gr-qc", "hep-th", "chao-dyn", "nlin.CD")


def test_list_records_page_parses() -> None:
    content = require(FORMAT_DIR / "arxiv-physics-hep-th.xml").read_bytes()
    page = parse_page(content)
    assert page.response_date == "2017-12-14T12:56:31Z"
    assert len(page.records) == 3 and page.token is None and page.error is None


def test_bad_records_are_rejected_by_name_and_deleted_ones_skipped() -> None:
    first, second, third = (copy.deepcopy(r) for r in fixture_records("arxiv-physics-hep-th.xml"))
    title = first.xpath(".//*[local-name()='title']")[0]
    title.getparent().remove(title)
    second.xpath(".//*[local-name()='id']")[0].text = "not-an-id"
    # A deleted record, as OAI-PMH sends it: header status="deleted" and no metadata.
    third.find(f"{{{OAI}}}header").set("status", "deleted")
    third.remove(third.find(f"{{{OAI}}}metadata"))
    missing = record_to_item(first, "arXiv", Limits())
    bad_id = record_to_item(second, "arXiv", Limits())
    assert missing == Rejection("OAI record oai:arXiv.org:1412.8323",
                                "missing required field 'title'")
    assert isinstance(bad_id, Rejection)
    assert bad_id.where == "OAI record oai:arXiv.org:1507.07790"
    assert "'not-an-id' is not an arXiv identifier" in bad_id.reason
    assert record_to_item(third, "arXiv", Limits()) is None


def test_arxiv_raw_versions_and_authors() -> None:
    # No arXivRaw recording exists; this one carries a real record's values (arxiv-single.xml,
    # 1401.2122) in arXivRaw's layout: versions with RFC 2822 dates, authors as one string.
    [record] = fixture_records("arxiv-single.xml")
    want = expected(record)
    raw = f"""<record xmlns="{OAI}"><header><identifier>{want['identifier']}</identifier>
      <datestamp>2018-01-25</datestamp></header><metadata>
      <arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>{want['id']}</id>
      <submitter>Artur Sergyeyev</submitter>
      <version version="v1"><date>Thu, 9 Jan 2014 18:41:47 GMT</date><size>17kb</size></version>
      <version version="v5"><date>Mon, 23 Oct 2017 10:02:11 GMT</date><size>19kb</size></version>
      <title>{want['title']}</title>
      <authors>A. Sergyeyev (Silesian University in Opava, Czech Republic), B. Second and
        C. Third</authors><categories>{' '.join(want['categories'])}</categories>
      <abstract>{want['abstract']}</abstract></arXivRaw></metadata></record>"""
    paper = record_to_item(etree.fromstring(raw), "arXivRaw", Limits())
    assert isinstance(paper, Paper)
    assert paper.arxiv_id == want["id"] and paper.version == 5
    assert paper.published == datetime(2014, 1, 9, 18, 41, 47)
    assert paper.updated == datetime(2017, 10, 23, 10, 2, 11)
    assert paper.authors == ("A. Sergyeyev", "B. Second", "C. Third")
    assert paper.title == want["title"] and paper.primary_category == "math.AP"


# --- harvesting against the loopback server -----------------------------------------------

def test_recorded_503_retry_after_is_honoured(replay: ReplayServer,
                                               sleep: RecordingSleep) -> None:
    exchanges = load_exchanges(require(LIST_RECORDS_503))
    assert [e["status"] for e in exchanges] == [503, 200]
    replay.add_recorded(exchanges)
    harvest = source(replay, sleep, set_spec=None, from_date=date(2015, 1, 1),
                     until_date=date(2015, 1, 3))
    assert isinstance(harvest, Source)
    papers, rejections, checkpoints = split(list(harvest.read(None)))
    assert sleep.waits == [10.0]  # exactly the Retry-After: 10 the server sent
    body = etree.fromstring(exchanges[1]["response"].encode("utf-8"))
    assert [p.arxiv_id for p in papers] == recorded_ids(list(body.iter(f"{{{OAI}}}record")))
    assert [p.arxiv_id for p in papers] == ["1412.8544", "hep-th/9504118"]
    assert rejections == []
    assert len(replay.requests) == 2
    for seen in replay.requests:
        assert seen.path == "/oai2"
        assert seen.query == {"verb": ["ListRecords"], "metadataPrefix": ["arXiv"],
                              "from": ["2015-01-01"], "until": ["2015-01-03"]}
        assert seen.headers["User-Agent"] == SETTINGS.user_agent
    [final] = checkpoints
    assert final.state.done and final.state.resumption_token is None
    assert final.state.datestamp == "2015-01-03"
    assert final.state.key == f"oai:{replay.url}/oai2:all:arXiv"


def test_retry_after_as_http_date(replay: ReplayServer, sleep: RecordingSleep) -> None:
    pages, _ = build_pages(all_records()[:3], per_page=3)
    later = formatdate(time.time() + 20, usegmt=True)
    replay.add(lambda s: True, Reply(503, "busy", [("Retry-After", later)]),
               Reply(200, pages[0], XML))
    papers, _, _ = split(list(source(replay, sleep).read(None)))
    assert len(papers) == 3
    [wait] = sleep.waits
    assert 17.0 < wait <= 20.0


def test_several_pages_follow_resumption_tokens(replay: ReplayServer,
                                                sleep: RecordingSleep) -> None:
    records = all_records()
    pages, tokens = build_pages(records, per_page=5)
    assert len(pages) == 4
    serve_list(replay, pages, tokens)
    with httpx.Client() as client:
        harvest = source(replay, sleep, from_date=date(2017, 12, 14),
                         until_date=date(2017, 12, 15), client=client)
        assert harvest.total is None
        papers, rejections, checkpoints = split(list(harvest.read(None)))
        assert not client.is_closed  # a client passed in belongs to the caller
    assert [p.arxiv_id for p in papers] == recorded_ids(records)
    assert rejections == [] and harvest.total == 18
    # A checkpoint after each page holds the token of the next page; the last one is done.
    assert [c.state.resumption_token for c in checkpoints] == [*tokens, None]
    assert [c.progress for c in checkpoints] == [5, 10, 15, 18]
    assert [c.state.done for c in checkpoints] == [False, False, False, True]
    assert checkpoints[-1].state.datestamp == "2017-12-15"
    first, *rest = replay.requests
    assert first.query == {"verb": ["ListRecords"], "metadataPrefix": ["arXiv"],
                           "set": ["physics:hep-th"], "from": ["2017-12-14"],
                           "until": ["2017-12-15"]}
    # A resumptionToken request carries no other argument (OAI-PMH: it is exclusive).
    assert [s.query for s in rest] == [{"verb": ["ListRecords"], "resumptionToken": [t]}
                                       for t in tokens]
    # Between pages the client waits out the request delay (the fake sleep does not advance
    # the clock, so each wait is the whole delay less the time the request took).
    assert len(sleep.waits) == 3 and all(2.0 < w <= 3.0 for w in sleep.waits)


def test_request_delay_holds_in_real_time(replay: ReplayServer) -> None:
    pages, tokens = build_pages(all_records()[:9], per_page=3)
    serve_list(replay, pages, tokens)
    settings = SETTINGS.replace(request_delay=0.15)
    harvest = OAISource(settings, "physics:hep-th", endpoint=replay.url + "/oai2")
    papers, _, _ = split(list(harvest.read(None)))
    assert len(papers) == 9
    arrivals = [s.at for s in replay.requests]
    assert len(arrivals) == 3
    assert all(b - a >= 0.15 for a, b in zip(arrivals, arrivals[1:], strict=False))


def test_connection_dropped_mid_page_is_retried(replay: ReplayServer,
                                                sleep: RecordingSleep) -> None:
    records = all_records()
    pages, tokens = build_pages(records, per_page=5)
    serve_list(replay, pages, tokens, before={1: [Reply(200, pages[1], XML, DROP_MID_BODY)]})
    papers, rejections, _ = split(list(source(replay, sleep).read(None)))
    ids = [p.arxiv_id for p in papers]
    assert ids == recorded_ids(records) and len(set(ids)) == len(ids) == 18
    tokens_sent = [s.param("resumptionToken") for s in replay.requests]
    assert tokens_sent == [None, tokens[0], tokens[0], tokens[1], tokens[2]]
    assert 5.0 in sleep.waits  # the first backoff step, longer than the request delay


def test_timeout_is_retried(replay: ReplayServer, sleep: RecordingSleep) -> None:
    pages, _ = build_pages(all_records()[:2], per_page=2)
    replay.add(lambda s: True, Reply(200, pages[0], XML, delay=1.0), Reply(200, pages[0], XML))
    harvest = source(replay, sleep, settings=SETTINGS.replace(http_timeout=0.2))
    papers, _, _ = split(list(harvest.read(None)))
    assert len(papers) == 2 and len(replay.requests) == 2


def run_until_error(items: Iterator[Item]) -> tuple[list[Paper], HarvestState | None]:
    """Consume a harvest as ingest does: papers count only once a checkpoint covers them."""
    committed: list[Paper] = []
    pending: list[Paper] = []
    state = None
    with pytest.raises(HarvestError, match="HTTP 500"):
        for item in items:
            if isinstance(item, Paper):
                pending.append(item)
            elif isinstance(item, Checkpoint):
                committed += pending
                pending, state = [], item.state
    return committed, state


def test_interrupted_harvest_resumes_from_stored_token(replay: ReplayServer,
                                                       sleep: RecordingSleep) -> None:
    records = all_records()
    pages, tokens = build_pages(records, per_page=5)
    replay.add(lambda s: not s.param("resumptionToken"), Reply(200, pages[0], XML))
    replay.add(lambda s: True, Reply(500, "Internal Server Error"))  # page 2 keeps failing
    settings = SETTINGS.replace(max_retries=1)
    first_run = source(replay, sleep, settings, from_date=date(2017, 12, 14))
    committed, state = run_until_error(first_run.read(None))
    assert state is not None and state.resumption_token == tokens[0] and not state.done
    assert [p.arxiv_id for p in committed] == recorded_ids(records[:5])

    replay.routes.clear()
    serve_list(replay, pages, tokens)
    before = len(replay.requests)
    second_run = source(replay, sleep, settings, from_date=date(2017, 12, 14))
    assert second_run.state_key == state.key
    papers, _, checkpoints = split(list(second_run.read(state)))
    sent = [s.param("resumptionToken") for s in replay.requests[before:]]
    assert sent == tokens  # starts at page 2's token, never at the beginning
    ids = [p.arxiv_id for p in committed + papers]
    assert ids == recorded_ids(records) and len(set(ids)) == len(ids)
    assert checkpoints[-1].state.done


def test_stored_token_for_other_parameters_is_not_used(replay: ReplayServer,
                                                       sleep: RecordingSleep) -> None:
    pages, tokens = build_pages(all_records()[:6], per_page=3)
    serve_list(replay, pages, tokens)
    stale = HarvestState(key="k", source="oai", resumption_token="stale|101",
                         params={"set": "physics:hep-th", "from": "2001-01-01", "until": None,
                                 "prefix": "arXiv"})
    harvest = source(replay, sleep, from_date=date(2017, 12, 14))
    papers, _, _ = split(list(harvest.read(stale)))
    assert len(papers) == 6
    assert replay.requests[0].param("from") == "2017-12-14"
    assert "stale|101" not in [s.param("resumptionToken") for s in replay.requests]


def test_next_harvest_starts_from_last_datestamp(replay: ReplayServer,
                                                 sleep: RecordingSleep) -> None:
    exchanges = load_exchanges(require(LIST_RECORDS_503))
    replay.add(lambda s: True, Reply(200, exchanges[1]["response"], XML))
    done = HarvestState(key="k", source="oai", datestamp="2015-01-03", done=True)
    harvest = source(replay, sleep, set_spec="cs")
    _, _, checkpoints = split(list(harvest.read(done)))
    assert replay.requests[0].query == {"verb": ["ListRecords"], "metadataPrefix": ["arXiv"],
                                        "set": ["cs"], "from": ["2015-01-03"]}
    # No --until: the upper date is the server's responseDate (2018-06-21T14:31:04Z).
    assert checkpoints[-1].state.datestamp == "2018-06-21" and checkpoints[-1].state.done


def test_no_records_match_is_an_empty_finished_harvest(replay: ReplayServer,
                                                       sleep: RecordingSleep) -> None:
    replay.add(lambda s: True, Reply(200, oai_error("noRecordsMatch", "No records"), XML))
    items = list(source(replay, sleep, until_date=date(2020, 1, 2)).read(None))
    assert len(items) == 1 and isinstance(items[0], Checkpoint)
    assert items[0].state.done and items[0].state.datestamp == "2020-01-02"


def test_bad_resumption_token_says_to_rerun_with_from(replay: ReplayServer,
                                                      sleep: RecordingSleep) -> None:
    replay.add(lambda s: True, Reply(200, oai_error("badResumptionToken", "Token expired"), XML))
    harvest = source(replay, sleep, from_date=date(2017, 12, 14))
    state = HarvestState(key=harvest.state_key, source="oai", resumption_token="7088000|6",
                         params={"set": "physics:hep-th", "from": "2017-12-14", "until": None,
                                 "prefix": "arXiv"})
    with pytest.raises(HarvestError, match="fresh --from") as raised:
        list(harvest.read(state))
    assert "Token expired" in str(raised.value) and "2017-12-14" in str(raised.value)
    assert replay.requests[0].param("resumptionToken") == "7088000|6"


def test_other_oai_errors_name_code_and_message(replay: ReplayServer,
                                                sleep: RecordingSleep) -> None:
    message = "Unknown set specified: physics:nope"
    replay.add(lambda s: True, Reply(200, oai_error("badArgument", message), XML))
    with pytest.raises(HarvestError) as raised:
        list(source(replay, sleep, set_spec="physics:nope").read(None))
    assert f"badArgument: {message}" in str(raised.value)


def test_malformed_xml_fails_after_retries_naming_url(replay: ReplayServer,
                                                      sleep: RecordingSleep) -> None:
    content = require(FORMAT_DIR / "arxiv-physics-hep-th.xml").read_bytes()
    truncated = content[: len(content) // 2]  # a complete HTTP body holding half a document
    replay.add(lambda s: True, Reply(200, truncated, XML))
    with pytest.raises(HarvestError) as raised:
        list(source(replay, sleep).read(None))
    message = str(raised.value)
    assert f"{replay.url}/oai2?verb=ListRecords" in message
    assert "malformed XML" in message and "after 4 attempts" in message
    assert len(replay.requests) == SETTINGS.max_retries + 1


def test_corrupt_page_then_good_one_succeeds(replay: ReplayServer,
                                             sleep: RecordingSleep) -> None:
    content = require(FORMAT_DIR / "arxiv-physics-hep-th.xml").read_bytes()
    replay.add(lambda s: True, Reply(200, content[:-40], XML), Reply(200, content, XML))
    papers, _, _ = split(list(source(replay, sleep).read(None)))
    assert [p.arxiv_id for p in papers] == ["1412.8323", "1507.07790", "1607.01710"]


def test_unknown_prefix_and_reversed_dates_are_refused() -> None:
    with pytest.raises(ConfigError, match="oai_dc"):
        OAISource(SETTINGS, None, metadata_prefix="oai_dc")
    with pytest.raises(ConfigError, match="after"):
        OAISource(SETTINGS, None, from_date=date(2020, 1, 2), until_date=date(2020, 1, 1))


# --- the polite client on its own ---------------------------------------------------------

def test_server_errors_back_off_then_give_up_naming_url(replay: ReplayServer,
                                                        sleep: RecordingSleep) -> None:
    replay.add(lambda s: True, Reply(502, "Bad Gateway"))
    settings = SETTINGS.replace(max_retries=2, request_delay=1.0)
    with PoliteClient(settings, sleep=sleep) as http, pytest.raises(HarvestError) as raised:
        http.get(replay.url + "/oai2", {"verb": "Identify"}, lambda r: r.text)
    assert str(raised.value).startswith(f"gave up on {replay.url}/oai2?verb=Identify after 3 "
                                        "attempts; last problem: HTTP 502")
    assert sleep.waits == [5.0, 10.0]


def test_client_error_is_not_retried(replay: ReplayServer, sleep: RecordingSleep) -> None:
    with PoliteClient(SETTINGS, sleep=sleep) as http, pytest.raises(HarvestError) as raised:
        http.get(replay.url + "/nowhere", {}, lambda r: r.text)
    assert "answered HTTP 404" in str(raised.value) and len(replay.requests) == 1


def test_retry_after_beyond_reason_stops_at_once(replay: ReplayServer,
                                                 sleep: RecordingSleep) -> None:
    replay.add(lambda s: True, Reply(503, "maintenance", [("Retry-After", "86400")]))
    with PoliteClient(SETTINGS, sleep=sleep) as http, pytest.raises(HarvestError,
                                                                    match="come back"):
        http.get(replay.url + "/oai2", {}, lambda r: r.text)
    assert sleep.waits == [] and len(replay.requests) == 1


def test_retry_after_values() -> None:
    now = datetime(2018, 6, 21, 14, 30, 51).astimezone()
    assert retry_after_seconds("10") == 10.0
    assert retry_after_seconds(formatdate(now.timestamp() + 30, usegmt=True), now) == 30.0
    assert retry_after_seconds(formatdate(now.timestamp() - 30, usegmt=True), now) == 0.0
    assert retry_after_seconds("soon") is None


def test_fixtures_directory_layout() -> None:
    # Guards the paths above: a moved fixture must fail loudly, not skip silently.
    if not FIXTURES.exists():
        pytest.skip(f"shared test data not found: {FIXTURES}")
    assert (FORMAT_DIR / "arxiv-single.xml").is_file() and LIST_RECORDS_503.is_file()
