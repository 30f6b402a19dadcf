"""How the entries of real citation files would match a store: by arXiv id, DOI, or title.

A plain, read-only report (no schema migration, no writes): for each file, how many entries
it has, how many were rejected, and how many match a stored paper by arXiv id, else by DOI,
else by normalised title with the first author's surname (the import's order), and how many
match nothing. "with arXiv id" and "with DOI" count what the entries carry, stored or not.

    python bench/citations_match_report.py --home /tmp/pw-copy [FILE ...]

Point ``--home`` at a copy of a bench home (``cp -a /work/bench-home/pw /tmp/pw-copy``);
without FILEs it reads tests/fixtures/citations/real. ``match_report`` is the same for code.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from paperwire.formats.citations import (
    CitationEntry,
    first_author_surname,
    normalise_title,
    parse_citations,
)
from paperwire.settings import Settings
from paperwire.store import Store

REAL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "citations" / "real"


@dataclass(frozen=True)
class FileReport:
    name: str
    entries: int
    rejected: int
    with_arxiv_id: int
    with_doi: int
    by_arxiv_id: int
    by_doi: int
    by_title: int
    unmatched: int


def title_key(entry: CitationEntry) -> tuple[str, str] | None:
    surname = first_author_surname(entry.authors)
    title = normalise_title(entry.title) if entry.title else ""
    return (title, surname) if title and surname else None


def match_entries(store: Store, entries: Iterable[CitationEntry]
                  ) -> tuple[list[CitationEntry], list[CitationEntry], list[CitationEntry],
                             list[CitationEntry]]:
    """Entries split into (by arXiv id, by DOI, by title key, unmatched), in that order of
    preference, each lookup one batch."""
    rest = list(entries)
    stored = store.get_papers(e.arxiv_id for e in rest if e.arxiv_id)
    by_id = [e for e in rest if e.arxiv_id in stored]
    rest = [e for e in rest if e.arxiv_id not in stored]
    dois = store.find_papers_by_dois(e.doi for e in rest if e.doi)
    by_doi = [e for e in rest if e.doi in dois]
    rest = [e for e in rest if e.doi not in dois]
    keys = {e.key: k for e in rest if (k := title_key(e))}
    titles = store.find_papers_by_title_keys(list(dict.fromkeys(keys.values())),
                                             normalise=normalise_title)
    by_title = [e for e in rest if keys.get(e.key) in titles]
    unmatched = [e for e in rest if keys.get(e.key) not in titles]
    return by_id, by_doi, by_title, unmatched


def match_report(store: Store, files: Iterable[Path]) -> list[FileReport]:
    reports = []
    for path in files:
        parsed = parse_citations(path.read_text(encoding="utf-8"))
        by_id, by_doi, by_title, unmatched = match_entries(store, parsed.entries)
        reports.append(FileReport(
            name=path.name, entries=len(parsed.entries), rejected=len(parsed.errors),
            with_arxiv_id=sum(1 for e in parsed.entries if e.arxiv_id),
            with_doi=sum(1 for e in parsed.entries if e.doi), by_arxiv_id=len(by_id),
            by_doi=len(by_doi), by_title=len(by_title), unmatched=len(unmatched)))
    return reports


def markdown(reports: list[FileReport], papers: int) -> str:
    columns = list(asdict(reports[0])) if reports else []
    lines = [f"Matched against a store of {papers:,} papers.", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(v) for v in asdict(r).values()) + " |" for r in reports]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True,
                        help="a paperwire home (a copy: the report opens it read-only)")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    files = args.files or sorted(p for p in REAL.iterdir() if p.suffix in (".bib", ".ris"))
    with Store.open(Settings(home=args.home), migrate_schema=False) as store:
        print(markdown(match_report(store, files), store.count_papers()), end="")


if __name__ == "__main__":
    main()
