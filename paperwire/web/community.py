"""Votes and submissions, as JSON API (``router``, under /api) and as forms (``pages_router``).

The JSON API authenticates by session cookie (then the ``X-CSRF-Token`` header is required)
or by ``Authorization: Bearer`` API token, and answers 401 in JSON when neither is there.
The forms do the same for browsers without JavaScript and redirect back. Voting and
submitting need a confirmed address.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from paperwire.errors import NotFound
from paperwire.models import User
from paperwire.submissions import Queued, SubmissionError, submit
from paperwire.web.deps import SignedIn, SiteDep, VerifiedUser, Viewer, verified
from paperwire.web.params import Text, back_url, read_form
from paperwire.web.renderers import Page, page_route, render
from paperwire.web.security import user_of
from paperwire.web.site import Site, site_of

router = APIRouter(prefix="/api", tags=["community"])
pages_router = APIRouter(include_in_schema=False)

MAX_IDS = 100
MAX_JOB_ID = 2**31 - 1


class SubmissionIn(BaseModel):
    arxiv_id: Text = Field(min_length=1, max_length=300,
                          description="an arXiv id (2401.12345) or abs/pdf URL")
    note: Text | None = Field(None, max_length=1000, description="why it is worth reading")


def _vote(site: Site, user: User, raw_id: str, on: bool | None) -> dict[str, Any]:
    arxiv_id = site.visible_id(raw_id, user)
    try:
        return asdict(site.store.set_vote(user.id, arxiv_id, on=on))
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None


# --- JSON API: votes ------------------------------------------------------------------------
@router.get("/papers/{arxiv_id:path}/vote", summary="A paper's votes, and whether you voted")
def get_vote(site: SiteDep, viewer: Viewer, arxiv_id: str) -> dict[str, Any]:
    found = site.visible_id(arxiv_id, viewer)
    state = site.store.vote_states([found], viewer.id if viewer else None)[found]
    return asdict(state)


@router.put("/papers/{arxiv_id:path}/vote", summary="Upvote a paper (idempotent)")
def put_vote(site: SiteDep, user: VerifiedUser, arxiv_id: str) -> dict[str, Any]:
    return _vote(site, user, arxiv_id, True)


@router.delete("/papers/{arxiv_id:path}/vote", summary="Withdraw your upvote (idempotent)")
def delete_vote(site: SiteDep, user: VerifiedUser, arxiv_id: str) -> dict[str, Any]:
    return _vote(site, user, arxiv_id, False)


@router.get("/votes", summary="Votes of several papers at once, and whether you voted")
def get_votes(site: SiteDep, viewer: Viewer,
              ids: Annotated[str, Query(max_length=2000,
                                        description="arXiv ids, comma-separated (up to 100)")]
              ) -> dict[str, Any]:
    wanted = [i.strip() for i in ids.split(",") if i.strip()][:MAX_IDS]
    states = site.store.vote_states(wanted, viewer.id if viewer else None)
    hidden_rows = set() if viewer and viewer.is_moderator else site.store.hidden_row_ids()
    hidden = ({i for i, row in site.store.row_ids(states).items() if row in hidden_rows}
              if hidden_rows else set())
    return {"votes": {i: asdict(s) for i, s in states.items() if i not in hidden}}


@router.get("/me", summary="Who you are signed in as")
def me(user: SignedIn) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "display_name": user.display_name,
            "role": user.role, "verified": user.verified}


# --- JSON API: submissions ------------------------------------------------------------------
def _submit(site: Site, user: User, raw_id: str, note: str | None) -> dict[str, Any]:
    """The submission's answer: done at once (the paper is here), or queued as a job."""
    try:
        done = submit(site.store, site.settings, user, raw_id, note)
    except SubmissionError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    if isinstance(done, Queued):
        site.wake()
        return {"arxiv_id": done.arxiv_id, "status": "queued", "message": done.message,
                "job": done.job_id, "status_url": f"/api/submissions/jobs/{done.job_id}",
                "page_url": f"/submit/jobs/{done.job_id}"}
    return {"arxiv_id": done.arxiv_id, "status": "done", "created": done.created,
            "message": done.message, "votes": done.vote.votes, "voted": done.vote.voted,
            "url": f"/papers/{done.arxiv_id}"}


def _job_data(site: Site, user: User | None, job_id: int) -> dict[str, Any]:
    """A submission job's status, for the user who queued it (and moderators) only."""
    job = site.store.job(job_id) if job_id <= MAX_JOB_ID else None
    if job is None or user is None or (job.user_id != user.id and not user.is_moderator):
        raise HTTPException(404, f"no submission {job_id} of yours")
    return {**job.to_dict(), "arxiv_id": job.key, "pending": job.status in ("queued", "running"),
            "url": (job.result or {}).get("url") if job.status == "done" else None}


@router.post("/submissions", summary="Submit a paper by arXiv id or URL", status_code=202,
             responses={200: {"description": "already here: counted as your upvote"},
                        202: {"description": "queued: poll status_url for the outcome"},
                        409: {}, 502: {}})
def post_submission(site: SiteDep, user: VerifiedUser, body: SubmissionIn) -> JSONResponse:
    data = _submit(site, user, body.arxiv_id, body.note)
    if data["status"] == "queued":
        return JSONResponse(data, status_code=202, headers={"Location": data["status_url"]})
    return JSONResponse(data, status_code=200)


@router.get("/submissions/jobs/{job_id}", summary="A queued submission's status")
def get_submission_job(site: SiteDep, user: SignedIn,
                       job_id: Annotated[int, PathParam(ge=1, le=MAX_JOB_ID)]
                       ) -> dict[str, Any]:
    return _job_data(site, user, job_id)


# --- forms (browsers without JavaScript) ----------------------------------------------------
def _form_vote(request: Request, arxiv_id: str) -> Response:
    user = user_of(request)
    if user is None:
        # Back where the button was, and the vote kept for the sign-in form to cast.
        back = back_url(request, f"/papers/{arxiv_id}")
        return RedirectResponse("/signin?" + urlencode({"next": back, "vote": arxiv_id}),
                                status_code=303)
    _vote(site_of(request), verified(user), arxiv_id, None)
    return RedirectResponse(back_url(request, f"/papers/{arxiv_id}"), status_code=303)


@pages_router.post("/papers/{arxiv_id:path}/vote")
async def vote_form(request: Request, arxiv_id: str) -> Response:
    await read_form(request)
    return await run_in_threadpool(_form_vote, request, arxiv_id)


def _submit_form_data(request: Request, error: str | None = None, arxiv_id: str = "",
                      note: str = "") -> dict[str, Any]:
    return {"error": error, "arxiv_id": arxiv_id, "note": note,
            "window_days": site_of(request).settings.submission_window_days}


@page_route(pages_router, "/submit")
def submit_page(request: Request) -> Page:
    return Page("submit.html", _submit_form_data(request))


def _form_submit(request: Request, form: dict[str, str]) -> Response:
    user = user_of(request)
    if user is None:
        return RedirectResponse("/signin?next=/submit", status_code=303)
    raw, note = form.get("arxiv_id", ""), form.get("note", "")
    try:
        done = _submit(site_of(request), verified(user), raw, note)
    except HTTPException as exc:
        data = _submit_form_data(request, exc.detail, raw, note)
        return render(request, Page("submit.html", data, exc.status_code))
    return RedirectResponse(done.get("url") or done["page_url"], status_code=303)


@page_route(pages_router, "/submit/jobs/{job_id}")
def submit_job_page(request: Request, job_id: Annotated[int, PathParam(ge=1, le=MAX_JOB_ID)]
                    ) -> Page:
    """What became of a submission: queued (the page reloads itself), done, or why not."""
    return Page("submit_job.html", _job_data(site_of(request), user_of(request), job_id))


@pages_router.post("/submit")
async def submit_form(request: Request) -> Response:
    return await run_in_threadpool(_form_submit, request, await read_form(request))
