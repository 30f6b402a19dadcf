"""BibTeX, RIS and CSL-JSON exports of real papers: they parse with the maintained parsers,
render with citeproc-py, compile with Debian's bibtex, and import back to the same papers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import bibtexparser
import pytest
import rispy

from paperwire.formats.bibtex import escape_bibtex, to_bibtex
from paperwire.formats.citations import (
    find_arxiv_id,
    first_author_surname,
    normalise_title,
    parse_bibtex,
    parse_citations,
    parse_csl_json,
    parse_ris,
)
from paperwire.formats.cite import ExportItem, base_key, cite_keys
from paperwire.formats.csl import to_csl, to_csl_json
from paperwire.formats.ris import to_ris
from paperwire.models import Paper
from tests.formats_data import sample_papers, snapshot_papers


def paper(**changes: object) -> Paper:
    base = dict(arxiv_id="2599.00001", version=2, title="Deep Learning for $x^2$ & Friends",
                abstract="We study $\\alpha$.",
                authors=("Jean-Pierre van der Berg", "Ada Lovelace"),
                categories=("cs.LG",), primary_category="cs.LG",
                published=datetime(2025, 3, 14, 12, 0))
    base.update(changes)
    return Paper(**base)  # type: ignore[arg-type]


def items(papers: list[Paper]) -> list[ExportItem]:
    # Notes and tags as a collection would have them, with characters that need escaping.
    return [ExportItem(p, note=f"read {i}: 50% & #{i} ~ {{ok}} é" if i % 3 else None,
                       tags=(f"tag_{i % 5}", "to read") if i % 2 else ())
            for i, p in enumerate(papers)]


def test_bibtex_entry_misc_then_article() -> None:
    text = to_bibtex(paper())
    assert text.startswith("@misc{berg2025deep,\n")
    assert "eprint = {2599.00001}" in text and "archivePrefix = {arXiv}" in text
    assert "primaryClass = {cs.LG}" in text and "url = {https://arxiv.org/abs/2599.00001}" in text
    assert "title = {Deep Learning for $x^2$ \\& Friends}" in text
    assert "author = {van der Berg, Jean-Pierre and Lovelace, Ada}" in text
    article = to_bibtex(paper(doi="10.1103/PhysRevD.1.2", journal_ref="Phys. Rev. D 1, 2 (2025)"))
    assert article.startswith("@article{")
    assert "journal = {Phys. Rev. D 1, 2 (2025)}" in article
    assert "doi = {10.1103/PhysRevD.1.2}" in article


def test_bibtex_escapes_specials_and_keeps_unicode() -> None:
    assert escape_bibtex("50% of #1_2 & {x} ~^\\ é") == \
        r"50\% of \#1\_2 \& \{x\} \textasciitilde{}\textasciicircum{}\textbackslash{} é"
    assert escape_bibtex("unbalanced $x}$ math") == r"unbalanced \$x\}\$ math"
    assert escape_bibtex("escaped $\\{x$ braces") == "escaped $\\{x$ braces"
    assert escape_bibtex("kept $\\mathcal{O}(n)$") == "kept $\\mathcal{O}(n)$"


def test_cite_keys_are_stable_unique_and_shared_by_all_formats() -> None:
    papers = sample_papers(400)
    twin = paper(arxiv_id="2599.00002")
    first = cite_keys([*papers, paper(), twin])
    again = cite_keys(list(reversed([*papers, paper(), twin])))
    assert first == again
    assert len(set(first.values())) == len(first)
    assert first["2599.00001"] == "berg2025deep" and first["2599.00002"] == "berg2025deepa"
    assert all(re.fullmatch(r"[a-z]+\d{4}[a-z0-9]+", k) for k in first.values()), first
    chosen = papers[:20]
    keys = [cite_keys(chosen)[p.arxiv_id] for p in chosen]
    assert [e.key for e in parse_bibtex(to_bibtex(chosen)).entries] == keys
    assert [e.key for e in parse_ris(to_ris(chosen)).entries] == keys
    assert [item["id"] for item in to_csl(chosen)] == keys


def test_base_key_folds_names_and_skips_stopwords() -> None:
    assert base_key(paper(authors=("Łukasz Müller-Ñoño",), title="On the $\\alpha$ Effect")) \
        == "mullernono2025effect"
    assert base_key(paper(arxiv_id="hep-th/9901001", published=None, title="A B")) == \
        "berg1999b"


def test_real_exports_parse_with_bibtexparser_and_rispy() -> None:
    papers = [*sample_papers(150), *snapshot_papers()]
    bib = bibtexparser.parse_string(to_bibtex(items(papers)))
    assert not bib.failed_blocks
    assert len(bib.entries) == len(papers)
    kinds = {e.entry_type for e in bib.entries}
    assert kinds == {"misc", "article"}  # the snapshot's DOIs and journal-refs upgrade some
    ris = rispy.loads(to_ris(items(papers)))
    assert [r["url"] if "url" in r else r["urls"][0] for r in ris] == [p.abs_url for p in papers]
    assert {r["type_of_reference"] for r in ris} == {"GEN", "JOUR"}


def test_csl_json_renders_a_bibliography_with_citeproc() -> None:
    citeproc = pytest.importorskip("citeproc", reason="needs citeproc-py (the test extra)")
    from citeproc.source.json import CiteProcJSON

    papers = [p for p in snapshot_papers() if "$" not in p.title][:20]
    data = json.loads(to_csl_json(papers))
    source = CiteProcJSON(data)
    style = citeproc.CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = citeproc.CitationStylesBibliography(style, source, citeproc.formatter.plain)
    for item in data:
        bibliography.register(citeproc.Citation([citeproc.CitationItem(item["id"])]))
    rendered = "\n".join(str(entry) for entry in bibliography.bibliography())
    for p in papers:
        assert " ".join(p.title.split()[:4]) in rendered, p.title
        family = data[papers.index(p)]["author"][0].get("family")
        assert family is None or family in rendered, family


def test_round_trip_keeps_ids_notes_and_tags_for_200_papers() -> None:
    exported = items(sample_papers(200))
    for name, text in (("bibtex", to_bibtex(exported)), ("ris", to_ris(exported)),
                       ("csl-json", to_csl_json(exported))):
        parsed = parse_citations(text)
        assert not parsed.errors, (name, parsed.errors[:3])
        assert [e.arxiv_id for e in parsed.entries] == [i.paper.arxiv_id for i in exported]
        assert [e.note for e in parsed.entries] == [i.note for i in exported], name
        assert [e.tags for e in parsed.entries] == [i.tags for i in exported], name
        assert [normalise_title(e.title) for e in parsed.entries] == \
            [normalise_title(i.paper.title) for i in exported], name
        assert [first_author_surname(e.authors) for e in parsed.entries] == \
            [first_author_surname(i.paper.authors) for i in exported], name


def test_bad_entries_are_reported_by_line_and_key_while_the_rest_parse() -> None:
    bib = parse_bibtex("@misc{good1, title={One}, eprint={2503.11731}}\n\n"
                       "@article{broken, title={unclosed, year=2020\n\n"
                       "@misc{empty, year={2020}}\n\n"
                       "@misc{good2, title={Two}, journal={arXiv preprint arXiv:hep-th/9901001}}\n")
    assert [(e.key, e.arxiv_id, e.line) for e in bib.entries] == \
        [("good1", "2503.11731", 1), ("good2", "hep-th/9901001", 7)]
    assert [(e.line, e.key) for e in bib.errors] == [(3, "broken"), (5, "empty")]
    ris = parse_ris("TY  - GEN\nID  - a\nTI  - First\nUR  - https://arxiv.org/abs/2401.00001v3\n"
                    "ER  - \n\nID  - nottype\nTI  - no TY line\nER  - \n\n"
                    "TY  - JOUR\nTI  - Third\nDO  - 10.48550/arXiv.2402.00002\nER  - \n")
    assert [(e.title, e.arxiv_id, e.line) for e in ris.entries] == \
        [("First", "2401.00001", 1), ("Third", "2402.00002", 11)]
    assert [(e.line, e.key) for e in ris.errors] == [(7, "nottype")]
    csl = parse_csl_json('[\n {"id": "a", "title": "A", "number": "arXiv:2401.00001"},\n'
                         ' 42,\n {"id": "c", "URL": "http://arxiv.org/abs/math/0501001v1",\n'
                         '  "author": [{"family": "Noether", "given": "Emmy"}]}\n]')
    assert [(e.key, e.arxiv_id, e.line) for e in csl.entries] == \
        [("a", "2401.00001", 2), ("c", "math/0501001", 4)]
    assert [(e.line, e.key) for e in csl.errors] == [(3, None)]


@pytest.mark.parametrize(("values", "expected"), [
    (["arXiv:2503.11731v2"], "2503.11731"),
    (["https://arxiv.org/pdf/hep-th/9901001v1.pdf"], "hep-th/9901001"),
    (["10.48550/arXiv.2401.12345"], "2401.12345"),
    (["arXiv preprint arXiv:math.AG/0601001"], "math.AG/0601001"),
    (["no id here", "see 2503.11731"], None),
])
def test_find_arxiv_id(values: list[str], expected: str | None) -> None:
    assert find_arxiv_id(values) == expected


def test_normalisation_helpers() -> None:
    assert normalise_title("{BERT}: Pre-training of  Deep \\textit{Bidirectional} Transformers") \
        == "bert pre training of deep bidirectional transformers"
    assert normalise_title("The $\\alpha$-Effect") == normalise_title("The α-effect")
    assert first_author_surname(["José van der Müller", "B. C"]) == "muller"
    assert first_author_surname([]) is None


def test_bibtex_compiles_with_debian_bibtex(tmp_path: Path) -> None:
    if shutil.which("bibtex") is None:
        pytest.skip("Debian's bibtex is not installed (apt-get install texlive-binaries)")
    papers = [*sample_papers(100), *snapshot_papers()]
    (tmp_path / "refs.bib").write_text(to_bibtex(items(papers)), encoding="utf-8")
    (tmp_path / "check.bst").write_text(CHECK_BST)
    # Absolute names: without texlive-base's texmf.cnf, kpathsea does not search the cwd.
    (tmp_path / "doc.aux").write_text(f"\\citation{{*}}\n\\bibstyle{{{tmp_path}/check}}\n"
                                      f"\\bibdata{{{tmp_path}/refs}}\n")
    run = subprocess.run(["bibtex", "-terse", "doc"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    log = (tmp_path / "doc.blg").read_text(errors="replace")
    assert run.returncode == 0, log
    assert "Warning" not in log and "error" not in log.lower(), log
    assert (tmp_path / "doc.bbl").read_text().count("\\bibitem") == len(papers)


# A minimal style (texlive-base's plain.bst is a large package to install for one test): it
# reads every field the export writes, so bibtex's parser checks the whole .bib, and defines
# the month macros every standard style defines (the export writes month = mar).
CHECK_BST = "\n".join(f'MACRO {{{m}}} {{"{m}"}}' for m in (
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])) + """
ENTRY { title author journal year month eprint archivePrefix primaryClass doi url abstract
        annote keywords } {} {}
INTEGERS { i n }
FUNCTION {names} { author num.names$ 'n := #1 'i :=
  { n i < #0 = } { author i "{vv~}{ll}{, jj}{, ff}" format.name$ write$ newline$
                  i #1 + 'i := } while$ }
FUNCTION {item} { "\\bibitem{" cite$ * "}" * write$ newline$ title write$ newline$ names }
FUNCTION {misc} { item }
FUNCTION {article} { item }
FUNCTION {default.type} { item }
READ
ITERATE {call.type$}
"""
