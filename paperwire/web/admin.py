"""Moderators' and admins' views: hiding papers and submissions, and the digest preview.

Hiding answers as JSON API and as forms; it needs the moderator or admin role (403
otherwise). The digest preview is for admins.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from paperwire.digest import preview
from paperwire.errors import NotFound
from paperwire.models import User
from paperwire.web.deps import Moderator, SiteDep, moderator
from paperwire.web.params import (
    MAX_ROW_ID,
    Text,
    back_url,
    check_choice,
    parse_day,
    parse_int,
    read_form,
)
from paperwire.web.renderers import Page, page_route
from paperwire.web.security import user_of
from paperwire.web.site import Site, site_of

router = APIRouter(prefix="/api", tags=["community"])
pages_router = APIRouter(include_in_schema=False)

MAX_REASON = 1000
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a submission's number")]


class ReasonIn(BaseModel):
    reason: Text = Field(min_length=1, max_length=MAX_REASON, description="shown to moderators")


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason or len(reason) > MAX_REASON:
        raise HTTPException(400, f"give a reason of 1 to {MAX_REASON} characters")
    return reason


def _hide(site: Site, user: User, raw_id: str, reason: str | None) -> dict[str, Any]:
    arxiv_id = site.visible_id(raw_id, user)
    if reason is None:
        changed = site.store.unhide_paper(arxiv_id, user.id, user.email)
    else:
        site.store.hide_paper(arxiv_id, _reason(reason), user.id, user.email)
        changed = True
    return {"arxiv_id": arxiv_id, "hidden": site.store.hidden_paper(arxiv_id),
            "changed": changed}


def _hide_submission(site: Site, user: User, submission_id: int, reason: str | None
                     ) -> dict[str, Any]:
    if not site.store.hide_submission(
            submission_id, _reason(reason) if reason is not None else None, user.id,
            user.email):
        raise HTTPException(404, f"no submission {submission_id}")
    return {"submission": submission_id, "hidden": reason is not None}


# --- JSON API -------------------------------------------------------------------------------
@router.post("/papers/{arxiv_id:path}/hide", summary="Hide a paper (moderators)")
def hide_paper(site: SiteDep, user: Moderator, arxiv_id: str, body: ReasonIn
               ) -> dict[str, Any]:
    return _hide(site, user, arxiv_id, body.reason)


@router.post("/papers/{arxiv_id:path}/unhide", summary="Unhide a paper (moderators)")
def unhide_paper(site: SiteDep, user: Moderator, arxiv_id: str) -> dict[str, Any]:
    return _hide(site, user, arxiv_id, None)


@router.post("/submissions/{submission_id}/hide", summary="Hide a submission's note and "
             "credit (moderators)")
def hide_submission(site: SiteDep, user: Moderator, submission_id: RowId, body: ReasonIn
                    ) -> dict[str, Any]:
    return _hide_submission(site, user, submission_id, body.reason)


@router.post("/submissions/{submission_id}/unhide", summary="Unhide a submission (moderators)")
def unhide_submission(site: SiteDep, user: Moderator, submission_id: RowId) -> dict[str, Any]:
    return _hide_submission(site, user, submission_id, None)


# --- forms ----------------------------------------------------------------------------------
def _form_moderate(request: Request, form: dict[str, str], kind: str, target: str,
                   hide: bool) -> Response:
    site = site_of(request)
    reason = form.get("reason", "") if hide else None
    if kind == "paper":
        done = _hide(site, moderator(user_of(request)), target, reason)
        return RedirectResponse(f"/papers/{done['arxiv_id']}", status_code=303)
    number = parse_int(target, "submission_id", 1, MAX_ROW_ID)
    _hide_submission(site, moderator(user_of(request)), number, reason)
    return RedirectResponse(back_url(request, "/"), status_code=303)


async def _moderate(request: Request, kind: str, target: str, hide: bool) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_form_moderate, request, form, kind, target, hide)


@pages_router.post("/papers/{arxiv_id:path}/hide")
async def hide_form(request: Request, arxiv_id: str) -> Response:
    return await _moderate(request, "paper", arxiv_id, True)


@pages_router.post("/papers/{arxiv_id:path}/unhide")
async def unhide_form(request: Request, arxiv_id: str) -> Response:
    return await _moderate(request, "paper", arxiv_id, False)


@pages_router.post("/submissions/{submission_id}/hide")
async def hide_submission_form(request: Request, submission_id: str) -> Response:
    return await _moderate(request, "submission", submission_id, True)


@pages_router.post("/submissions/{submission_id}/unhide")
async def unhide_submission_form(request: Request, submission_id: str) -> Response:
    return await _moderate(request, "submission", submission_id, False)


# --- digest preview -------------------------------------------------------------------------
@page_route(pages_router, "/admin/digest/preview")
def digest_preview(request: Request, email: str = "", period: str = "", as_of: str = ""
                   ) -> Page:
    """What ``email``'s digest would say (admins only)."""
    user = user_of(request)
    if user is None or user.role != "admin":
        raise HTTPException(403, "only admins may preview digests")
    day = parse_day(as_of, "as_of") if as_of else datetime.now(UTC).date()
    chosen = check_choice(period, "period", ("daily", "weekly")) if period else None
    data: dict[str, Any] = {"email": email, "headers": [], "text": "", "html": "",
                            "empty": True, "error": None}
    if email:
        site = site_of(request)
        try:
            digest, message = preview(site.settings, site.store, email, chosen, day)
        except NotFound as exc:
            data["error"] = str(exc)
        else:
            text = message.get_body(("plain",))
            html = message.get_body(("html",))
            data.update(headers=[[k, str(v)] for k, v in message.items()],
                        text=text.get_content() if text else "",  # type: ignore[attr-defined]
                        html=html.get_content() if html else "",  # type: ignore[attr-defined]
                        empty=digest.empty)
    return Page("digest_preview.html", data)
