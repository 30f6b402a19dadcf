"""Libraries on the web, on SQLite and PostgreSQL: another user gets 404 for private and lab
collections on every route (pages, JSON, Atom, exports, forms, API, search filter), public
ones are read-only to others, saving works as a plain form (with CSRF), notes and names are
escaped, hidden papers leave public collections, imports run as jobs with a result page,
and invitations answer the same for any address."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path

import bibtexparser
import rispy

from paperwire import accounts, library
from paperwire.models import User
from tests.app import WebApp, make_app
from tests.helpers import call_api, paper, post_form, run_queues

PAPERS = [paper("2501.00001", title="Language models that read slowly"),
          paper("2501.00002", title="Graphs of language", doi="10.1000/x.2"),
          paper("2501.00003", title="Quiet vision")]
USERS = [("ann@example.org", "user", "Ann"), ("bob@example.org", "user", "Bob"),
         ("cat@example.org", "user", "Cat")]
SUFFIXES = ("", ".json", ".atom", ".bib", ".ris", ".csl.json")


def _site(tmp_path: Path, database_url: str) -> AbstractContextManager[WebApp]:
    return make_app(tmp_path, database_url, papers=PAPERS, users=USERS, index=True)


def _user(site: WebApp, address: str) -> User:
    found = site.store.user_by_email(address)
    assert found is not None
    return found


def _token(site: WebApp, address: str) -> dict[str, str]:
    token = accounts.new_api_token()
    site.store.create_api_token(_user(site, address).id, "test", accounts.token_hash(token))
    return {"Authorization": f"Bearer {token}"}


def _routes(cid: int) -> list[tuple[str, str, dict[str, object]]]:
    """Every route that names a collection: (method, path, request arguments)."""
    gets = [("GET", f"/library/c/{cid}{s}", {}) for s in SUFFIXES]
    gets += [("GET", f"/library/c/{cid}/delete", {}), ("GET", f"/library/c/{cid}/import", {}),
             ("GET", f"/search?q=language&collection={cid}", {}),
             ("GET", f"/api/search?q=language&collection={cid}", {}),
             ("GET", f"/api/library/collections/{cid}", {})]
    return gets + [
        ("POST", f"/library/c/{cid}/edit", {"form": {"name": "x"}}),
        ("POST", f"/library/c/{cid}/delete", {"form": {"confirm": "yes"}}),
        ("POST", f"/library/c/{cid}/items", {"form": {"item": "1", "note": "x"}}),
        ("POST", f"/library/c/{cid}/import", {"form": {"text": "@misc{a, title={T}}"}}),
        ("POST", "/library/save", {"form": {"arxiv_id": "2501.00003",
                                            "collection": str(cid)}}),
        ("PATCH", f"/api/library/collections/{cid}", {"json": {"name": "x"}}),
        ("DELETE", f"/api/library/collections/{cid}", {}),
        ("POST", f"/api/library/collections/{cid}/import", {"json": {"text": "@misc{a,}"}}),
        ("POST", "/api/library/save", {"json": {"arxiv_id": "2501.00003",
                                                "collection": cid}}),
    ]


def _answer(client: object, method: str, path: str, args: dict[str, object]) -> int:
    if "form" in args:
        response = post_form(client, path, args["form"], follow_redirects=False)  # type: ignore[arg-type]
    elif method == "GET":
        response = client.get(path, follow_redirects=False)  # type: ignore[attr-defined]
    else:
        response = call_api(client, method, path, json=args.get("json"))  # type: ignore[arg-type]
    return int(response.status_code)


def test_private_and_lab_collections_are_404_to_others_everywhere(
        tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = _user(site, "ann@example.org")
        private = library.create(site.store, ann, "Private")
        group = site.store.create_group("Lab", ann.id)
        lab = library.create(site.store, ann, "Lab", visibility="lab", group_id=group)
        for c in (private, lab):
            library.save(site.store, ann, "2501.00001", c.id)
        bob = site.client(signed_in="bob@example.org")
        nobody = site.client()
        for c in (private, lab):
            for method, path, args in _routes(c.id):
                assert _answer(bob, method, path, args) == 404, (method, path)
                if method == "GET":
                    assert _answer(nobody, method, path, args) == 404, (method, path)
        token = _token(site, "bob@example.org")
        tokened = site.client()
        assert tokened.get(f"/api/library/collections/{private.id}",
                           headers=token).status_code == 404
        # The owner sees all of it, and a member of the lab sees the lab's.
        owner = site.client(signed_in="ann@example.org")
        for suffix in SUFFIXES:
            assert owner.get(f"/library/c/{private.id}{suffix}").status_code == 200, suffix
        site.store.add_group_member(group, _user(site, "bob@example.org").id)
        assert bob.get(f"/library/c/{lab.id}.bib").status_code == 200
        assert bob.get(f"/library/c/{private.id}.bib").status_code == 404


def test_a_public_collection_is_read_only_to_others(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = _user(site, "ann@example.org")
        public = library.create(site.store, ann, "Public", visibility="public")
        library.save(site.store, ann, "2501.00001", public.id)
        bob = site.client(signed_in="bob@example.org")
        assert site.client().get(f"/library/c/{public.id}.json").json()["items"][0][
            "arxiv_id"] == "2501.00001"
        assert _answer(bob, "POST", f"/library/c/{public.id}/edit",
                       {"form": {"name": "Mine"}}) == 403
        assert _answer(bob, "POST", "/api/library/save",
                       {"json": {"arxiv_id": "2501.00002", "collection": public.id}}) == 403
        site.store.hide_paper("2501.00001", "spam", None, "test")
        assert site.client().get(f"/library/c/{public.id}.json").json()["items"] == []
        assert "2501.00001" not in site.client().get(f"/library/c/{public.id}.atom").text


def test_save_from_a_card_as_a_plain_form(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = site.client(signed_in="ann@example.org")
        page = ann.get("/search?q=language")
        assert 'action="/library/save"' in page.text
        refused = ann.post("/library/save", data={"arxiv_id": "2501.00001"})
        assert refused.status_code == 403  # no CSRF token
        done = post_form(ann, "/library/save", {"arxiv_id": "2501.00001", "action": "save"},
                         follow_redirects=False)
        assert done.status_code == 303
        hits = ann.get("/search.json?q=language").json()["hits"]
        assert {h["arxiv_id"]: h["saved"] for h in hits}["2501.00001"] is True
        assert ann.get("/papers/2501.00001.json").json()["community"]["saved"] is True
        assert ann.get("/api/library/saved?ids=2501.00001,2501.00002").json() == {
            "saved": ["2501.00001"]}
        [reading] = ann.get("/library.json").json()["collections"]
        assert (reading["name"], reading["items"]) == ("Reading list", 1)
        signed_out = site.client()
        answer = post_form(signed_out, "/library/save", {"arxiv_id": "2501.00001"},
                           follow_redirects=False)
        assert answer.headers["location"].startswith("/signin")


def test_notes_and_names_are_escaped_and_searched(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = site.client(signed_in="ann@example.org")
        made = post_form(ann, "/library/new", {"name": "<script>alert(1)</script>",
                                               "visibility": "private"},
                         follow_redirects=False)
        url = made.headers["location"]
        cid = int(url.rsplit("/", 1)[1])
        post_form(ann, "/library/save", {"arxiv_id": "2501.00003", "collection": str(cid),
                                         "action": "save"})
        [item] = ann.get(url + ".json").json()["items"]
        post_form(ann, f"{url}/items", {"item": str(item["item_id"]),
                                        "note": "<img src=x onerror=alert(1)> zebra",
                                        "tags": "optics, <b>"})
        html = ann.get(url).text
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
        assert "<img src=x" not in html and "&lt;img src=x" in html
        found = ann.get(f"/search.json?q=zebra&collection={cid}").json()["hits"]
        assert [h["arxiv_id"] for h in found] == ["2501.00003"]
        by_text = ann.get(f"/search.json?q=language&collection={cid}").json()["hits"]
        assert by_text == []
        mine = ann.get("/search.json?q=optics&library=mine").json()["hits"]
        assert [h["arxiv_id"] for h in mine] == ["2501.00003"]


def test_exports_parse_and_keys_are_stable(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = _user(site, "ann@example.org")
        c = library.create(site.store, ann, "Export")
        for p in PAPERS:
            library.save(site.store, ann, p.arxiv_id, c.id, note="n", tags=["t1", "t2"])
        client = site.client(signed_in="ann@example.org")
        bib = bibtexparser.parse_string(client.get(f"/library/c/{c.id}.bib").text)
        assert not bib.failed_blocks and len(bib.entries) == 3
        kinds = {e.key: e.entry_type for e in bib.entries}
        assert sorted(kinds.values()) == ["article", "misc", "misc"]
        ris = rispy.loads(client.get(f"/library/c/{c.id}.ris").text)
        csl = json.loads(client.get(f"/library/c/{c.id}.csl.json").text)
        assert {r["id"] for r in ris} == set(kinds) == {i["id"] for i in csl}
        assert all(i["annote"] == "n" for i in csl)


def test_import_through_the_form_runs_as_a_job(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = site.client(signed_in="ann@example.org")
        cid = library.create(site.store, _user(site, "ann@example.org"), "Imported").id
        text = ("@misc{one, title={Quiet vision}, author={A. Author}, eprint={2501.00003}}\n"
                "@book{two, title={Elsewhere}, author={Ada Lovelace}}\n@article{bad,\n")
        queued = post_form(ann, f"/library/c/{cid}/import", {"text": text},
                           follow_redirects=False)
        job_url = queued.headers["location"]
        assert ann.get(job_url + ".json").json()["pending"] is True
        assert site.client(signed_in="bob@example.org").get(job_url).status_code == 404
        run_queues(site.store, site.settings)
        done = ann.get(job_url + ".json").json()
        assert done["status"] == "done", done
        assert (done["result"]["matched"], done["result"]["unmatched"],
                done["result"]["rejected"]) == (1, 1, 1)
        page = ann.get(job_url).text
        assert "Elsewhere" in page and "bad" in page


def test_groups_invite_the_same_for_any_address(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = site.client(signed_in="ann@example.org")
        made = post_form(ann, "/library/groups", {"name": "Optics lab"},
                         follow_redirects=False)
        url = made.headers["location"]
        gid = url.rsplit("/", 1)[1]
        known = post_form(ann, f"{url}/invite", {"email": "bob@example.org"},
                          follow_redirects=False)
        unknown = post_form(ann, f"{url}/invite", {"email": "nobody@example.org"},
                            follow_redirects=False)
        assert (known.status_code, known.headers["location"]) == \
            (unknown.status_code, unknown.headers["location"])
        api = call_api(ann, "POST", f"/api/library/groups/{gid}/invites",
                       json={"email": "zed@example.org"})
        assert api.status_code == 202 and "zed@example.org" in api.json()["message"]
        bob = site.client(signed_in="bob@example.org")
        assert bob.get(url).status_code == 404
        assert call_api(bob, "POST", f"/api/library/groups/{gid}/invites",
                        json={"email": "x@example.org"}).status_code == 404
