"""Paper submissions: a user brings a paper by arXiv id or URL; it is fetched, checked, kept.

A paper already on this instance is not submitted twice: the submission becomes the user's
upvote, at once. A new one is a queued job (``submit`` answers Queued): asking arXiv can take
minutes of retries, which no web request may wait for. The background runner then fetches
it through the arXiv API source (``run_job``) and refuses it, with the reason, when it was
first published longer ago than ``submission_window_days``; the job's message says which.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from paperwire.errors import InvalidRecord, PaperwireError
from paperwire.models import Paper, Rejection, User, VoteState, parse_arxiv_id
from paperwire.settings import Settings
from paperwire.sources.arxiv_api import ArxivAPISource
from paperwire.store import Store
from paperwire.store.jobs import Job

log = logging.getLogger(__name__)

MAX_NOTE = 1000
JOB_KIND = "submit"

Fetch = Callable[[Settings, str], Paper | None]


class SubmissionError(PaperwireError):
    """A submission that cannot be accepted; ``str()`` says why. ``status`` is the HTTP one."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Submitted:
    arxiv_id: str
    created: bool  # False: it was already here, and the submission became an upvote
    vote: VoteState
    message: str


def clean_note(text: str | None) -> str | None:
    if text is None:
        return None
    note = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise SubmissionError(f"the note may have at most {MAX_NOTE} characters "
                              f"(it has {len(note)})")
    return note or None


def fetch_from_arxiv(settings: Settings, arxiv_id: str) -> Paper | None:
    """The paper's metadata from the arXiv API (None when arXiv does not know the id)."""
    for item in ArxivAPISource(settings, [arxiv_id]).read(None):
        if isinstance(item, Paper) and item.arxiv_id == arxiv_id:
            return item
        if isinstance(item, Rejection):
            return None
    return None


@dataclass(frozen=True)
class Queued:
    """A submission waiting for the background runner to fetch it from arXiv."""

    job_id: int
    arxiv_id: str
    message: str


def submit(store: Store, settings: Settings, user: User, raw_id: str, note: str | None
           ) -> Submitted | Queued:
    """Submit a paper (see the module docstring); SubmissionError says what went wrong."""
    if not user.verified:
        raise SubmissionError("confirm your e-mail address before submitting papers", 403)
    try:
        arxiv_id, _ = parse_arxiv_id(raw_id or "")
    except InvalidRecord as exc:
        raise SubmissionError(str(exc)) from None
    note = clean_note(note)
    if store.get_paper(arxiv_id) is not None:
        return _upvote(store, user, arxiv_id)
    job = store.add_job(JOB_KIND, arxiv_id, user.id, {"note": note},
                        f"queued — fetching {arxiv_id} from arXiv")
    return Queued(job.id, arxiv_id, job.message or "")


def _upvote(store: Store, user: User, arxiv_id: str) -> Submitted:
    if store.hidden_paper(arxiv_id) is not None and not user.is_moderator:
        raise SubmissionError(f"{arxiv_id} cannot be submitted here", 409)
    vote = store.set_vote(user.id, arxiv_id, on=True)
    return Submitted(arxiv_id, False, vote,
                     f"{arxiv_id} is already here; your submission counts as an upvote")


def run_job(store: Store, settings: Settings, job: Job, *, fetch: Fetch = fetch_from_arxiv,
            now: datetime | None = None) -> Submitted:
    """Fetch, check and keep a queued submission; SubmissionError says why it failed, in
    words for its status page."""
    arxiv_id = job.key
    user = store.user_by_id(job.user_id) if job.user_id is not None else None
    if user is None or not user.verified:
        raise SubmissionError("the account that submitted this paper cannot submit now", 403)
    if store.get_paper(arxiv_id) is not None:  # fetched meanwhile (another submission)
        return _upvote(store, user, arxiv_id)
    try:
        paper = fetch(settings, arxiv_id)
    except PaperwireError as exc:
        log.warning("submission of %s: arXiv could not be asked: %s", arxiv_id, exc)
        raise SubmissionError(f"arXiv could not be reached to fetch {arxiv_id}; please "
                              "submit it again later", 502) from None
    if paper is None:
        raise SubmissionError(f"arXiv has no paper {arxiv_id}", 404)
    _check_age(paper, settings, now or datetime.now(UTC).replace(tzinfo=None))
    store.write_batch([paper])
    _, created = store.add_submission(arxiv_id, user.id, job.payload.get("note"))
    vote = store.set_vote(user.id, arxiv_id, on=True)
    message = (f"thanks: {arxiv_id} is submitted" if created else
               f"{arxiv_id} was just submitted by someone else; counted as your upvote")
    return Submitted(arxiv_id, created, vote, message)


def _check_age(paper: Paper, settings: Settings, now: datetime) -> None:
    published = paper.published or (datetime.combine(paper.listed_on, datetime.min.time())
                                    if paper.listed_on else None)
    if published is None:
        return
    days = settings.submission_window_days
    age = now - published
    if age > timedelta(days=days):
        raise SubmissionError(
            f"{paper.arxiv_id} was first published on {published:%Y-%m-%d}, {age.days} days "
            f"ago; this instance takes submissions of papers from the last {days} days", 422)
