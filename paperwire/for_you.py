"""For you: readers' recommendation profiles, the signals each trains on, and the tokens of
their feeds and one-click "not interested" links.

A profile says where its positives come from (every saved paper, or chosen collections such
as a lab's), whether upvotes count, how much community trending to mix in, and what a cold
start seeds it with. Ranking lives in ``for_you_rank``; the model in ``paperwire.recommend``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from paperwire import library
from paperwire.accounts import new_session_token, token_hash
from paperwire.errors import PaperwireError
from paperwire.library import LibraryError
from paperwire.models import User
from paperwire.recommend import Profile, Signal
from paperwire.settings import Settings
from paperwire.signing import Signer
from paperwire.store import Store

SOURCES = ("all", "collections")
MAX_PROFILES = 10
MAX_NAME = 100
MAX_SEED_TEXT = 5_000
MAX_SEED_PAPERS = 50
MAX_COLLECTIONS = 20
MAX_SIGNALS = 2_000  # newest saves and votes a profile trains on
AUTHOR_PAPERS = 200  # followed authors' newest papers, as weaker positives
AUTHOR_WEIGHT = 0.3
DEFAULT_NAME = "My papers"
NOT_INTERESTED_PURPOSE = "for-you-not-interested"
LINK_MAX_AGE_S = 180 * 86_400  # a digest's links keep working for half a year


class ForYouError(PaperwireError):
    """Bad input (400), a profile the reader does not have (404), or not ready yet (503,
    with ``retry_after`` seconds)."""

    def __init__(self, message: str, status: int = 400, retry_after: int | None = None
                 ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class RecProfile:
    """One stored profile, as the domain sees it."""

    id: int
    user_id: int
    name: str
    source: str
    collections: tuple[int, ...]
    use_votes: bool
    trending: float
    seed_text: str
    seed_papers: tuple[str, ...]
    in_digest: bool
    has_feed: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RecProfile:
        return cls(row["id"], row["user_id"], row["name"], row["source"],
                   tuple(row["collections"]), bool(row["use_votes"]), float(row["trending"]),
                   row["seed_text"] or "", tuple(row["seed_papers"]), bool(row["in_digest"]),
                   bool(row["has_feed"]))

    def row(self) -> dict[str, Any]:
        """What the store's queries read of a profile."""
        return {"id": self.id, "user_id": self.user_id, "source": self.source,
                "collections": list(self.collections), "use_votes": self.use_votes}

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "source": self.source,
                "collections": list(self.collections), "use_votes": self.use_votes,
                "trending": self.trending, "seed_text": self.seed_text,
                "seed_papers": list(self.seed_papers), "in_digest": self.in_digest,
                "has_feed": self.has_feed}


# --- checking what a reader asks for ------------------------------------------------------------
def _name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not name or len(name) > MAX_NAME:
        raise ForYouError(f"name: give a name of 1 to {MAX_NAME} characters")
    return name


def _trending(value: Any) -> float:
    try:
        mix = float(value)
    except (TypeError, ValueError):
        raise ForYouError("trending: give a number from 0 to 1") from None
    if not 0.0 <= mix <= 1.0:
        raise ForYouError("trending: give a number from 0 to 1")
    return mix


def _collections(store: Store, user: User, value: Any) -> list[int]:
    raw = value if isinstance(value, list | tuple) else str(value or "").replace(",", " ").split()
    try:
        ids = list(dict.fromkeys(int(v) for v in raw))
    except (TypeError, ValueError):
        raise ForYouError("collections: give collection ids (numbers)") from None
    if len(ids) > MAX_COLLECTIONS:
        raise ForYouError(f"collections: at most {MAX_COLLECTIONS}")
    for collection_id in ids:
        try:
            library.access(store, user, collection_id)
        except LibraryError:
            raise ForYouError(f"collections: no collection {collection_id} you may read"
                              ) from None
    return ids


def _seed_papers(store: Store, value: Any) -> list[str]:
    from paperwire.errors import InvalidRecord
    from paperwire.models import parse_arxiv_id

    raw = value if isinstance(value, list | tuple) else str(value or "").replace(",", " ").split()
    if len(raw) > MAX_SEED_PAPERS:
        raise ForYouError(f"seed_papers: at most {MAX_SEED_PAPERS}")
    ids = []
    for text in raw:
        try:
            ids.append(parse_arxiv_id(str(text))[0])
        except InvalidRecord:
            raise ForYouError(f"seed_papers: {str(text)[:40]!r} is not an arXiv id") from None
    missing = set(ids) - store.stored_arxiv_ids(ids)
    if missing:
        raise ForYouError(f"seed_papers: not on this instance: {', '.join(sorted(missing))}")
    return list(dict.fromkeys(ids))


def check_values(store: Store, user: User, values: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields of a profile, checked and normalised (unknown fields refused)."""
    unknown = set(values) - {"name", "source", "collections", "use_votes", "trending",
                             "seed_text", "seed_papers", "in_digest"}
    if unknown:
        raise ForYouError(f"unknown profile field(s): {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    if "name" in values:
        out["name"] = _name(values["name"])
    if "source" in values:
        if values["source"] not in SOURCES:
            raise ForYouError(f"source: choose {' or '.join(SOURCES)}")
        out["source"] = values["source"]
    if "collections" in values:
        out["collections"] = _collections(store, user, values["collections"])
    for flag in ("use_votes", "in_digest"):
        if flag in values:
            out[flag] = bool(values[flag])
    if "trending" in values:
        out["trending"] = _trending(values["trending"])
    if "seed_text" in values:
        text = str(values["seed_text"] or "").strip()
        if len(text) > MAX_SEED_TEXT:
            raise ForYouError(f"seed_text: at most {MAX_SEED_TEXT} characters")
        out["seed_text"] = text
    if "seed_papers" in values:
        out["seed_papers"] = _seed_papers(store, values["seed_papers"])
    return out


# --- profiles ----------------------------------------------------------------------------------
def profiles(store: Store, user: User) -> list[RecProfile]:
    return [RecProfile.from_row(r) for r in store.rec_profiles(user.id)]


def create(store: Store, user: User, values: Mapping[str, Any]) -> RecProfile:
    checked = {"name": DEFAULT_NAME, "source": "all", "collections": [], "use_votes": True,
               "trending": 0.0, "seed_text": "", "seed_papers": [], "in_digest": True,
               **check_values(store, user, values)}
    if checked["source"] == "collections" and not checked["collections"]:
        raise ForYouError("collections: choose at least one collection for this source")
    mine = profiles(store, user)
    if len(mine) >= MAX_PROFILES:
        raise ForYouError(f"you have {MAX_PROFILES} profiles already: delete one first")
    if any(p.name.lower() == checked["name"].lower() for p in mine):
        raise ForYouError(f"name: you have a profile named {checked['name']!r} already")
    return RecProfile.from_row(store.create_rec_profile(user.id, checked))


def chosen(store: Store, user: User, ref: str | int | None = None,
           mine: list[RecProfile] | None = None) -> RecProfile:
    """The reader's profile by id or name; their first when ``ref`` is None, made (from all
    their saved papers and votes) on first use. ``mine``: their profiles, when read."""
    mine = profiles(store, user) if mine is None else mine
    if ref is None or ref == "":
        return mine[0] if mine else create(store, user, {})
    text = str(ref)
    found = next((p for p in mine if str(p.id) == text or p.name.lower() == text.lower()),
                 None)
    if found is None:
        raise ForYouError(f"you have no profile {text[:MAX_NAME]!r}", 404)
    return found


def update(store: Store, user: User, profile: RecProfile, values: Mapping[str, Any]
           ) -> RecProfile:
    checked = check_values(store, user, values)
    if "name" in checked and any(p.name.lower() == checked["name"].lower() and p.id != profile.id
                                 for p in profiles(store, user)):
        raise ForYouError(f"name: you have a profile named {checked['name']!r} already")
    source = checked.get("source", profile.source)
    if source == "collections" and not checked.get("collections", profile.collections):
        raise ForYouError("collections: choose at least one collection for this source")
    if checked:
        store.update_rec_profile(profile.id, checked)
    return chosen(store, user, profile.id)


def delete(store: Store, profile: RecProfile) -> None:
    store.delete_rec_profile(profile.id)


def reset(store: Store, profile: RecProfile) -> None:
    """Forget the marks and seeds (votes and saves are the reader's, and stay)."""
    store.reset_rec_profile(profile.id, profile.user_id)


def add_seed(store: Store, profile: RecProfile, arxiv_id: str) -> None:
    """A paper the reader rated "more like this" (cold start)."""
    seeds = list(dict.fromkeys([*profile.seed_papers, arxiv_id]))[-MAX_SEED_PAPERS:]
    store.update_rec_profile(profile.id, {"seed_papers": seeds})


# --- signals -----------------------------------------------------------------------------------
def gather(store: Store, profile: RecProfile) -> Profile:
    """Everything the profile trains on, as the recommender's Profile: saves (or the chosen
    collections' items), votes when counted, seeds, followed authors' papers at a lower
    weight, and "not interested" marks as negatives."""
    raw = store.rec_signals(profile.row(), MAX_SIGNALS, AUTHOR_PAPERS)
    kind = "saved" if profile.source == "all" else "collection"
    positives: dict[str, Signal] = {}
    for arxiv_id in profile.seed_papers:
        positives[arxiv_id] = Signal(arxiv_id, "seed")
    for arxiv_id, at in raw["votes"]:
        positives.setdefault(arxiv_id, Signal(arxiv_id, "upvote", at))
    for arxiv_id, at in raw["saved"]:
        positives.setdefault(arxiv_id, Signal(arxiv_id, kind, at))
    for arxiv_id, at in raw["author_papers"]:
        positives.setdefault(arxiv_id, Signal(arxiv_id, "seed", at, AUTHOR_WEIGHT))
    negatives = [Signal(arxiv_id, "not_interested", at) for arxiv_id, at in raw["not_interested"]]
    return Profile(signals=(*positives.values(), *negatives), authors=tuple(raw["authors"]),
                   seed_text=profile.seed_text, trending=profile.trending)


def strong_positives(profile: Profile) -> int:
    """Positives the reader chose themselves (a followed author's paper is not one)."""
    return sum(1 for s in profile.positives if s.weight >= 1.0)


# --- tokens ------------------------------------------------------------------------------------
def rotate_feed_token(store: Store, profile: RecProfile) -> str:
    """A new feed address for the profile; the old one stops working at once."""
    token = new_session_token()
    store.set_rec_feed_token(profile.id, token_hash(token))
    return token


def revoke_feed_token(store: Store, profile: RecProfile) -> None:
    store.set_rec_feed_token(profile.id, None)


def feed_profile(store: Store, token: str) -> RecProfile | None:
    if not token or len(token) > 200:
        return None
    found = store.rec_feed_profile(token_hash(token))
    return RecProfile.from_row(found) if found is not None else None


def link_signer(settings: Settings) -> Signer:
    """The signer of "not interested" links (make one for many links: a digest run)."""
    return Signer(settings, NOT_INTERESTED_PURPOSE)


def not_interested_token(settings: Settings, profile: RecProfile, arxiv_id: str,
                         signer: Signer | None = None) -> str:
    return (signer or link_signer(settings)).sign([profile.user_id, profile.id, arxiv_id])


def read_not_interested_token(settings: Settings, token: str) -> tuple[int, int, str]:
    """(user id, profile id, arXiv id); InvalidToken when forged, altered or expired."""
    from paperwire.signing import InvalidToken

    payload = Signer(settings, NOT_INTERESTED_PURPOSE).unsign(token, LINK_MAX_AGE_S)
    if (not isinstance(payload, list) or len(payload) != 3
            or not all(isinstance(v, int) for v in payload[:2])
            or not isinstance(payload[2], str)):
        raise InvalidToken("this link is not valid")
    return int(payload[0]), int(payload[1]), str(payload[2])


def mark_not_interested(store: Store, user_id: int, arxiv_id: str,
                        profile: RecProfile | None) -> bool:
    """The reader is not interested in the paper (for one profile, or all when None)."""
    return store.mark_not_interested(user_id, arxiv_id, profile.id if profile else None)
