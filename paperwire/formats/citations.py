"""Citation files read back: .bib (bibtexparser), .ris (rispy) and CSL-JSON as CitationEntry.

Each parser returns every entry it could read and, for each it could not, a CitationError
with its line and key, so one bad entry never stops an import. Matching entries to stored
papers (arXiv id, then DOI, then normalised title with the first author's surname) is the
library's job; ``normalise_title`` and ``first_author_surname`` are the keys it compares.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import bibtexparser
import rispy
from pylatexenc.latex2text import LatexNodes2Text

from paperwire.formats.cite import ascii_fold, name_parts
from paperwire.formats.latex import to_text

__all__ = ["CitationEntry", "CitationError", "ParsedCitations", "doi_in", "find_arxiv_id",
           "first_author_surname", "normalise_title", "parse_bibtex", "parse_citations",
           "parse_csl_json", "parse_ris", "sniff_format", "year_in"]

MAX_FILE_CHARS = 20_000_000
MAX_ENTRIES = 20_000

_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7}"
_ID = rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?:v\d+)?"
_ARXIV_IN_TEXT = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf)/|arxiv[:\s.]\s*|10\.48550/arxiv\.){_ID}", re.I)
_BARE_ID = re.compile(rf"^\s*(?:arxiv:\s*)?{_ID}\s*$", re.I)
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


@dataclass(frozen=True)
class CitationEntry:
    """One reference from a citation file, as much as matching and unmatched items need."""

    key: str
    title: str
    authors: tuple[str, ...]
    year: int | None
    arxiv_id: str | None
    doi: str | None
    note: str | None
    tags: tuple[str, ...]
    line: int  # where the entry began, counting from 1 (a Zotero item: its position)
    kind: str = ""  # the entry's type as its format names it: "article", "JOUR", "preprint"


@dataclass(frozen=True)
class CitationError:
    """An entry that could not be read: where it began, its key if one was found, and why."""

    line: int
    key: str | None
    reason: str

    def __str__(self) -> str:
        key = f" ({self.key})" if self.key else ""
        return f"line {self.line}{key}: {self.reason}"


@dataclass(frozen=True)
class ParsedCitations:
    entries: tuple[CitationEntry, ...]
    errors: tuple[CitationError, ...]


class CitationFileError(ValueError):
    """The file as a whole cannot be read (too large, not the format named)."""


def find_arxiv_id(values: Iterable[str], *, bare: bool = False) -> str | None:
    """The first arXiv id in ``values`` ("arXiv:2503.11731v2", an abs URL, an arXiv DOI;
    with ``bare``, also a plain "hep-th/9901001")."""
    for value in values:
        match = (_BARE_ID.match(value) if bare else None) or _ARXIV_IN_TEXT.search(value)
        if match:
            return match.group("id")
    return None


def normalise_title(title: str) -> str:
    """A title as matching compares it: math as text, LaTeX and case and punctuation gone."""
    return " ".join(re.sub(r"[^\w]+", " ", to_text(_delatex(title)).casefold()).split())


def first_author_surname(authors: Iterable[str]) -> str | None:
    """The first author's family name folded to ASCII ("Müller" → "muller"), if any."""
    for name in authors:
        folded = ascii_fold(name_parts(name).family.split(" ")[-1])
        if folded:
            return folded
    return None


def _delatex(text: str) -> str:
    if "\\" not in text and "{" not in text:
        return text
    try:
        return str(LatexNodes2Text(math_mode="verbatim").latex_to_text(text))
    except Exception:  # noqa: BLE001  (pylatexenc fails on malformed input; keep it raw)
        return text


def _split_tags(value: str) -> tuple[str, ...]:
    sep = "," if "," in value else ";"
    return tuple(t.strip() for t in value.split(sep) if t.strip())


def year_in(value: Any) -> int | None:
    """The first plausible year (1800-2099) in ``value``."""
    match = _YEAR.search(str(value)) if value is not None else None
    return int(match.group(1)) if match else None


def doi_in(values: Iterable[str]) -> str | None:
    """The first DOI in ``values``, lower-cased (DOIs compare without case)."""
    for value in values:
        match = _DOI.search(value)
        if match:
            return match.group(0).rstrip(".,;").lower()
    return None


def _check_size(text: str) -> None:
    if len(text) > MAX_FILE_CHARS:
        raise CitationFileError(f"citation file is {len(text):,} characters (limit "
                                f"{MAX_FILE_CHARS:,})")


# --- BibTeX -----------------------------------------------------------------------------

_BIB_KEY = re.compile(r"@\s*\w+\s*[{(]\s*([^,\s]+)")
_ARXIV_FIELDS = ("eprint", "arxivid", "arxiv", "url", "note", "journal", "howpublished",
                 "doi", "annote", "annotation")


def parse_bibtex(text: str) -> ParsedCitations:
    """Entries of a .bib file; LaTeX in titles and names decoded to unicode."""
    _check_size(text)
    library = bibtexparser.parse_string(text)  # type: ignore[attr-defined]
    entries: list[CitationEntry] = []
    errors = [CitationError(_line_of(b.start_line), _bib_key(b.raw or ""), _first_line(b.error))
              for b in library.failed_blocks]
    for entry in library.entries[:MAX_ENTRIES]:
        fields = {k.lower(): str(f.value) for k, f in entry.fields_dict.items()}
        line = _line_of(entry.start_line)
        try:
            entries.append(_bib_entry(entry.key, fields, line, entry.entry_type.lower()))
        except ValueError as exc:
            errors.append(CitationError(line, entry.key, str(exc)))
    _too_many(len(library.entries), errors)
    return ParsedCitations(tuple(entries), tuple(sorted(errors, key=lambda e: e.line)))


def _line_of(start_line: int | None) -> int:
    return start_line + 1 if start_line is not None else 0  # bibtexparser counts from 0


def _bib_key(raw: str) -> str | None:
    match = _BIB_KEY.match(raw.lstrip())
    return match.group(1) if match else None


def _first_line(error: Exception | str) -> str:
    return " ".join(str(error).split("\n")[:2]).strip() or "not a valid BibTeX entry"


def _too_many(count: int, errors: list[CitationError]) -> None:
    if count > MAX_ENTRIES:
        errors.append(CitationError(0, None, f"the file has {count:,} entries; only the "
                                    f"first {MAX_ENTRIES:,} were read"))


def _bib_entry(key: str, fields: dict[str, str], line: int, kind: str = "") -> CitationEntry:
    title = " ".join(_delatex(_unbrace(fields.get("title", ""))).split())
    authors = tuple(" ".join(_delatex(a).split()) for a in _bib_names(fields.get("author", "")))
    if not title and not authors:
        raise ValueError("entry has neither a title nor authors")
    eprint = fields.get("eprint", "")
    prefix = fields.get("archiveprefix", fields.get("eprinttype", "")).lower()
    arxiv_id = find_arxiv_id([eprint], bare=True) if prefix in ("arxiv", "") else None
    arxiv_id = arxiv_id or find_arxiv_id(fields.get(f, "") for f in _ARXIV_FIELDS)
    note = fields.get("annote") or fields.get("annotation") or fields.get("comment")
    return CitationEntry(
        key=key, title=title, authors=authors,
        year=year_in(fields.get("year") or fields.get("date")), arxiv_id=arxiv_id,
        doi=doi_in([fields.get("doi", "")]), note=_delatex(note) if note else None,
        tags=_split_tags(_delatex(fields.get("keywords", ""))), line=line, kind=kind)


def _unbrace(text: str) -> str:
    # {{Title}} and {BERT}: braces that only protect case.
    return re.sub(r"(?<!\\)[{}]", "", text) if "\\" not in text else text


def _bib_names(value: str) -> list[str]:
    names = [n.strip() for n in re.split(r"\s+and\s+", value.strip()) if n.strip()]
    out = []
    for name in names:
        if name.lower() == "others":
            continue
        if "," in name:
            family, _, given = name.partition(",")
            name = f"{given.strip()} {family.strip()}".strip()
        out.append(name.replace("{", "").replace("}", ""))
    return out


# --- RIS --------------------------------------------------------------------------------

_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  -( |$)")
# Some exporters write notes as "NOTE - ..." (not an RIS tag); rispy would glue the line onto
# the field before it (a URL, say), so it is read as the note it is.
_NOTE_LINE = re.compile(r"^NOTE - ")
_RIS_ARXIV_FIELDS = ("urls", "doi", "notes", "accession_number", "journal_name",
                     "secondary_title", "type_of_work", "custom1", "note")


def parse_ris(text: str) -> ParsedCitations:
    """Entries of a .ris file, each read by rispy on its own so a bad one is reported alone."""
    _check_size(text)
    entries: list[CitationEntry] = []
    errors: list[CitationError] = []
    chunks = list(_ris_chunks(text))
    for line, chunk in chunks[:MAX_ENTRIES]:
        try:
            records = rispy.loads(chunk)
            if len(records) != 1:
                raise ValueError("not one RIS record (missing 'TY  - ' or 'ER  - ')")
            entries.append(_ris_entry(records[0], line))
        except Exception as exc:  # noqa: BLE001  (rispy raises bare IOError and others)
            errors.append(CitationError(line, _ris_key(chunk), _first_line(exc)))
    _too_many(len(chunks), errors)
    return ParsedCitations(tuple(entries), tuple(errors))


def _ris_chunks(text: str) -> Iterator[tuple[int, str]]:
    start: int | None = None
    lines: list[str] = []
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not raw.strip() and start is None:
            continue
        if start is None:
            start = number
        lines.append(_NOTE_LINE.sub("N1  - ", raw, count=1))
        if raw.startswith("ER  -"):
            yield start, "\n".join(lines) + "\n"
            start, lines = None, []
    if start is not None:
        yield start, "\n".join(lines) + "\n"


def _ris_key(chunk: str) -> str | None:
    for line in chunk.splitlines():
        if line.startswith(("ID  - ", "AN  - ")):
            return line[6:].strip() or None
    return None


def _ris_entry(record: dict[str, Any], line: int) -> CitationEntry:
    def texts(*names: str) -> list[str]:
        out: list[str] = []
        for name in names:
            value = record.get(name)
            out += [str(v) for v in value] if isinstance(value, list) else \
                [str(value)] if value else []
        return out

    title = (texts("title", "primary_title") or [""])[0]
    authors = tuple(_ris_name(a) for a in texts("authors", "first_authors"))
    if not title and not authors:
        raise ValueError("entry has neither a title (TI) nor authors (AU)")
    notes = texts("notes")
    return CitationEntry(
        key=(texts("id") or texts("accession_number") or [f"line{line}"])[0],
        title=" ".join(title.split()), authors=authors,
        year=year_in(next(iter(texts("year", "publication_year", "date")), None)),
        arxiv_id=find_arxiv_id(texts(*_RIS_ARXIV_FIELDS)),
        doi=doi_in(texts("doi")), note="\n".join(notes) if notes else None,
        tags=tuple(texts("keywords")), line=line,
        kind=str(record.get("type_of_reference") or ""))


def _ris_name(name: str) -> str:
    family, comma, given = name.partition(",")
    return " ".join(f"{given.strip()} {family.strip()}".split()) if comma else name.strip()


# --- CSL-JSON ---------------------------------------------------------------------------

def parse_csl_json(text: str) -> ParsedCitations:
    """Items of a CSL-JSON file (a list of objects, or one object)."""
    _check_size(text)
    entries: list[CitationEntry] = []
    errors: list[CitationError] = []
    items = _json_items(text)
    for line, item in items[:MAX_ENTRIES]:
        key = str(item.get("id")) if isinstance(item, dict) and "id" in item else None
        try:
            if not isinstance(item, dict):
                raise ValueError(f"expected a JSON object, got {type(item).__name__}")
            entries.append(_csl_entry(item, line))
        except (ValueError, TypeError) as exc:
            errors.append(CitationError(line, key, str(exc)))
    _too_many(len(items), errors)
    return ParsedCitations(tuple(entries), tuple(errors))


def _json_items(text: str) -> list[tuple[int, Any]]:
    """Each item of the top-level list with the line where it begins."""
    decoder = json.JSONDecoder()
    text = text.lstrip("\ufeff")
    i = _skip_space(text, 0)
    if text.startswith("{", i):
        return [(text.count("\n", 0, i) + 1, _decode(decoder, text, i)[0])]
    if not text.startswith("[", i):
        raise CitationFileError("CSL-JSON must be a list of items (or one item object)")
    items: list[tuple[int, Any]] = []
    i = _skip_space(text, i + 1)
    while i < len(text) and text[i] != "]":
        item, end = _decode(decoder, text, i)
        items.append((text.count("\n", 0, i) + 1, item))
        i = _skip_space(text, end)
        if text.startswith(",", i):
            i = _skip_space(text, i + 1)
    return items


def _decode(decoder: json.JSONDecoder, text: str, i: int) -> tuple[Any, int]:
    try:
        return decoder.raw_decode(text, i)
    except json.JSONDecodeError as exc:
        raise CitationFileError(f"line {exc.lineno}: not valid JSON: {exc.msg}") from None


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _csl_entry(item: dict[str, Any], line: int) -> CitationEntry:
    title = str(item.get("title") or "")
    authors = tuple(_csl_name(a) for a in item.get("author") or [] if isinstance(a, dict))
    if not title and not authors:
        raise ValueError("item has neither a title nor authors")
    strings = [str(item.get(f) or "") for f in ("number", "URL", "DOI", "note",
                                                "container-title", "archive_location")]
    arxiv_id = find_arxiv_id([str(item.get("number") or "")], bare=True) or \
        find_arxiv_id(strings)
    issued = item.get("issued") or {}
    parts = issued.get("date-parts") if isinstance(issued, dict) else None
    year = year_in(parts[0][0]) if parts and parts[0] else \
        year_in(issued.get("raw") if isinstance(issued, dict) else None)
    keywords = item.get("keyword")
    return CitationEntry(
        key=str(item.get("id") or f"line{line}"), title=" ".join(title.split()),
        authors=authors, year=year, arxiv_id=arxiv_id, doi=doi_in([str(item.get("DOI") or "")]),
        note=str(item["annote"]) if item.get("annote") else None,
        tags=_split_tags(keywords) if isinstance(keywords, str) else (), line=line,
        kind=str(item.get("type") or ""))


def _csl_name(name: dict[str, Any]) -> str:
    if name.get("literal"):
        return str(name["literal"])
    return " ".join(str(name.get(p) or "") for p in ("given", "non-dropping-particle",
                                                     "family")).strip()


# --- any of them ------------------------------------------------------------------------

def parse_citations(text: str, fmt: str | None = None) -> ParsedCitations:
    """Parse ``text`` as ``fmt`` ("bibtex", "ris", "csl-json"), or guess it from the text."""
    fmt = fmt or sniff_format(text)
    parsers = {"bibtex": parse_bibtex, "ris": parse_ris, "csl-json": parse_csl_json}
    if fmt not in parsers:
        raise CitationFileError(f"unknown citation format {fmt!r} (expected one of "
                                f"{', '.join(parsers)})")
    return parsers[fmt](text)


def sniff_format(text: str) -> str:
    head = text.lstrip("\ufeff \t\r\n")[:1000]
    if head.startswith(("[", "{")):
        return "csl-json"
    if re.search(r"^TY  - ", head, re.M):
        return "ris"
    if re.search(r"^\s*@", head, re.M) or "@" in head:
        return "bibtex"
    raise CitationFileError("not a BibTeX, RIS or CSL-JSON file (no '@entry', 'TY  - ' "
                            "or JSON list at the start)")
