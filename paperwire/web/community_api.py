"""The community's endpoints: votes, submissions and moderation, as JSON API and as forms.

The JSON API (``router``, under /api) authenticates by session cookie (then the
``X-CSRF-Token`` header is required) or by ``Authorization: Bearer`` API token, and answers
401 in JSON when neither is there. The form endpoints (``pages_router``) do the same for
browsers without JavaScript and redirect back. Voting and submitting need a confirmed
address; moderation needs the moderator or admin role (403 otherwise).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from paperwire.errors import InvalidRecord, NotFound
from paperwire.models import User, parse_arxiv_id
from paperwire.store import PaperView
from paperwire.submissions import SubmissionError, submit
from paperwire.web.accounts import read_form, safe_next
from paperwire.web.app import Site, render
from paperwire.web.security import user_of

router = APIRouter(prefix="/api", tags=["community"])
pages_router = APIRouter(include_in_schema=False)

MAX_REASON = 1000
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a submission's number")]


class SubmissionIn(BaseModel):
    arxiv_id: str = Field(min_length=1, max_length=300,
                          description="an arXiv id (2401.12345) or abs/pdf URL")
    note: str | None = Field(None, max_length=1000, description="why it is worth reading")


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="shown to moderators")


# --- shared helpers -------------------------------------------------------------------------
def _site(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def signed_in(request: Request) -> User:
    user = user_of(request)
    if user is None:
        raise HTTPException(401, "sign in, or send an API token as Authorization: Bearer")
    return user


def verified(request: Request) -> User:
    user = signed_in(request)
    if not user.verified:
        raise HTTPException(403, "confirm your e-mail address first (see your account page)")
    return user


def moderator(request: Request) -> User:
    user = signed_in(request)
    if not user.is_moderator:
        raise HTTPException(403, "only moderators may do this")
    return user


def visible_id(site: Site, raw_id: str, viewer: User | None) -> str:
    """The canonical id of a stored paper this viewer may see; 404 otherwise."""
    try:
        arxiv_id, _ = parse_arxiv_id(raw_id)
    except InvalidRecord as exc:
        raise HTTPException(404, str(exc)) from None
    missing = site.store.get_paper(arxiv_id) is None
    if missing or (site.store.hidden_paper(arxiv_id) is not None
                   and not (viewer and viewer.is_moderator)):
        raise HTTPException(404, f"no paper {arxiv_id} on this instance")
    return arxiv_id


def community_data(view: PaperView) -> dict[str, Any]:
    """Votes (and whether the viewer voted) and who submitted the paper, for its page."""
    state = view.votes
    return {"votes": state.votes if state else 0, "external": state.external if state else 0,
            "voted": bool(state and state.voted), "submission": view.submission}


def with_votes(site: Site, cards: list[dict[str, Any]], viewer: User | None = None
               ) -> list[dict[str, Any]]:
    """Cards (search hits, similar papers) with their vote counts and who submitted them,
    and, for a signed-in ``viewer``, whether they voted: two indexed reads for the page."""
    states, submitted = site.store.card_states((c["arxiv_id"] for c in cards),
                                               viewer.id if viewer else None)
    for card in cards:
        card["submitted_by"] = (submitted.get(card["arxiv_id"]) or {}).get("submitted_by")
        state = states.get(card["arxiv_id"])
        card["votes"] = state.votes if state else 0
        card["external"] = state.external if state else 0
        card["voted"] = bool(state and state.voted)
    return cards


def with_submitters(site: Site, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cards with ``submitted_by`` (None for harvested papers or hidden submissions). A new
    submission always writes its paper, so cached listings keyed on the data version see it."""
    found = site.store.submissions_for(c["arxiv_id"] for c in cards)
    for card in cards:
        card["submitted_by"] = (found.get(card["arxiv_id"]) or {}).get("submitted_by")
    return cards


def _vote(request: Request, raw_id: str, on: bool | None) -> dict[str, Any]:
    site = _site(request)
    user = verified(request)
    arxiv_id = visible_id(site, raw_id, user)
    try:
        return asdict(site.store.set_vote(user.id, arxiv_id, on=on))
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


def _back(request: Request, fallback: str) -> str:
    """The same-site page the form was on (from Referer), else ``fallback``."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return fallback
    path = referer.path + (f"?{referer.query}" if referer.query else "")
    return path if safe_next(path) == path else fallback


# --- JSON API: votes ------------------------------------------------------------------------
@router.get("/papers/{arxiv_id:path}/vote", summary="A paper's votes, and whether you voted")
def get_vote(request: Request, arxiv_id: str) -> dict[str, Any]:
    site = _site(request)
    viewer = user_of(request)
    found = visible_id(site, arxiv_id, viewer)
    state = site.store.vote_states([found], viewer.id if viewer else None)[found]
    return asdict(state)


@router.put("/papers/{arxiv_id:path}/vote", summary="Upvote a paper (idempotent)")
def put_vote(request: Request, arxiv_id: str) -> dict[str, Any]:
    return _vote(request, arxiv_id, True)


@router.delete("/papers/{arxiv_id:path}/vote", summary="Withdraw your upvote (idempotent)")
def delete_vote(request: Request, arxiv_id: str) -> dict[str, Any]:
    return _vote(request, arxiv_id, False)


@router.get("/votes", summary="Votes of several papers at once, and whether you voted")
def get_votes(request: Request,
              ids: Annotated[str, Query(max_length=2000,
                                        description="arXiv ids, comma-separated (up to 100)")]
              ) -> dict[str, Any]:
    site = _site(request)
    viewer = user_of(request)
    wanted = [i.strip() for i in ids.split(",") if i.strip()][:100]
    states = site.store.vote_states(wanted, viewer.id if viewer else None)
    hidden_rows = set() if viewer and viewer.is_moderator else site.store.hidden_row_ids()
    hidden = ({i for i, row in site.store.row_ids(states).items() if row in hidden_rows}
              if hidden_rows else set())
    return {"votes": {i: asdict(s) for i, s in states.items() if i not in hidden}}


@router.get("/me", summary="Who you are signed in as")
def me(request: Request) -> dict[str, Any]:
    user = signed_in(request)
    return {"id": user.id, "email": user.email, "display_name": user.display_name,
            "role": user.role, "verified": user.verified}


# --- JSON API: submissions ------------------------------------------------------------------
def _submit(request: Request, raw_id: str, note: str | None) -> dict[str, Any]:
    site = _site(request)
    user = verified(request)
    try:
        done = submit(site.store, site.settings, user, raw_id, note)
    except SubmissionError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return {"arxiv_id": done.arxiv_id, "created": done.created, "message": done.message,
            "votes": done.vote.votes, "voted": done.vote.voted,
            "url": f"/papers/{done.arxiv_id}"}


@router.post("/submissions", summary="Submit a paper by arXiv id or URL", status_code=201)
def post_submission(request: Request, body: SubmissionIn) -> JSONResponse:
    data = _submit(request, body.arxiv_id, body.note)
    return JSONResponse(data, status_code=201 if data["created"] else 200)


# --- JSON API: moderation -------------------------------------------------------------------
def _hide(request: Request, raw_id: str, reason: str | None) -> dict[str, Any]:
    site = _site(request)
    user = moderator(request)
    arxiv_id = visible_id(site, raw_id, user)
    if reason is None:
        changed = site.store.unhide_paper(arxiv_id, user.id, user.email)
    else:
        site.store.hide_paper(arxiv_id, _reason(reason), user.id, user.email)
        changed = True
    return {"arxiv_id": arxiv_id, "hidden": site.store.hidden_paper(arxiv_id),
            "changed": changed}


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason or len(reason) > MAX_REASON:
        raise HTTPException(400, f"give a reason of 1 to {MAX_REASON} characters")
    return reason


def _hide_submission(request: Request, submission_id: int, reason: str | None
                     ) -> dict[str, Any]:
    user = moderator(request)
    if not _site(request).store.hide_submission(
            submission_id, _reason(reason) if reason is not None else None, user.id,
            user.email):
        raise HTTPException(404, f"no submission {submission_id}")
    return {"submission": submission_id, "hidden": reason is not None}


@router.post("/papers/{arxiv_id:path}/hide", summary="Hide a paper (moderators)")
def hide_paper(request: Request, arxiv_id: str, body: ReasonIn) -> dict[str, Any]:
    return _hide(request, arxiv_id, body.reason)


@router.post("/papers/{arxiv_id:path}/unhide", summary="Unhide a paper (moderators)")
def unhide_paper(request: Request, arxiv_id: str) -> dict[str, Any]:
    return _hide(request, arxiv_id, None)


@router.post("/submissions/{submission_id}/hide", summary="Hide a submission's note and "
             "credit (moderators)")
def hide_submission(request: Request, submission_id: RowId, body: ReasonIn) -> dict[str, Any]:
    return _hide_submission(request, submission_id, body.reason)


@router.post("/submissions/{submission_id}/unhide", summary="Unhide a submission (moderators)")
def unhide_submission(request: Request, submission_id: RowId) -> dict[str, Any]:
    return _hide_submission(request, submission_id, None)


# --- forms (browsers without JavaScript) ----------------------------------------------------
async def _form(request: Request) -> dict[str, str]:
    return await read_form(request)


def _form_vote(request: Request, arxiv_id: str) -> Response:
    if user_of(request) is None:
        return RedirectResponse("/signin?next=" + f"/papers/{arxiv_id}", status_code=303)
    _vote(request, arxiv_id, None)
    return RedirectResponse(_back(request, f"/papers/{arxiv_id}"), status_code=303)


@pages_router.post("/papers/{arxiv_id:path}/vote")
async def vote_form(request: Request, arxiv_id: str) -> Response:
    await _form(request)
    return await run_in_threadpool(_form_vote, request, arxiv_id)


def _form_moderate(request: Request, form: dict[str, str], kind: str, target: str,
                   hide: bool) -> Response:
    reason = form.get("reason", "") if hide else None
    if kind == "paper":
        done = _hide(request, target, reason)
        return RedirectResponse(f"/papers/{done['arxiv_id']}", status_code=303)
    if not target.isdigit() or len(target) > 9:
        raise HTTPException(404, f"no submission {target[:20]}")
    _hide_submission(request, int(target), reason)
    return RedirectResponse(_back(request, "/"), status_code=303)


@pages_router.post("/papers/{arxiv_id:path}/hide")
async def hide_form(request: Request, arxiv_id: str) -> Response:
    return await run_in_threadpool(_form_moderate, request, await _form(request), "paper",
                                   arxiv_id, True)


@pages_router.post("/papers/{arxiv_id:path}/unhide")
async def unhide_form(request: Request, arxiv_id: str) -> Response:
    return await run_in_threadpool(_form_moderate, request, await _form(request), "paper",
                                   arxiv_id, False)


@pages_router.post("/submissions/{submission_id}/hide")
async def hide_submission_form(request: Request, submission_id: str) -> Response:
    return await run_in_threadpool(_form_moderate, request, await _form(request),
                                   "submission", submission_id, True)


@pages_router.post("/submissions/{submission_id}/unhide")
async def unhide_submission_form(request: Request, submission_id: str) -> Response:
    return await run_in_threadpool(_form_moderate, request, await _form(request),
                                   "submission", submission_id, False)


@pages_router.get("/submit")
@pages_router.get("/submit.json")
def submit_page(request: Request) -> Response:
    return render(request, "submit.html", {"error": None, "arxiv_id": "", "note": "",
                                           "window_days": _window(request)})


def _window(request: Request) -> int:
    return _site(request).settings.submission_window_days


def _form_submit(request: Request, form: dict[str, str]) -> Response:
    if user_of(request) is None:
        return RedirectResponse("/signin?next=/submit", status_code=303)
    raw, note = form.get("arxiv_id", ""), form.get("note", "")
    try:
        done = _submit(request, raw, note)
    except HTTPException as exc:
        return render(request, "submit.html", {
            "error": exc.detail, "arxiv_id": raw, "note": note,
            "window_days": _window(request)}, exc.status_code)
    return RedirectResponse(done["url"], status_code=303)


@pages_router.post("/submit")
async def submit_form(request: Request) -> Response:
    return await run_in_threadpool(_form_submit, request, await _form(request))

