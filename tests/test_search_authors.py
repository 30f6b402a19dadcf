"""Search by author goes by the normalised identity (paperwire.names): "Lovelace, Ada" finds
what "Ada Lovelace" wrote, "Muller" finds Müller, a slug names its identity, and
``author:`` inside the query box is that filter; a name no identity has still matches its
words as written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.app import make_app
from tests.helpers import paper

PAPERS = [
    paper("2501.00001", title="Analytical engines", authors=("Ada Lovelace", "C. Babbage")),
    paper("2501.00002", title="Engines, again", authors=("Lovelace, Ada",)),
    paper("2501.00003", title="Engines by an initial", authors=("A. Lovelace",)),
    paper("2501.00004", title="Engines of Zurich", authors=("Jürgen Müller",)),
    paper("2501.00005", title="Engines nobody else wrote", authors=("Grace Hopper",)),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, module_database_url: str
           ) -> Iterator[TestClient]:
    with make_app(tmp_path_factory.mktemp("search-authors"), module_database_url,
                  papers=PAPERS, index=True) as site:
        yield site.client()


def found(client: TestClient, **params: str) -> list[str]:
    answer = client.get("/search.json", params={"q": "engines", "mode": "lexical", **params})
    assert answer.status_code == 200, answer.text
    return sorted(h["arxiv_id"] for h in answer.json()["hits"])


def test_author_filter_goes_by_the_identity_not_the_words(client: TestClient) -> None:
    # One identity, however the paper writes the name; an initial is another identity.
    assert found(client, author="Lovelace, Ada") == ["2501.00001", "2501.00002"]
    assert found(client, author="Ada Lovelace") == ["2501.00001", "2501.00002"]
    assert found(client, author="ada-lovelace") == ["2501.00001", "2501.00002"]
    assert found(client, author="Jurgen Muller") == ["2501.00004"]


def test_a_name_no_identity_has_matches_its_words(client: TestClient) -> None:
    assert found(client, author="Lovelace") == ["2501.00001", "2501.00002", "2501.00003"]
    assert found(client, author="Nobody Known") == []


def test_author_in_the_query_box_is_the_filter(client: TestClient) -> None:
    data = client.get("/search.json", params={"q": 'engines author:"Lovelace, Ada"',
                                              "mode": "lexical"}).json()
    assert data["query"] == "engines" and data["author"] == "Lovelace, Ada"
    assert sorted(h["arxiv_id"] for h in data["hits"]) == ["2501.00001", "2501.00002"]
    assert found(client, q="author:grace-hopper engines") == ["2501.00005"]
    # An explicit author= wins over a term in the box, which then stays words.
    only = client.get("/search.json", params={"q": "engines author:x", "author": "Grace Hopper",
                                              "mode": "lexical"}).json()
    assert only["author"] == "Grace Hopper" and only["query"] == "engines author:x"
    alone = client.get("/search.json", params={"q": "author:grace-hopper"}).json()
    assert alone["hits"] == [] and "Type some words" in alone["notes"][0]
