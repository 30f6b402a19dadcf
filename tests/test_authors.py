"""Author identities on SQLite and PostgreSQL: normal forms, the homonym rule, the pages and
their twins, merge and split, rebuild of papers stored before, claims and follows."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select

from paperwire.authors import rebuild
from paperwire.cli import cli
from paperwire.names import Evidence, choose_identity, normalise
from paperwire.store import Store
from paperwire.store.author_schema import authors, paper_authors
from paperwire.store.database import write_transaction
from paperwire.store.schema import papers
from tests.app import make_app
from tests.helpers import paper, post_form, sign_in

USERS = [("ann@example.org", "user", "Ann"), ("mod@example.org", "moderator", "Mod")]


def _corpus() -> list:  # type: ignore[type-arg]
    return [
        paper("2501.00001", authors=("Ada Lovelace", "Charles Babbage"), categories=("cs.CL",)),
        paper("2501.00002", authors=("Lovelace, Ada", "Mary Somerville"),
              categories=("cs.LG",)),
        # Same name, no shared co-author, another archive: a second Ada Lovelace.
        paper("2501.00003", authors=("Ada Lovelace", "Emmy Noether"),
              categories=("math.AG",)),
        paper("2501.00004", authors=("A. Lovelace", "Charles Babbage"), categories=("cs.CL",)),
    ]


def test_names_in_normal_form() -> None:
    assert normalise("Lovelace, Ada").key == normalise("Ada  Lovelace").key == "lovelace|ada"
    assert normalise("Lovelace, Ada").display == "Ada Lovelace"
    assert normalise("A.B. Smith").key == normalise("Smith, A. B.").key == "smith|a b"
    assert normalise("Jürgen Müller").slug == "jurgen-muller"
    assert normalise("ＡＤＡ Lovelace").key == "lovelace|ada"  # NFKC: full-width letters
    assert normalise("Jean-Pierre van der Berg").sort_name == "van der Berg, Jean-Pierre"
    assert normalise("A. Lovelace").key != normalise("Ada Lovelace").key
    assert normalise("王伟").slug and normalise("王伟").key != normalise("李娜").key


def test_homonym_rule() -> None:
    one = Evidence(1, frozenset({"babbage|charles"}), frozenset({"cs"}))
    two = Evidence(2, frozenset({"noether|emmy"}), frozenset({"math"}))
    assert choose_identity([one, two], {"noether|emmy"}, {"cs"}) == 2  # co-author outweighs
    assert choose_identity([one, two], set(), {"cs"}) == 1
    assert choose_identity([one, two], {"gauss|carl"}, {"physics"}) is None
    assert choose_identity([two, one], set(), set()) == 1  # no evidence: the oldest
    assert choose_identity([], {"x|y"}, {"cs"}) is None


def test_author_pages_twins_and_feed(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=_corpus()) as built:
        client = built.client()
        page = client.get("/authors/ada-lovelace.json").json()
        assert [p["arxiv_id"] for p in page["papers"]] == ["2501.00002", "2501.00001"]
        assert {c["slug"] for c in page["coauthors"]} == {"charles-babbage",
                                                          "mary-somerville"}
        assert page["categories"] == {"cs.CL": 1, "cs.LG": 1}
        assert page["votes"] == {"local": 0, "imported": 0}
        other = client.get("/authors/ada-lovelace-2.json").json()
        assert [p["arxiv_id"] for p in other["papers"]] == ["2501.00003"]
        html = client.get("/authors/ada-lovelace")
        assert html.status_code == 200 and "Charles Babbage" in html.text
        feed = ElementTree.fromstring(client.get("/authors/ada-lovelace.atom").content)
        assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 2
        assert client.get("/authors/nobody").status_code == 404
        assert client.get("/authors/BAD slug").status_code in (400, 404)
        # The paper page and cards name the identity's page.
        card = client.get("/papers/2501.00003").text
        assert 'href="/authors/ada-lovelace-2"' in card


def test_merge_split_and_rebuild(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=_corpus()) as built:
        store, client = built.store, built.client()
        assert store.merge_authors("a-lovelace", "ada-lovelace") == 1
        gone = client.get("/authors/a-lovelace.json", follow_redirects=False)
        assert gone.status_code == 301 and gone.headers["location"] == "/authors/ada-lovelace.json"
        assert client.get("/authors/ada-lovelace.json").json()["total"] == 3
        made = store.split_author("ada-lovelace", ["2501.00004"])
        assert made["slug"] == "ada-lovelace-3"
        assert client.get(f"/authors/{made['slug']}.json").json()["total"] == 1
        with pytest.raises(Exception, match="not a paper of"):
            store.split_author("ada-lovelace", ["2501.00003"])
        # Papers stored before identities existed: rebuild links them, and resumes.
        with write_transaction(store.engine) as conn:
            conn.execute(delete(paper_authors))
        assert store.count_unlinked() == 4
        # A page cached before the rebuild must not keep showing the names unlinked.
        assert 'href="/authors/' not in client.get("/papers/2501.00004").text
        assert rebuild(store, progress=False, batch=3).linked == 4
        assert 'href="/authors/' in client.get("/papers/2501.00004").text
        assert store.count_unlinked() == 0 and rebuild(store, progress=False).linked == 0
        result = CliRunner().invoke(cli, ["--home", str(tmp_path), "--database-url",
                                          database_url or built.settings.resolved_database_url,
                                          "authors", "rebuild"])
        assert result.exit_code == 0, result.output
        assert "0 papers linked" in result.output


def test_claims_and_follows(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=_corpus(), users=USERS) as built:
        ann = sign_in(built.client(), "ann@example.org")
        answer = post_form(ann, "/authors/ada-lovelace/claim", {}, follow_redirects=False)
        assert answer.status_code == 303
        assert ann.get("/authors/ada-lovelace.json").json()["my_claim"] == "pending"
        mod = sign_in(built.client(), "mod@example.org")
        [claim] = mod.get("/authors/ada-lovelace.json").json()["claims"]
        assert post_form(ann, f"/authors/ada-lovelace/claims/{claim['id']}",
                         {"decision": "confirm"}).status_code == 403
        post_form(mod, f"/authors/ada-lovelace/claims/{claim['id']}", {"decision": "confirm"})
        assert built.client().get("/authors/ada-lovelace.json").json()["claimed_by"] == ["Ann"]
        # Follow, twice (idempotent), then a category; /following lists both.
        for _ in range(2):
            post_form(ann, "/authors/charles-babbage/follow", {"on": "1"})
        post_form(ann, "/following/category", {"category": "cs.CL"})
        following = ann.get("/following.json").json()
        assert [a["slug"] for a in following["authors"]] == ["charles-babbage"]
        assert [c["category"] for c in following["categories"]] == ["cs.CL"]
        assert {p["arxiv_id"] for p in following["papers"]} == {"2501.00001", "2501.00004"}
        assert ann.get("/authors/charles-babbage.json").json()["following"] is True
        post_form(ann, "/authors/charles-babbage/follow", {"on": "0"})
        assert ann.get("/following.json").json()["authors"] == []
        # No CSRF token: refused; signed out: sent to sign in.
        assert ann.post("/authors/ada-lovelace/follow", data={"on": "1"}).status_code == 403
        anon = built.client().get("/following", follow_redirects=False)
        assert anon.status_code == 303


def _slugs(store: Store, arxiv_id: str) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(
            select(authors.c.slug).join(paper_authors, paper_authors.c.author_id == authors.c.id)
            .join(papers, papers.c.id == paper_authors.c.paper_id)
            .where(papers.c.arxiv_id == arxiv_id).order_by(paper_authors.c.position)).scalars())


def test_stored_coauthors_decide_where_they_can(store: Store) -> None:
    """Each paper is its own write, so the evidence comes from what is stored. Linking reads
    an identity's stored co-authors only where they can change the choice: these are the
    cases where they do."""
    for arxiv_id, names, category in [
        ("2501.00001", ("Wei Wang", "Alice Smith"), "cs.CL"),
        ("2501.00002", ("Wei Wang", "Bob Jones"), "hep-th"),    # nothing shared: a second one
        ("2501.00003", ("Wei Wang", "Bob Jones"), "cs.CL"),     # Bob (2) beats the archive (1)
        ("2501.00004", ("Wei Wang", "Alice Smith"), "hep-th"),  # Alice beats hep-th
        ("2501.00005", ("Ada Lovelace", "Charles Babbage"), "cs.CL"),
        # One identity of the name, in another archive: the shared co-author keeps her.
        ("2501.00006", ("Ada Lovelace", "Charles Babbage"), "math.AG"),
        ("2501.00007", ("Ada Lovelace", "Emmy Noether"), "math.AG"),  # math now: hers too
    ]:
        store.write_batch([paper(arxiv_id, authors=names, categories=(category,))])
    assert _slugs(store, "2501.00001")[0] == "wei-wang"
    assert _slugs(store, "2501.00002")[0] == "wei-wang-2"
    assert _slugs(store, "2501.00003")[0] == "wei-wang-2"
    assert _slugs(store, "2501.00004")[0] == "wei-wang"
    assert {_slugs(store, f"2501.0000{n}")[0] for n in (5, 6, 7)} == {"ada-lovelace"}
