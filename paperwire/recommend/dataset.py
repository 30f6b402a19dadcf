"""An `eval recommend` folder, read and checked: readers' events, test days and optional votes.

The layout (docs/formats.md): ``corpus.jsonl`` (paperwire JSONL), ``profiles.jsonl``
(``{"user", "positives": [{"id", "at"}], "negatives": [{"id", "at"}]}``), ``tests.jsonl``
(``{"user", "day", "candidates": [ids], "relevant": [ids]}``) and, optionally,
``votes.jsonl`` (``{"id", "upvotes", "day"}``). Every id must be in the corpus; a problem is
reported as a SourceError naming the file and line, before anything is loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from paperwire.errors import InvalidRecord, SourceError
from paperwire.models import ExternalVote, parse_arxiv_id
from paperwire.recommend import Profile, Signal

__all__ = ["Event", "RecommendSet", "TestDay", "load_folder"]

LAYOUT = ("an eval recommend folder holds corpus.jsonl, profiles.jsonl, tests.jsonl "
          "(and optionally votes.jsonl)")


@dataclass(frozen=True)
class Event:
    arxiv_id: str
    at: datetime  # naive UTC


@dataclass(frozen=True)
class TestDay:
    user: str
    day: date
    candidates: tuple[str, ...]
    relevant: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.user}|{self.day.isoformat()}"

    @property
    def start(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day)


@dataclass(frozen=True)
class RecommendSet:
    root: Path
    corpus_ids: frozenset[str]
    positives: dict[str, tuple[Event, ...]]
    negatives: dict[str, tuple[Event, ...]]
    tests: tuple[TestDay, ...]
    votes: tuple[ExternalVote, ...]

    @property
    def corpus_path(self) -> Path:
        return self.root / "corpus.jsonl"

    def profile(self, user: str, before: datetime) -> Profile:
        """The user's events strictly before ``before``, as the product would hold them."""
        signals = [Signal(e.arxiv_id, "saved", e.at) for e in self.positives.get(user, ())
                   if e.at < before]
        signals += [Signal(e.arxiv_id, "not_interested", e.at)
                    for e in self.negatives.get(user, ()) if e.at < before]
        return Profile(signals=tuple(signals))


def _lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    out = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise SourceError(f"{path} line {number}: not valid JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise SourceError(f"{path} line {number}: expected a JSON object")
            out.append((number, obj))
    return out


def _id(value: Any, where: str, known: frozenset[str]) -> str:
    if not isinstance(value, str):
        raise SourceError(f"{where}: expected an arXiv id, found {value!r}")
    try:
        bare, _ = parse_arxiv_id(value)
    except InvalidRecord as exc:
        raise SourceError(f"{where}: {exc}") from None
    if bare not in known:
        raise SourceError(f"{where}: {value!r} is not in corpus.jsonl")
    return bare


def _when(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise SourceError(f"{where}: 'at' must be a date or ISO date-time, found {value!r}")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(f"{where}: 'at' {value!r} is not a date or ISO date-time"
                          ) from None
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _user(obj: dict[str, Any], where: str) -> str:
    user = obj.get("user")
    if not isinstance(user, str) or not user.strip():
        raise SourceError(f"{where}: missing required field 'user'")
    return user


def _events(obj: dict[str, Any], key: str, where: str, known: frozenset[str]
            ) -> tuple[Event, ...]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise SourceError(f"{where}: {key!r} must be a list of {{\"id\", \"at\"}}")
    out = []
    for k, item in enumerate(value):
        at = f"{where} {key}[{k}]"
        if not isinstance(item, dict):
            raise SourceError(f"{at}: expected {{\"id\", \"at\"}}")
        out.append(Event(_id(item.get("id"), at, known), _when(item.get("at"), at)))
    return tuple(out)


def _corpus_ids(path: Path) -> frozenset[str]:
    ids = set()
    for number, obj in _lines(path):
        try:
            ids.add(parse_arxiv_id(str(obj.get("id", "")))[0])
        except InvalidRecord as exc:
            raise SourceError(f"{path} line {number}: {exc}") from None
    if not ids:
        raise SourceError(f"{path}: no papers")
    return frozenset(ids)


def _test(obj: dict[str, Any], where: str, known: frozenset[str]) -> TestDay:
    user = _user(obj, where)
    try:
        day = date.fromisoformat(str(obj.get("day")))
    except ValueError:
        raise SourceError(f"{where}: 'day' must be YYYY-MM-DD, found {obj.get('day')!r}"
                          ) from None
    lists = {}
    for key in ("candidates", "relevant"):
        value = obj.get(key)
        if not isinstance(value, list) or not value:
            raise SourceError(f"{where}: {key!r} must be a non-empty list of ids")
        lists[key] = [_id(v, f"{where} {key}", known) for v in value]
    stray = set(lists["relevant"]) - set(lists["candidates"])
    if stray:
        raise SourceError(f"{where}: relevant {sorted(stray)[0]!r} is not among the "
                          "candidates")
    return TestDay(user, day, tuple(dict.fromkeys(lists["candidates"])),
                   frozenset(lists["relevant"]))


def _votes(path: Path, known: frozenset[str]) -> tuple[ExternalVote, ...]:
    if not path.is_file():
        return ()
    out = []
    for number, obj in _lines(path):
        where = f"{path} line {number}"
        upvotes = obj.get("upvotes")
        if not isinstance(upvotes, int) or isinstance(upvotes, bool) or upvotes < 0:
            raise SourceError(f"{where}: 'upvotes' must be a count, found {upvotes!r}")
        day = obj.get("day")
        try:
            featured = date.fromisoformat(day) if isinstance(day, str) else None
        except ValueError:
            raise SourceError(f"{where}: 'day' must be YYYY-MM-DD, found {day!r}") from None
        out.append(ExternalVote(_id(obj.get("id"), where, known), upvotes, featured))
    return tuple(out)


def load_folder(root: Path | str) -> RecommendSet:
    """Read and check the whole folder (see the module docstring)."""
    root = Path(root)
    if not root.is_dir():
        raise SourceError(f"{root}: not a directory ({LAYOUT})")
    for name in ("corpus.jsonl", "profiles.jsonl", "tests.jsonl"):
        if not (root / name).is_file():
            raise SourceError(f"{root / name}: missing ({LAYOUT})")
    known = _corpus_ids(root / "corpus.jsonl")
    positives: dict[str, tuple[Event, ...]] = {}
    negatives: dict[str, tuple[Event, ...]] = {}
    for number, obj in _lines(root / "profiles.jsonl"):
        where = f"{root / 'profiles.jsonl'} line {number}"
        user = _user(obj, where)
        if user in positives:
            raise SourceError(f"{where}: user {user!r} has a profile already")
        positives[user] = _events(obj, "positives", where, known)
        negatives[user] = _events(obj, "negatives", where, known)
    tests = tuple(_test(obj, f"{root / 'tests.jsonl'} line {number}", known)
                  for number, obj in _lines(root / "tests.jsonl"))
    if not tests:
        raise SourceError(f"{root / 'tests.jsonl'}: no test days")
    return RecommendSet(root, known, positives, negatives, tests,
                        _votes(root / "votes.jsonl", known))
