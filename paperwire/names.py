"""Personal names as author identities see them: one normal form, and the homonym rule.

``normalise`` turns a name as a paper writes it into a ``Name``:

- Unicode NFKC first (full-width letters, ligatures, composed accents), whitespace collapsed;
- split into given and family parts by bibtexparser's BibTeX name splitter, so "Lovelace,
  Ada" and "Ada Lovelace" are the same name, and "van der Berg" stays in the family part;
- the ``key`` is the family name and each given name folded to lower-case ASCII (NFKD with
  the marks dropped, ł→l, ø→o, ß→ss), initials without their dots: "A.B. Smith",
  "A. B. Smith" and "Smith, A. B." share the key ``smith|a b``. An initial is not taken for a
  full given name: "A. Lovelace" and "Ada Lovelace" have different keys (a moderator merges
  them where they are one person);
- it is shown in "Given Family" order;
- the ``slug`` (``ada-lovelace``) is the ASCII fold as a URL path segment.

``choose_identity`` is the homonym rule: a paper's author joins the identity with that key
whose co-authors or archives overlap the paper's; where identities with the key exist but
none overlaps (disjoint co-authors and disjoint archives), the author is a new identity,
given a suffixed slug (``wei-wang-2``). A paper with neither co-authors nor categories
gives no evidence, and joins the oldest identity of the key.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from bibtexparser.middlewares.names import parse_single_name_into_parts

MAX_SLUG_CHARS = 80
MAX_NAME_CHARS = 300
_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d",
                       "Đ": "D", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i"})


@functools.lru_cache(maxsize=50_000)  # name parts repeat (Wang, Li, Y.): see normalise
def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: "Müller-Łukasz" → "mullerlukasz"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode().lower())


def clean(name: str) -> str:
    """NFKC, one space between words, no surrounding space, bounded length."""
    return " ".join(unicodedata.normalize("NFKC", name).split())[:MAX_NAME_CHARS]


@dataclass(frozen=True)
class Name:
    """A name in normal form: as shown, as sorted ("Lovelace, Ada"), with initials
    ("A. Lovelace"), its identity key and its slug."""

    display: str
    sort_name: str
    initials: str
    key: str
    slug: str


def _tokens(part: str) -> list[str]:
    return [t for t in re.split(r"[\s.~]+", part) if t]


def _fallback(cleaned: str) -> str:
    # Names with no Latin letters (写 as written) still need a stable, distinct ASCII form.
    return "a" + hashlib.sha1(cleaned.casefold().encode()).hexdigest()[:10]


# Names repeat across papers (a prolific author on every paper of an ingest batch), and the
# BibTeX splitter is most of an ingest's author-linking time: a pure function, so cached.
@functools.lru_cache(maxsize=50_000)
def normalise(name: str) -> Name:
    """The normal form of an author's name as a paper writes it."""
    cleaned = clean(name)
    try:
        parts = parse_single_name_into_parts(cleaned, strict=False)
        given = [*parts.first]
        family = [*parts.von, *parts.last, *parts.jr]
    except Exception:  # noqa: BLE001 — the splitter rejects odd braces; keep the name whole
        given, family = [], [cleaned]
    if not family:
        family, given = given[-1:], given[:-1]
    family_text, given_text = " ".join(family), " ".join(given)
    folded_family = ascii_fold(family_text) or _fallback(family_text or cleaned)
    folded_given = [f for f in (ascii_fold(t) for t in _tokens(given_text)) if f]
    key = f"{folded_family}|{' '.join(folded_given)}"
    slug_words = [*folded_given, *(ascii_fold(t) for t in _tokens(family_text))]
    slug = "-".join(w for w in slug_words if w)[:MAX_SLUG_CHARS].strip("-")
    initials = " ".join([*(t[0].upper() + "." for t in _tokens(given_text)), family_text])
    display = f"{given_text} {family_text}" if given_text and family_text else cleaned
    return Name(display=display, sort_name=f"{family_text}, {given_text}" if given_text
                else family_text, initials=initials.strip(), key=key,
                slug=slug or folded_family[:MAX_SLUG_CHARS])


def archive_of(category: str) -> str:
    """The archive a category belongs to: ``cs.CL`` → ``cs``, ``hep-th`` → ``hep-th``."""
    return category.split(".", 1)[0]


@dataclass(frozen=True)
class Evidence:
    """What is known of one identity: its id, its co-authors' keys and its archives."""

    author_id: int
    # Any set: linking passes the sets it grows in memory as they are, not copies.
    coauthors: AbstractSet[str]
    archives: AbstractSet[str]


def choose_identity(candidates: Sequence[Evidence], coauthors: Iterable[str],
                    archives: Iterable[str]) -> int | None:
    """The identity (of one key) a new paper's author joins, or None for a new one.

    A shared co-author weighs more than a shared archive; ties go to the oldest identity.
    """
    if not candidates:
        return None
    wanted_coauthors, wanted_archives = frozenset(coauthors), frozenset(archives)
    if not wanted_coauthors and not wanted_archives:
        return min(c.author_id for c in candidates)
    scored = [(2 * len(c.coauthors & wanted_coauthors) + len(c.archives & wanted_archives),
               -c.author_id) for c in candidates]
    score, negative_id = max(scored)
    return -negative_id if score > 0 else None
