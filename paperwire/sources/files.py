"""File sources: the arXiv metadata snapshot (JSON lines) and paperwire's plain JSONL format.

Both stream line by line (plain or gzip, detected by content), never hold more than one
line in memory, and reject a bad line with its file and line number while keeping the rest.
A line longer than ``max_record_bytes`` is skipped without being read into memory whole.

Resuming: the state key is the file's absolute path; the state remembers the file's size and
how many lines were committed. A rerun on the same (unchanged) file skips those lines.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

from paperwire.errors import InvalidRecord, SourceError
from paperwire.models import Checkpoint, HarvestState, Limits, Paper, Rejection, parse_arxiv_id
from paperwire.schedule import first_listing
from paperwire.sources import checked
from paperwire.taxonomy import CATEGORY_SHAPE

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class _Line:
    number: int
    record: dict[str, Any] | None  # None when the line was rejected
    problem: str | None = None


class _LineFile:
    """Reads numbered JSON-object lines from a plain or gzip file, reporting bad ones."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.raw: BinaryIO = open(path, "rb", buffering=1 << 16)  # noqa: SIM115 - see close()
        self.stream: BinaryIO = self.raw
        if self.raw.read(2) == _GZIP_MAGIC:
            # GzipFile buffers small chunks itself; a bigger buffer on top would lose the
            # good lines just before a truncation when the decompressor raises.
            self.stream = gzip.GzipFile(fileobj=self.raw)  # type: ignore[assignment]
        self.raw.seek(0)

    def close(self) -> None:
        self.stream.close()
        self.raw.close()

    @property
    def compressed_position(self) -> int:
        return self.raw.tell()

    def lines(self, skip: int = 0) -> Iterator[_Line]:
        number = 0
        while True:
            try:
                line = self.stream.readline(self.max_bytes + 1)
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                yield _Line(number + 1, None, f"file is truncated or corrupt after line "
                            f"{number} ({exc}); the lines before it were read")
                return
            if not line:
                return
            number += 1
            if len(line) > self.max_bytes and not line.endswith(b"\n"):
                self._discard_rest_of_line()
                if number > skip:
                    yield _Line(number, None, f"line is longer than {self.max_bytes:,} bytes "
                                "(PAPERWIRE_MAX_RECORD_BYTES); skipped")
                continue
            if number <= skip:
                continue
            yield self._parse(number, line)

    def _discard_rest_of_line(self) -> None:
        while True:
            chunk = self.stream.readline(1 << 20)
            if not chunk or chunk.endswith(b"\n"):
                return

    @staticmethod
    def _parse(number: int, line: bytes) -> _Line:
        if not line.strip():
            return _Line(number, None, None)  # blank lines are allowed and ignored
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _Line(number, None, f"not valid UTF-8 (byte {exc.start} of the line)")
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            truncated = " (truncated line?)" if not line.endswith(b"\n") else ""
            return _Line(number, None, f"not valid JSON{truncated}: {exc.msg} at column "
                         f"{exc.colno}")
        if not isinstance(record, dict):
            return _Line(number, None, f"expected a JSON object, got {type(record).__name__}")
        return _Line(number, record)


T = TypeVar("T")  # what a line becomes: a Paper, or an imported vote


class LineFileSource(Generic[T]):
    """Shared streaming, checkpointing and resume logic of the line-based file formats; a
    format says how one JSON object becomes an item (a paper, an imported vote) in
    ``_record``."""

    name = "file"

    def __init__(self, path: str | Path, *, limits: Limits | None = None,
                 batch_size: int = 1000, max_record_bytes: int = 1_048_576) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"{self.path}: no such file")
        self.limits = limits or Limits()
        self.batch_size = batch_size
        self.max_record_bytes = max_record_bytes
        self._size = self.path.stat().st_size

    @property
    def state_key(self) -> str:
        return f"{self.name}:{self.path.resolve()}"

    @property
    def total(self) -> int | None:
        return self._size

    def read(self, resume: HarvestState | None) -> Iterator[T | Rejection | Checkpoint]:
        skip = 0
        if resume and not resume.done and resume.params.get("size") == self._size:
            skip = resume.position
        state = HarvestState(key=self.state_key, source=self.name,
                             params={"size": self._size, "path": str(self.path.resolve())})
        reader = _LineFile(self.path, self.max_record_bytes)
        try:
            number = skip
            for line in reader.lines(skip):
                number = line.number
                where = f"{self.path.name} line {line.number}"
                if line.problem:
                    yield Rejection(where, line.problem)
                elif line.record is not None:
                    yield self._record(where, line.record)
                if number % self.batch_size == 0:
                    state.position = number
                    yield Checkpoint(state, reader.compressed_position)
            state.position = number
            state.done = True
            yield Checkpoint(state, self._size)
        finally:
            reader.close()

    def _record(self, where: str, record: dict[str, Any]) -> T | Rejection:
        raise NotImplementedError


def _text(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"field {key!r} should be a string, got {type(value).__name__}")
    return value


def _required_text(record: dict[str, Any], key: str) -> str:
    value = _text(record, key)
    if value is None:
        raise InvalidRecord(f"missing required field {key!r}")
    return value


def _string_list(record: dict[str, Any], key: str) -> list[str]:
    value = record.get(key)
    if value is None:
        raise InvalidRecord(f"missing required field {key!r}")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRecord(f"field {key!r} should be a list of strings")
    return value


def _where_with_id(where: str, record: dict[str, Any]) -> str:
    arxiv_id = record.get("id")
    return f"{where} (id {arxiv_id})" if isinstance(arxiv_id, str) else where


def _date(value: Any, key: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidRecord(f"field {key!r} is not a date (YYYY-MM-DD): {value!r}") from None


def _datetime(value: Any, key: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRecord(f"field {key!r} is not an ISO date-time: {value!r}") from None
    return naive_utc(parsed)


def naive_utc(value: datetime) -> datetime:
    """Aware or naive (taken as UTC) → naive UTC, the form the store keeps."""
    offset = value.utcoffset()
    return (value - offset).replace(tzinfo=None) if offset else value.replace(tzinfo=None)


class JsonlSource(LineFileSource[Paper]):
    """paperwire's plain JSONL format (docs/formats.md), e.g. arxiv-daily-75k.jsonl.gz.

    Required: ``id``, ``title``, ``summary`` (or ``abstract``), ``authors`` (list),
    ``categories`` (list, primary first). Optional: ``version``, ``published``, ``updated``
    (ISO dates), ``first_seen`` (first listing day), ``comment``, ``journal_ref``, ``doi``,
    ``license``, ``primary_category``.
    """

    name = "jsonl"

    def _record(self, where: str, record: dict[str, Any]) -> Paper | Rejection:
        return checked(_where_with_id(where, record), self.limits, lambda: self._build(record))

    def _build(self, record: dict[str, Any]) -> Paper:
        arxiv_id, version = parse_arxiv_id(_required_text(record, "id"))
        if isinstance(record.get("version"), int):
            version = record["version"]
        abstract = _text(record, "summary")
        if abstract is None:
            abstract = _required_text(record, "abstract")
        # Some scrapers mix ACM/MSC classes into categories ("68T07", "I.2.7"); those are not
        # arXiv categories, so they are dropped rather than failing the whole record.
        categories = [c for c in _string_list(record, "categories")
                      if CATEGORY_SHAPE.match(c)]
        primary = _text(record, "primary_category") or (categories[0] if categories else "")
        return Paper(
            arxiv_id=arxiv_id, version=version,
            title=_required_text(record, "title"), abstract=abstract,
            authors=tuple(_string_list(record, "authors")), categories=tuple(categories),
            primary_category=primary,
            published=(published := _datetime(record.get("published"), "published")),
            updated=_datetime(record.get("updated"), "updated"),
            # A listing seen (first_seen) wins; else the day computed from the v1 time.
            listed_on=_date(record.get("first_seen"), "first_seen") or first_listing(published),
            comments=_text(record, "comment") or _text(record, "comments"),
            journal_ref=_text(record, "journal_ref"), doi=_text(record, "doi"),
            license=_text(record, "license"), source=self.name,
        )


class SnapshotSource(LineFileSource[Paper]):
    """The arXiv metadata snapshot (arxiv-metadata-oai-snapshot.json, 2.8M lines)."""

    name = "snapshot"

    def _record(self, where: str, record: dict[str, Any]) -> Paper | Rejection:
        return checked(_where_with_id(where, record), self.limits, lambda: self._build(record))

    def _build(self, record: dict[str, Any]) -> Paper:
        arxiv_id, _ = parse_arxiv_id(_required_text(record, "id"))
        versions = record.get("versions") or []
        if not isinstance(versions, list):
            raise InvalidRecord("field 'versions' should be a list")
        created = [_rfc2822(v.get("created")) for v in versions if isinstance(v, dict)]
        version = None
        if versions and isinstance(versions[-1], dict):
            label = str(versions[-1].get("version", "")).lstrip("v")
            version = int(label) if label.isdigit() else len(versions)
        categories = _required_text(record, "categories").split()
        return Paper(
            arxiv_id=arxiv_id, version=version,
            title=_required_text(record, "title"), abstract=_required_text(record, "abstract"),
            authors=_snapshot_authors(record), categories=tuple(categories),
            primary_category=categories[0] if categories else "",
            published=created[0] if created else None,
            updated=created[-1] if created else None,
            listed_on=first_listing(created[0] if created else None),  # the snapshot has none
            comments=_text(record, "comments"), journal_ref=_text(record, "journal-ref"),
            doi=_text(record, "doi"), license=_text(record, "license"), source=self.name,
        )


def _rfc2822(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        raise InvalidRecord(f"version date is not an RFC 2822 date: {value!r}") from None
    return naive_utc(parsed)


def _snapshot_authors(record: dict[str, Any]) -> tuple[str, ...]:
    # authors_parsed ([last, first, suffix]) is cleaner than the free-text authors string,
    # which mixes in affiliations and LaTeX accents; fall back to splitting the string.
    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        names = []
        for parts in parsed:
            if not isinstance(parts, list) or not parts:
                raise InvalidRecord("field 'authors_parsed' should be a list of name lists")
            last, first, suffix = (list(parts) + ["", "", ""])[:3]
            names.append(" ".join(p for p in (first, last, suffix) if p))
        return tuple(names)
    text = _required_text(record, "authors")
    return tuple(a.strip() for a in text.replace(" and ", ", ").split(",") if a.strip())


def detect_format(path: str | Path, max_record_bytes: int = 1_048_576) -> str:
    """'snapshot' or 'jsonl', judged by the first record's fields; SourceError if neither,
    or if that record is over the size ingest would accept (then it says so, rather than
    judging a record that would be rejected anyway)."""
    reader = _LineFile(Path(path), max_record_bytes)
    try:
        for line in reader.lines():
            if line.problem:
                raise SourceError(f"{path} line {line.number}: {line.problem}")
            if line.record is None:
                continue
            if "versions" in line.record or "authors_parsed" in line.record:
                return "snapshot"
            if "summary" in line.record or "abstract" in line.record:
                return "jsonl"
            raise SourceError(f"{path} line {line.number}: neither the arXiv snapshot format "
                              "nor paperwire JSONL (see docs/formats.md)")
        raise SourceError(f"{path}: the file holds no records")
    finally:
        reader.close()
