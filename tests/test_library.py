"""Libraries below the web: visibility rules, saving, soft delete, groups and invitations,
and imports (matching by arXiv id, DOI, title; unmatched kept or skipped; bad entries by
line; re-import adds nothing; missing ids fetched from a loopback arXiv), on both backends."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from paperwire import library, library_groups
from paperwire.formats.citations import parse_bibtex
from paperwire.library import LibraryError
from paperwire.library_jobs import fetch_from_arxiv, import_entries, import_text, queue_import
from paperwire.mail import OutboxMailer
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.store.database import utcnow
from tests.helpers import mailed_link, make_user, paper, run_queues
from tests.replay_server import (  # noqa: F401  (replay_fixture provides the "replay" fixture)
    ReplayServer,
    Reply,
    replay_fixture,
)
from tests.shared_data import SHARED_DATA, require

PAPERS = [paper("2501.00001", title="Attention is all you need", authors=("Ashish Vaswani",)),
          paper("2501.00002", title="Graph {N}eural networks", authors=("Jean van der Berg",),
                doi="10.1000/GNN.2"),
          paper("2501.00003", title="Quiet vision")]
BIB = """@article{vaswani2017,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and Shazeer, Noam},
  year = {2017},
  annote = {read twice},
  keywords = {transformers, nlp},
}

@misc{byid,
  title = {Quiet vision},
  author = {Someone Else},
  eprint = {2501.00003},
  archivePrefix = {arXiv},
}

@article{bydoi,
  title = {A different title},
  author = {Nobody},
  doi = {10.1000/gnn.2},
}

@book{nowhere,
  title = {A book this instance does not hold},
  author = {Ada Lovelace},
  year = {1843},
}

@article{broken,
  title = {Unclosed
"""


@pytest.fixture
def lib(store: Store) -> Store:
    store.write_batch(PAPERS)
    return store


def test_a_private_collection_is_not_found_by_others(lib: Store) -> None:
    ann, bob = make_user(lib, "ann@example.org"), make_user(lib, "bob@example.org")
    mine = library.create(lib, ann, "Thesis")
    for visitor in (bob, None):
        with pytest.raises(LibraryError) as caught:
            library.access(lib, visitor, mine.id)
        assert caught.value.status == 404
    library.update(lib, ann, mine.id, visibility="public")
    assert library.access(lib, bob, mine.id).role == "reader"
    with pytest.raises(LibraryError) as caught:
        library.save(lib, bob, "2501.00001", mine.id)
    assert caught.value.status == 403
    with pytest.raises(LibraryError) as caught:
        library.update(lib, bob, mine.id, name="Mine now")
    assert caught.value.status == 403


def test_saving_uses_the_reading_list_once(lib: Store) -> None:
    ann = make_user(lib)
    first = library.save(lib, ann, "2501.00001")
    again = library.save(lib, ann, "2501.00001")
    assert first["collection"] == again["collection"]
    [reading] = library.collections_for(lib, ann)
    assert (reading.name, reading.is_default, reading.items) == ("Reading list", True, 1)
    assert library.saved_among(lib, ann, ["2501.00001", "2501.00002"]) == {"2501.00001"}
    assert library.save(lib, ann, "2501.00001", on=None)["saved"] is False
    assert library.saved_among(lib, ann, ["2501.00001"]) == set()
    with pytest.raises(LibraryError, match="no paper"):
        library.save(lib, ann, "2599.99999")


def test_orders_and_notes(lib: Store) -> None:
    ann = make_user(lib)
    c = library.create(lib, ann, "Reading")
    for arxiv_id in ("2501.00002", "2501.00003", "2501.00001"):
        library.save(lib, ann, arxiv_id, c.id)
    got = library.access(lib, ann, c.id)
    titles = [i.paper.title for i in library.items(lib, got, "title") if i.paper]
    assert titles == sorted(titles, key=str.lower)
    assert [i.paper.arxiv_id for i in library.items(lib, got) if i.paper][0] == "2501.00001"
    item = library.items(lib, got)[0]
    library.edit_item(lib, ann, c.id, item.id, note="  <b>mine</b>\nline two ",
                      tags="a, b, a")
    edited = library.items(lib, got)[0]
    assert (edited.note, edited.tags) == ("<b>mine</b>\nline two", ("a", "b"))
    with pytest.raises(LibraryError, match="order"):
        library.items(lib, got, "random")


def test_soft_delete_is_undone_within_30_days(lib: Store) -> None:
    ann = make_user(lib)
    c = library.create(lib, ann, "Old")
    library.delete(lib, ann, c.id)
    assert [x.name for x in library.collections_for(lib, ann)] == []
    assert [x.id for x in library.deleted_for(lib, ann)] == [c.id]
    with pytest.raises(LibraryError):
        library.access(lib, ann, c.id)
    assert library.restore(lib, ann, c.id).deleted_at is None
    library.delete(lib, ann, c.id)
    lib.update_collection(c.id, deleted_at=utcnow() - timedelta(days=31))
    assert library.deleted_for(lib, ann) == []
    with pytest.raises(LibraryError) as caught:
        library.restore(lib, ann, c.id)
    assert caught.value.status == 404


def test_hidden_papers_stay_marked_in_private_and_leave_public(lib: Store) -> None:
    ann, bob = make_user(lib), make_user(lib, "bob@example.org")
    private = library.create(lib, ann, "Private")
    public = library.create(lib, ann, "Public", visibility="public")
    for c in (private, public):
        library.save(lib, ann, "2501.00001", c.id)
        library.save(lib, ann, "2501.00002", c.id)
    lib.hide_paper("2501.00001", "spam", None, "test")
    kept = library.items(lib, library.access(lib, ann, private.id))
    assert {i.paper.arxiv_id: i.hidden for i in kept if i.paper} == \
        {"2501.00001": True, "2501.00002": False}
    assert [i.paper.arxiv_id for i in library.items(lib, library.access(lib, ann, private.id),
                                                    feed=True) if i.paper] == ["2501.00002"]
    seen = library.items(lib, library.access(lib, bob, public.id))
    assert [i.paper.arxiv_id for i in seen if i.paper] == ["2501.00002"]


def test_groups_share_lab_collections(lib: Store, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, base_url="http://127.0.0.1:8000")
    ann, bob = make_user(lib), make_user(lib, "bob@example.org")
    eve = make_user(lib, "eve@example.org")
    group = library_groups.create_group(lib, ann, "Lab")
    lab = library.create(lib, ann, "Lab papers", visibility="lab", group_id=group)
    with pytest.raises(LibraryError) as caught:
        library.access(lib, bob, lab.id)
    assert caught.value.status == 404
    mailer = OutboxMailer(lib)
    answer = library_groups.invite(lib, settings, mailer, ann, group, "Bob@Example.org",
                                   "http://127.0.0.1:8000")
    assert answer == library_groups.invite(lib, settings, mailer, ann, group,
                                           "bob@example.org", "http://127.0.0.1:8000")
    token = mailed_link(lib, "bob@example.org", "group-invite",
                        "/library/groups/join").split("token=")[1]
    with pytest.raises(LibraryError) as caught:
        library_groups.accept(lib, settings, eve, token)
    assert caught.value.status == 403
    assert library_groups.accept(lib, settings, bob, token) == group
    assert library.access(lib, bob, lab.id).role == "member"
    library.save(lib, bob, "2501.00003", lab.id)
    with pytest.raises(LibraryError):
        library.delete(lib, bob, lab.id)
    with pytest.raises(LibraryError) as caught:
        library_groups.invite(lib, settings, mailer, bob, group, "x@example.org", "")
    assert caught.value.status == 403
    with pytest.raises(LibraryError, match="needs an owner"):
        library_groups.set_role(lib, ann, group, ann.id, "member")
    library_groups.set_role(lib, ann, group, bob.id, None)
    with pytest.raises(LibraryError):
        library.access(lib, bob, lab.id)


def test_import_matches_by_id_doi_and_title_and_reports_the_rest(lib: Store) -> None:
    ann = make_user(lib)
    c = library.create(lib, ann, "Thesis")
    report = import_text(lib, ann, c.id, BIB)
    assert report.matched == {"arxiv": 1, "doi": 1, "title": 1}
    assert [u["key"] for u in report.unmatched] == ["nowhere"]
    assert [(r["key"], r["line"] > 0) for r in report.rejected] == [("broken", True)]
    assert report.added == 4
    got = library.access(lib, ann, c.id)
    notes = {i.paper.arxiv_id: (i.note, i.tags) for i in library.items(lib, got) if i.paper}
    assert notes["2501.00001"] == ("read twice", ("transformers", "nlp"))
    [unmatched] = [i for i in library.items(lib, got) if i.paper is None]
    assert unmatched.citation and unmatched.citation["title"].startswith("A book")
    again = import_text(lib, ann, c.id, BIB)
    assert again.added == 0 and again.total_matched == 3
    skipped = library.create(lib, ann, "Skip")
    assert import_text(lib, ann, skipped.id, BIB, keep_unmatched=False).added == 3


def test_import_fetches_arxiv_ids_we_lack(lib: Store, replay: ReplayServer,
                                          tmp_path: Path) -> None:
    recording = require(SHARED_DATA / "arxiv" / "fixtures" / "api-atom" / "recorded-json" /
                        "id_1707.08567_s0_m100_6a1afebfc6a3.json")
    body = json.loads(recording.read_text(encoding="utf-8"))["body"]
    replay.add(lambda s: s.path == "/api/query",
               Reply(200, body, [("Content-Type", "application/atom+xml")]))
    settings = Settings(home=tmp_path, arxiv_api_url=replay.url + "/api/query",
                        request_delay=0.0)
    ann = make_user(lib)
    c = library.create(lib, ann, "Fetched")
    parsed = parse_bibtex("@misc{x, title={T}, author={A B}, eprint={1707.08567}}\n")
    report = import_entries(lib, ann, c.id, parsed.entries, fetch=fetch_from_arxiv(settings))
    assert (report.fetched, report.matched["arxiv"], report.added) == (1, 1, 1)
    assert lib.get_paper("1707.08567") is not None
    assert replay.requests[0].param("id_list") == "1707.08567"


def test_an_import_runs_as_a_job_with_its_result(lib: Store, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, queue_runner="worker")
    ann, bob = make_user(lib), make_user(lib, "bob@example.org")
    c = library.create(lib, ann, "Queued")
    with pytest.raises(LibraryError) as caught:
        queue_import(lib, bob, c.id, BIB)
    assert caught.value.status == 404
    job = queue_import(lib, ann, c.id, BIB)
    assert run_queues(lib, settings) >= 1
    done = lib.job(job.id)
    assert done is not None and done.status == "done", done
    assert done.result and done.result["matched"] == 3 and done.result["rejected"] == 1
    assert "3 matched" in (done.message or "")


def test_a_members_digest_tells_what_the_lab_added(lib: Store, tmp_path: Path) -> None:
    from datetime import date

    from paperwire.digest import Composer
    from paperwire.models import Subscription

    ann, bob = make_user(lib), make_user(lib, "bob@example.org")
    group = lib.create_group("Lab", ann.id)
    lib.add_group_member(group, bob.id)
    lab = library.create(lib, ann, "Lab papers", visibility="lab", group_id=group)
    library.save(lib, ann, "2501.00002", lab.id)
    library.save(lib, ann, "2501.00003")  # her private Reading list: not the lab's
    today = utcnow().date()
    sub = Subscription(1, bob.email, "daily", False, (), "active", "t", bob.id, utcnow(),
                       utcnow(), None)
    composer = Composer(Settings(home=tmp_path, embedder="none"), lib)
    [section] = composer.compose(sub, "daily", today).sections
    assert section.title == "New in your labs' collections"
    assert [p.arxiv_id for p in section.papers] == ["2501.00002"]
    later = Subscription(1, bob.email, "daily", False, (), "active", "t", bob.id, utcnow(),
                         utcnow(), today)
    assert composer.compose(later, "daily", date.fromordinal(today.toordinal() + 1)
                            ).sections == ()
