"""SQL of author identities: linking papers to authors, an author's page, merge and split.

Linking runs inside the transaction that writes the papers (``link_papers``), so a stored
paper and its authors appear together. The names' normal form and the homonym rule are
``paperwire.names``; this module only reads the evidence the rule needs and writes what it
chose. Papers stored before authors existed (or whose links a crash left out) are linked by
``paperwire authors rebuild``, which reads ``unlinked_papers``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from paperwire.errors import NotFound
from paperwire.models import Paper
from paperwire.names import Evidence, Name, archive_of, choose_identity, normalise
from paperwire.store.author_schema import authors, paper_authors
from paperwire.store.papers import built, ids_param, in_chunks, row_to_paper
from paperwire.store.schema import external_votes, hidden_papers, paper_categories, papers
from paperwire.store.schema import votes as votes_table


def link_papers(conn: Connection, arxiv_ids: Iterable[str], now: datetime) -> int:
    """Give each of these stored papers its author identities, where its stored links do not
    already match its author list (a new version may change it); returns papers linked."""
    linked = 0
    for chunk in in_chunks(arxiv_ids):
        rows = conn.execute(select(papers.c.id, papers.c.authors, papers.c.categories)
                            .where(papers.c.arxiv_id.in_(chunk)).order_by(papers.c.id)).all()
        written = _written_names(conn, [r.id for r in rows])
        stale = [r for r in rows if written.get(r.id) != [str(a) for a in r.authors or []]]
        redo = [r.id for r in stale if r.id in written]
        if redo:
            conn.execute(delete(paper_authors).where(paper_authors.c.paper_id.in_(redo)))
        if stale:
            _link_batch(conn, [(r.id, [str(a) for a in r.authors or []],
                                list(r.categories or [])) for r in stale], now)
        linked += len(stale)
    return linked


def _written_names(conn: Connection, paper_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for chunk in in_chunks(paper_ids):
        rows = conn.execute(select(paper_authors.c.paper_id, paper_authors.c.name)
                            .where(paper_authors.c.paper_id.in_(chunk))
                            .order_by(paper_authors.c.paper_id, paper_authors.c.position))
        for paper_id, name in rows:
            found.setdefault(paper_id, []).append(name)
    return found


def _link_batch(conn: Connection, batch: list[tuple[int, list[str], list[str]]],
                now: datetime) -> None:
    """Link papers in order, each seeing the identities the ones before it chose: the
    evidence is read for the batch and grown in memory, and new identities are written
    together at the end (a few statements per batch, not per paper)."""
    normal = {paper_id: [normalise(n) for n in names] for paper_id, names, _ in batch}
    keys = {n.key for names in normal.values() for n in names}
    candidates = _candidates(conn, keys)
    # Each identity's archives and co-author keys, grown as the batch links its papers.
    archives_of = _archives(conn, [i for ids in candidates.values() for i in ids])
    coauthors = _Coauthors(conn, keys)
    coauthors.read(_coauthors_needed(batch, normal, candidates, archives_of))
    fresh: dict[int, Name] = {}  # a placeholder id (negative) → the new identity's name
    links: list[dict[str, Any]] = []
    for paper_id, names, categories in batch:
        paper_keys = {n.key for n in normal[paper_id]}
        archives = {archive_of(c) for c in categories}
        chosen: list[int] = []
        for position, (written, name) in enumerate(zip(names, normal[paper_id], strict=True)):
            found = [i for i in candidates.get(name.key, []) if i not in chosen]
            if len(found) > 1 or (found and not archives_of[found[0]] & archives):
                coauthors.read(found)  # they can decide here: make sure they are known
            pool = [Evidence(i, coauthors.of(i), archives_of[i]) for i in found]
            author_id = choose_identity(pool, paper_keys - {name.key}, archives)
            if author_id is None:
                author_id = -(len(fresh) + 1)
                fresh[author_id] = name
                candidates.setdefault(name.key, []).append(author_id)
                archives_of[author_id] = set()
            chosen.append(author_id)
            links.append({"paper_id": paper_id, "position": position,
                          "author_id": author_id, "name": written[:300]})
        for author_id, name in zip(chosen, normal[paper_id], strict=True):
            coauthors.of(author_id).update(paper_keys - {name.key})
            archives_of[author_id].update(archives)
    real = _new_authors(conn, fresh, now)
    for link in links:
        link["author_id"] = real.get(link["author_id"], link["author_id"])
    if links:
        conn.execute(insert(paper_authors), links)


def _coauthors_needed(batch: list[tuple[int, list[str], list[str]]],
                      normal: dict[int, list[Name]], candidates: dict[str, list[int]],
                      archives_of: dict[int, set[str]]) -> set[int]:
    """The stored identities whose co-authors can decide a choice in this batch: those of a
    key with several identities, and a key's only identity where a paper's archives miss
    its own. Where a key has one identity sharing the paper's archive, the rule joins it
    whatever the co-authors, so reading them (the costliest read of an ingest: every
    co-author of every paper of a prolific name) would change nothing."""
    needed = {i for ids in candidates.values() if len(ids) > 1 for i in ids}
    for paper_id, _, categories in batch:
        archives = {archive_of(c) for c in categories}
        for name in normal[paper_id]:
            found = candidates.get(name.key, [])
            if len(found) == 1 and not archives_of[found[0]] & archives:
                needed.add(found[0])
    return needed


class _Coauthors:
    """Co-author keys (among the batch's ``keys``) of identities: the stored ones read on
    demand, once each, plus what the batch adds."""

    def __init__(self, conn: Connection, keys: set[str]) -> None:
        self.conn, self.keys = conn, keys
        self.known: dict[int, set[str]] = {}
        self.stored_read: set[int] = set()

    def of(self, author_id: int) -> set[str]:
        # An identity not read (yet) holds only what this batch gave it; choices that its
        # stored co-authors could change call ``read`` first.
        return self.known.setdefault(author_id, set())

    def read(self, ids: Iterable[int]) -> None:
        todo = [i for i in ids if i > 0 and i not in self.stored_read]  # placeholders: new
        if not todo:
            return
        self.stored_read.update(todo)
        mine, theirs = paper_authors.alias("mine"), paper_authors.alias("theirs")
        for chunk in in_chunks(todo):
            shared = self.conn.execute(
                select(mine.c.author_id, authors.c.key).distinct()
                .join(theirs, theirs.c.paper_id == mine.c.paper_id)
                .join(authors, authors.c.id == theirs.c.author_id)
                .where(mine.c.author_id.in_(chunk), authors.c.key.in_(self.keys),
                       theirs.c.author_id != mine.c.author_id))
            for author_id, key in shared:
                self.of(author_id).add(key)


def _archives(conn: Connection, ids: Sequence[int]) -> dict[int, set[str]]:
    """Each identity's archives (``cs`` for cs.CL), from its stored papers' categories."""
    archives: dict[int, set[str]] = {i: set() for i in ids}
    for chunk in in_chunks(ids):
        cats = conn.execute(select(paper_authors.c.author_id, paper_categories.c.category)
                            .distinct().join(paper_categories,
                                             paper_categories.c.paper_id
                                             == paper_authors.c.paper_id)
                            .where(paper_authors.c.author_id.in_(chunk)))
        for author_id, category in cats:
            archives[author_id].add(archive_of(category))
    return archives


def _candidates(conn: Connection, keys: Iterable[str]) -> dict[str, list[int]]:
    """Identities by key, each resolved to the identity it was merged into."""
    found: dict[str, list[int]] = {}
    for chunk in in_chunks(keys):
        rows = conn.execute(select(authors.c.key, authors.c.id, authors.c.merged_into)
                            .where(authors.c.key.in_(chunk)).order_by(authors.c.id))
        for key, author_id, merged in rows:
            root = merged or author_id
            if root not in found.setdefault(key, []):
                found[key].append(root)
    return found


def _free_slugs(conn: Connection, names: list[Name]) -> list[str]:
    """A slug for each new identity: its name's, else with the first free suffix (-2, -3…)."""
    bases = {n.slug for n in names}
    taken: set[str] = set()
    for chunk in in_chunks(bases):
        taken.update(conn.execute(select(authors.c.slug)
                                  .where(authors.c.slug.in_(chunk))).scalars())
    for base in [b for b in bases if b in taken]:  # homonyms: rare, one look-up each
        taken.update(conn.execute(select(authors.c.slug)
                                  .where(authors.c.slug.like(base + "-%"))).scalars())
    slugs = []
    for name in names:
        slug, n = name.slug, 1
        while slug in taken:
            n += 1
            slug = f"{name.slug}-{n}"
        taken.add(slug)
        slugs.append(slug)
    return slugs


def _new_authors(conn: Connection, fresh: dict[int, Name], now: datetime) -> dict[int, int]:
    """Write new identities; their placeholder ids → their real ones."""
    if not fresh:
        return {}
    order = list(fresh)
    slugs = _free_slugs(conn, [fresh[i] for i in order])
    rows = [{"slug": slug, "name": fresh[i].display[:300], "sort_name": fresh[i].sort_name[:300],
             "key": fresh[i].key, "merged_into": None, "created_at": now}
            for i, slug in zip(order, slugs, strict=True)]
    conn.execute(insert(authors), rows)
    ids: dict[str, int] = {}
    for chunk in in_chunks(slugs):
        ids.update((s, int(i)) for s, i in conn.execute(
            select(authors.c.slug, authors.c.id).where(authors.c.slug.in_(chunk))))
    return {placeholder: ids[slug] for placeholder, slug in zip(order, slugs, strict=True)}


def _new_author(conn: Connection, name: Name, now: datetime) -> int:
    return _new_authors(conn, {-1: name}, now)[-1]


def unlinked_papers(conn: Connection, after_id: int, limit: int) -> list[tuple[int, str]]:
    """(row id, arXiv id) of papers without author links, after ``after_id``."""
    linked = select(paper_authors.c.paper_id).where(paper_authors.c.paper_id == papers.c.id)
    rows = conn.execute(select(papers.c.id, papers.c.arxiv_id)
                        .where(papers.c.id > after_id, ~linked.exists())
                        .order_by(papers.c.id).limit(limit))
    return [(int(r.id), str(r.arxiv_id)) for r in rows]


def count_unlinked(conn: Connection) -> int:
    linked = select(paper_authors.c.paper_id).where(paper_authors.c.paper_id == papers.c.id)
    return int(conn.execute(select(func.count()).select_from(papers)
                            .where(~linked.exists())).scalar_one())


# --- reading ------------------------------------------------------------------------------
def _author_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "slug": row.slug, "name": row.name, "sort_name": row.sort_name,
            "key": row.key, "merged_into": row.merged_into}


def author_by_slug(conn: Connection, slug: str) -> dict[str, Any] | None:
    """An identity by slug; a merged one carries ``merged_into_slug`` (where it went)."""
    row = conn.execute(select(authors).where(authors.c.slug == slug)).first()
    if row is None:
        return None
    found = _author_dict(row)
    if row.merged_into is not None:
        found["merged_into_slug"] = conn.execute(
            select(authors.c.slug).where(authors.c.id == row.merged_into)).scalar_one()
    return found


def authors_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for chunk in in_chunks(ids):
        for row in conn.execute(select(authors).where(authors.c.id.in_(chunk))):
            found[row.id] = _author_dict(row)
    return found


def _visible() -> Any:
    return ~select(hidden_papers.c.paper_id).where(
        hidden_papers.c.paper_id == papers.c.id).exists()


def author_papers(conn: Connection, author_id: int, limit: int, offset: int
                  ) -> tuple[list[Paper], int]:
    """An author's visible papers, newest first (by first version), and how many."""
    # An author may appear twice on one paper (a split missed): IN, not a join, counts once.
    theirs = select(paper_authors.c.paper_id).where(paper_authors.c.author_id == author_id)
    mine = and_(papers.c.id.in_(theirs), _visible())
    total = conn.execute(select(func.count()).select_from(papers).where(mine)).scalar_one()
    rows = conn.execute(select(papers).where(mine)
                        .order_by(papers.c.published.desc(), papers.c.id.desc())
                        .limit(limit).offset(offset))
    return [row_to_paper(r) for r in rows], int(total)


def identity_paper_ids(conn: Connection, slugs: Sequence[str], key: str) -> set[int] | None:
    """Row ids of the papers of the identities a searched name names: those with one of
    ``slugs`` or normal form ``key`` (homonyms split from one another included), and where
    a merged one went. None when no identity matches."""
    rows = conn.execute(select(authors.c.id, authors.c.merged_into).where(
        or_(authors.c.slug.in_(list(slugs)), authors.c.key == key))).all()
    if not rows:
        return None
    ids = {r.id for r in rows} | {r.merged_into for r in rows if r.merged_into is not None}
    return {int(i) for i in conn.execute(
        select(paper_authors.c.paper_id).where(paper_authors.c.author_id.in_(ids))).scalars()}


def author_paper_ids(conn: Connection, author_id: int) -> list[int]:
    """Row ids of every paper of an identity (what a search by author keeps)."""
    return [int(i) for i in conn.execute(
        select(paper_authors.c.paper_id).distinct()
        .where(paper_authors.c.author_id == author_id)).scalars()]


def author_summary(conn: Connection, author_id: int, coauthors: int = 20
                   ) -> dict[str, Any]:
    """Co-authors by papers shared, categories by papers, and the votes of the papers."""
    mine, theirs = paper_authors.alias("mine"), paper_authors.alias("theirs")
    shared = func.count(func.distinct(mine.c.paper_id)).label("shared")
    rows = conn.execute(
        select(authors.c.slug, authors.c.name, shared)
        .join(theirs, theirs.c.author_id == authors.c.id)
        .join(mine, mine.c.paper_id == theirs.c.paper_id)
        .where(mine.c.author_id == author_id, theirs.c.author_id != author_id)
        .group_by(authors.c.slug, authors.c.name)
        .order_by(shared.desc(), authors.c.name).limit(coauthors))
    paper_ids = select(paper_authors.c.paper_id).where(paper_authors.c.author_id == author_id)
    cats = conn.execute(select(paper_categories.c.category, func.count())
                        .where(paper_categories.c.paper_id.in_(paper_ids))
                        .group_by(paper_categories.c.category))
    local = conn.execute(select(func.count()).select_from(votes_table)
                         .where(votes_table.c.paper_id.in_(paper_ids))).scalar_one()
    imported = conn.execute(select(func.coalesce(func.sum(external_votes.c.upvotes), 0))
                            .where(external_votes.c.paper_id.in_(paper_ids))).scalar_one()
    counted = Counter({c: int(n) for c, n in cats})
    return {"coauthors": [{"slug": s, "name": n, "papers": int(k)} for s, n, k in rows],
            "categories": dict(counted.most_common()),
            "votes": {"local": int(local), "imported": int(imported or 0)}}


@built
def _authors_of_query() -> Any:
    root = authors.alias("root")
    return (select(papers.c.arxiv_id, paper_authors.c.name,
                   func.coalesce(root.c.slug, authors.c.slug))
            .join(paper_authors, paper_authors.c.paper_id == papers.c.id)
            .join(authors, authors.c.id == paper_authors.c.author_id)
            .outerjoin(root, root.c.id == authors.c.merged_into)
            .where(papers.c.arxiv_id.in_(ids_param()))
            .order_by(papers.c.arxiv_id, paper_authors.c.position))


def authors_of(conn: Connection, arxiv_ids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """Each paper's authors in order, as written, with their identity's slug."""
    found: dict[str, list[dict[str, str]]] = {}
    for chunk in in_chunks(arxiv_ids):
        rows = conn.execute(_authors_of_query(), {"ids": chunk})
        for arxiv_id, name, slug in rows:
            found.setdefault(arxiv_id, []).append({"name": name, "slug": slug})
    return found


# --- moderation: merge and split ------------------------------------------------------------
def merge(conn: Connection, source_id: int, target_id: int) -> int:
    """Move every paper of ``source`` (and of what was merged into it) to ``target``; the
    source stays as a pointer. Returns the papers moved."""
    if source_id == target_id:
        raise NotFound("an author cannot be merged into itself")
    conn.execute(update(authors).where(authors.c.merged_into == source_id)
                 .values(merged_into=target_id))
    conn.execute(update(authors).where(authors.c.id == source_id)
                 .values(merged_into=target_id))
    moved = conn.execute(update(paper_authors).where(paper_authors.c.author_id == source_id)
                         .values(author_id=target_id))
    return int(moved.rowcount or 0)


def split(conn: Connection, author_id: int, paper_ids: Sequence[int], now: datetime
          ) -> dict[str, Any]:
    """Move ``paper_ids`` of an identity to a new identity of the same name (a homonym the
    rule missed); returns the new identity."""
    row = conn.execute(select(authors).where(authors.c.id == author_id)).first()
    if row is None:
        raise NotFound(f"no author {author_id}")
    name = replace(normalise(row.name), key=row.key)
    new_id = _new_author(conn, name, now)
    conn.execute(update(paper_authors).where(paper_authors.c.author_id == author_id,
                                             paper_authors.c.paper_id.in_(list(paper_ids)))
                 .values(author_id=new_id))
    return authors_by_ids(conn, [new_id])[new_id]
