"""Search inside a library: the normal search limited to a collection's papers
(``collection=ID``) or to every collection the reader has (``library=mine``), over titles
and abstracts through the search index, and over the items' notes and tags by the query's
words (analysed as the keyword index analyses text).

The index's matches come first in their ranking (the first MAX_IN_LIBRARY of them), then
the papers matched only by a note or tag, newest added first. A collection the reader may
not see is a 404, as everywhere.
"""

from __future__ import annotations

from dataclasses import replace

from paperwire import library
from paperwire.index.lexical import analyse
from paperwire.models import Filters, User
from paperwire.search import Hit, Results, Snippet
from paperwire.web.library import answering
from paperwire.web.site import Site

MAX_IN_LIBRARY = 200  # the most index matches one search inside a library ranks


def scoped_results(site: Site, q: str, viewer: User | None, collection: int | None,
                   mine: bool, *, mode: str, sort: str, filters: Filters, offset: int,
                   limit: int) -> Results:
    """One page of results inside the library scope (see the module docstring)."""
    with answering():
        scope = library.scope(site.store, viewer, collection, mine=mine)
    results = Results(query=q, mode=mode, hits=[])
    if scope.rows:
        results = site.searcher.search(q, limit=MAX_IN_LIBRARY, mode=mode, sort=sort,
                                       filters=replace(filters, rows=scope.rows))
    found = {h.paper.arxiv_id for h in results.hits}
    terms = set(analyse(q))
    extra = [i for i, text in scope.texts.items()
             if i not in found and terms & set(analyse(text))]
    papers = site.store.get_papers(extra)
    hidden = site.store.hidden_row_ids()
    rows = site.store.row_ids(extra) if hidden else {}
    # Filters.matches cannot see links: "has code" is read for these papers here, as the
    # Searcher reads it for the index's hits.
    coded = ({i for i, links in site.store.links_of(extra).items()
              if any(link.kind == "code" for link in links)} if filters.code else None)
    for arxiv_id in extra:
        paper = papers.get(arxiv_id)
        if paper is None or rows.get(arxiv_id) in hidden or not filters.matches(paper) \
                or (coded is not None and arxiv_id not in coded):
            continue
        results.hits.append(Hit(paper, 0.0, None, None, Snippet(paper.abstract[:320])))
    results.hits = results.hits[offset:offset + limit]
    return results
