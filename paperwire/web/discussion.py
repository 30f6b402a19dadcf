"""The discussion on the web: a paper's thread (on its page, its own page, JSON and Atom),
the forms that post, edit, delete, vote, report and moderate without JavaScript, the JSON
API (``api_router``), the Discussed tab and the moderators' queue.

Every rule is paperwire.discussion's; this module only maps its errors to statuses (429
with Retry-After when over the rate limit).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from markupsafe import Markup, escape
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from paperwire import discussion
from paperwire.discussion import MAX_BODY, MAX_REASON, ORDERS, DiscussionError, Throttled
from paperwire.formats.comments_atom import comments_feed
from paperwire.models import User
from paperwire.store import PaperReader
from paperwire.web.cards import card
from paperwire.web.deps import Moderator, SiteDep, VerifiedUser, Viewer, moderator
from paperwire.web.params import MAX_ROW_ID, Text, check_choice, parse_int, parse_page, read_form
from paperwire.web.renderers import Feed, Page, page_route
from paperwire.web.security import client_ip, csrf_as, csrf_token, current_user, user_of
from paperwire.web.site import Site, site_of

pages_router = APIRouter(include_in_schema=False)
forms_router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["discussion"])
PER_PAGE = 30
CommentId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]


def _call(work: Callable[[], Any]) -> Any:
    """Run a discussion rule, its refusals as HTTP errors."""
    try:
        return work()
    except DiscussionError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except Throttled as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}
                            ) from None


@dataclass(frozen=True)
class _Shared:
    """A thread as every reader sees it (shaped for nobody), and whose its comments are."""

    data: dict[str, Any]
    written: dict[int, frozenset[int]]  # an account's id -> the ids of its comments


def _shared(site: Site, arxiv_id: str, order: str, version: str, everything: bool
            ) -> _Shared:
    key = ("discussion", arxiv_id, order, version, everything)
    found: _Shared | None = site.cache.get(key)
    if found is None:
        view = site.store.discussion_view(arxiv_id, everything=everything)
        comments, count = discussion.thread(view, order)
        written: dict[int, set[int]] = {}
        for c in view.comments:
            written.setdefault(c["user_id"], set()).add(c["id"])
        found = _Shared({
            "arxiv_id": arxiv_id, "comments": comments, "count": count, "locked": view.lock,
            "order": order, "orders": list(ORDERS),
            "feed": f"/papers/{arxiv_id}/discussion.atom",
            "url": f"/papers/{arxiv_id}/discussion", "max_body": MAX_BODY,
            # Changes with the thread (and anything else that moves the page).
            "version": hashlib.sha1(version.encode()).hexdigest()[:16]},
            {user: frozenset(ids) for user, ids in written.items()})
        site.cache.put(key, found)
    return found


def discussion_data(site: Site, raw_id: str, viewer: User | None, order: str = "newest", *,
                    visible: bool = False, version: str | None = None,
                    reader: PaperReader | None = None) -> dict[str, Any]:
    """A paper's thread as its page shows it (404 for a paper this viewer may not see;
    ``visible`` when the caller has already checked that, as the paper page has: two reads
    fewer on every page view; ``version``, the store's view version when the caller has
    read it for this request already; ``reader``, what the viewer adds to the page when
    the caller has read it).

    Everyone's thread is read and shaped once per version (a moderator's, with what is
    held and hidden, apart); a signed-in reader adds one read of their own votes and held
    comments. Only a reader with comments waiting for approval gets a thread of their own."""
    check_choice(order, "order", ORDERS)
    arxiv_id = raw_id if visible else site.visible_id(raw_id, viewer)
    everything = bool(viewer and viewer.is_moderator)
    shared = _shared(site, arxiv_id, order, version or site.store.view_version(), everything)
    if viewer is None:
        return shared.data
    reader = reader or site.store.paper_reader(arxiv_id, (), viewer.id)
    if reader.held and not everything:
        view = site.store.discussion_view(arxiv_id, viewer.id)
        comments, count = discussion.thread(view, order, viewer)
        return {**shared.data, "comments": comments, "count": count}
    mine = shared.written.get(viewer.id, frozenset())
    return {**shared.data,
            "comments": discussion.for_reader(shared.data["comments"],
                                              reader.comment_votes, mine)}


_PLACEHOLDER = "\x00csrf\x00"  # no rendered text holds a NUL: Markdown output drops it
_READER = f"reader{secrets.token_hex(12)}"  # marks a reader's part in the shared markup
_READER_PART = re.compile(_READER + r"(\w+)\.(\d+)\.")
_reader_parts: ContextVar[bool] = ContextVar("reader_parts", default=False)


class Role(NamedTuple):
    """What the discussion's markup shows of its reader, beyond each comment's own flags
    (voted, mine, editable): the same for every reader in the role."""

    verified: bool
    is_moderator: bool


@dataclass(frozen=True)
class _Section:
    """A thread's markup for one role: the text between its readers' parts, the parts'
    (macro, comment id), and each part as rendered for each state of it (by the part's
    place and the state: voted, or mine and editable), kept as met; and the whole section
    for a few readers' states (``assembled``: by the comments a reader voted on or wrote),
    cut where the CSRF token goes."""

    texts: tuple[str, ...]
    slots: tuple[tuple[str, int], ...]
    rendered: dict[tuple[int, Any], str] = field(default_factory=dict)
    assembled: dict[tuple[Any, ...], tuple[str, ...]] = field(default_factory=dict)


# Readers' states whose whole section is kept (each a few hundred KB for 200 comments); most
# readers voted on and wrote nothing in a thread, and share one.
_ASSEMBLED_KEPT = 8


def _by_id(d: dict[str, Any]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for top in d["comments"]:
        found[top["id"]] = top
        for reply in top["replies"]:
            found[reply["id"]] = reply
    return found


def reader_state(d: dict[str, Any], moderator: bool) -> tuple[Any, ...] | None:
    """All that the thread ``d`` shows of its reader beyond their role: which comments they
    voted on and wrote, with whether each is still theirs to edit; None when the thread is
    theirs alone (comments of theirs awaiting approval, which others do not see)."""
    return _state(_by_id(d), moderator)


def _state(comments: dict[int, dict[str, Any]], moderator: bool) -> tuple[Any, ...] | None:
    if not moderator and any(c["held"] for c in comments.values()):
        return None
    return tuple((i, c["voted"], c["mine"], c["editable"]) for i, c in comments.items()
                 if c["voted"] or c["mine"])


def install(site: Site) -> None:
    """Give the templates ``discussion_html(d)``: the thread's section, rendered once per
    version and role (200 comments take tens of milliseconds to render; a page served
    from the cache, well under one), with what differs between readers spliced in: the
    state of each comment's vote button and own controls, and the reader's CSRF token.
    ``reader_part`` marks those parts in the markup."""
    made: list[Any] = []

    def macros() -> Any:
        # Made on first use, once install has added its globals.
        if not made:
            made.append(site.templates.get_template("_comments.html").module)
        return made[0]

    def reader_part(name: str, c: dict[str, Any], d: dict[str, Any], me: Role) -> Markup:
        if _reader_parts.get():
            return Markup(f"{_READER}{name}.{c['id']}.")
        return Markup(getattr(macros(), name)(c, d, me))

    def section(d: dict[str, Any], me: Role | None) -> _Section:
        key = ("discussion-html", d["arxiv_id"], d["order"], d["version"], me)
        found: _Section | None = site.cache.get(key)
        if found is None:
            marks = _reader_parts.set(True)
            try:
                with csrf_as(_PLACEHOLDER):
                    parts = _READER_PART.split(str(macros().discussion_body(d, me)))
            finally:
                _reader_parts.reset(marks)
            found = _Section(tuple(parts[0::3]),
                             tuple(zip(parts[1::3], map(int, parts[2::3]), strict=True)))
            site.cache.put(key, found)
        return found

    def assemble(kept: _Section, comments: dict[int, dict[str, Any]], d: dict[str, Any],
                 me: Role | None) -> tuple[str, ...]:
        out = [kept.texts[0]]
        rendered = kept.rendered
        for slot, (name, comment_id), text in zip(range(len(kept.slots)), kept.slots,
                                                 kept.texts[1:], strict=True):
            c = comments[comment_id]
            key = (slot, c["voted"] if name == "comment_vote" else (c["mine"], c["editable"]))
            part = rendered.get(key)
            if part is None:
                with csrf_as(_PLACEHOLDER):
                    part = rendered[key] = str(getattr(macros(), name)(c, d, me))
            out += (part, text)
        return tuple("".join(out).split(_PLACEHOLDER))

    def discussion_html(d: dict[str, Any]) -> Markup:
        user = current_user()
        me = None if user is None else Role(user.verified, user.is_moderator)
        comments = _by_id(d)
        state = _state(comments, me is not None and me.is_moderator)
        if state is None:
            return Markup(macros().discussion_body(d, me))  # their own held comments
        kept = section(d, me)
        pieces = kept.assembled.get(state)
        if pieces is None:
            pieces = assemble(kept, comments, d, me)
            if len(kept.assembled) >= _ASSEMBLED_KEPT:
                kept.assembled.pop(next(iter(kept.assembled)), None)
            kept.assembled[state] = pieces
        # One join puts the token in (a replace over the whole section cost ~1 ms a page).
        return Markup(str(escape(csrf_token())).join(pieces))

    site.templates.globals.update(discussion_html=discussion_html, reader_part=reader_part)


def _feed_body(site: Site, arxiv_id: str) -> Callable[[str, str], bytes]:
    def body(base: str, self_url: str) -> bytes:
        return comments_feed(site.store.comments_feed(arxiv_id), arxiv_id=arxiv_id,
                             self_url=self_url, base_url=base)
    return body


@page_route(pages_router, "/papers/{arxiv_id:path}/discussion")
def discussion_page(request: Request, arxiv_id: str) -> Page:
    """A paper's discussion alone (?order=newest|top); as Atom, its newest comments."""
    site = site_of(request)
    data = discussion_data(site, arxiv_id, user_of(request),
                           request.query_params.get("order", "newest"))
    paper = site.store.get_paper(data["arxiv_id"])
    assert paper is not None  # visible_id said so
    feed = Feed(f"paperwire: discussion of {paper.title}", data["url"], (),
                entries=_feed_body(site, data["arxiv_id"]))
    return Page("discussion.html", {**data, "paper": card(paper)}, feed=feed)


@page_route(pages_router, "/discussed")
def discussed_page(request: Request) -> Page:
    """Papers by their latest comment, newest first (?page=N)."""
    site = site_of(request)
    page = parse_page(request.query_params.get("page"))
    found, total = site.store.discussed_papers(PER_PAGE, (page - 1) * PER_PAGE)
    papers = site.store.get_papers(f["arxiv_id"] for f in found)
    items = [{**card(papers[f["arxiv_id"]]), **f} for f in found if f["arxiv_id"] in papers]
    pages = max(1, -(-total // PER_PAGE))
    return Page("discussed.html", {
        "papers": items, "total": total, "page": page, "pages": pages,
        "newer_url": f"/discussed?page={page - 1}" if page > 1 else None,
        "older_url": f"/discussed?page={page + 1}" if page < pages else None})


@page_route(pages_router, "/moderation/comments")
def moderation_page(request: Request) -> Page:
    """Held and reported comments, with the reasons, for moderators."""
    moderator(user_of(request))
    return Page("moderation_comments.html",
                {"comments": site_of(request).store.comment_queue()})


# --- forms (browsers without JavaScript) ----------------------------------------------------
def _back(arxiv_id: str, comment_id: int | None = None) -> Response:
    anchor = f"#c{comment_id}" if comment_id else "#discussion"
    return RedirectResponse(f"/papers/{arxiv_id}{anchor}", status_code=303)


def _form_post(request: Request, arxiv_id: str, form: dict[str, str]) -> Response:
    site, user = site_of(request), user_of(request)
    if user is None:
        return RedirectResponse(f"/signin?next=/papers/{arxiv_id}", status_code=303)
    found = site.visible_id(arxiv_id, user)
    parent = form.get("parent_id") or None
    parent_id = parse_int(parent, "parent_id", 1, MAX_ROW_ID) if parent else None
    posted = _call(lambda: discussion.post(site.store, site.settings, user, found,
                                           form.get("body", ""), parent_id,
                                           client_ip(request)))
    return _back(found, posted.comment["id"])


@forms_router.post("/papers/{arxiv_id:path}/comments")
async def post_form(request: Request, arxiv_id: str) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_form_post, request, arxiv_id, form)


def _form_act(request: Request, comment_id: int, action: str, form: dict[str, str]
              ) -> Response:
    site, user = site_of(request), user_of(request)
    store = site.store
    if user is None:
        return RedirectResponse("/signin", status_code=303)
    actions: dict[str, Callable[[], Any]] = {
        "edit": lambda: discussion.edit(store, site.settings, user, comment_id,
                                        form.get("body", ""), client_ip(request)),
        "delete": lambda: discussion.delete(store, user, comment_id),
        "vote": lambda: discussion.vote(store, user, comment_id, form.get("on") != "0"),
        "report": lambda: discussion.report(store, user, comment_id, form.get("reason", "")),
        "hide": lambda: discussion.moderate(store, user, comment_id, "hide",
                                            form.get("reason")),
        "restore": lambda: discussion.moderate(store, user, comment_id, "restore"),
        "approve": lambda: discussion.moderate(store, user, comment_id, "approve")}
    if action not in actions:
        raise HTTPException(404, f"no action {action[:40]!r} on comments")
    found = _call(lambda: discussion.visible(store, comment_id, user))
    _call(actions[action])
    if action in ("approve", "restore") and form.get("back") == "queue":
        return RedirectResponse("/moderation/comments", status_code=303)
    return _back(found["arxiv_id"], comment_id)


@forms_router.post("/comments/{comment_id}/{action}")
async def act_form(request: Request, comment_id: CommentId, action: str) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_form_act, request, comment_id, action, form)


def _form_lock(request: Request, arxiv_id: str, form: dict[str, str]) -> Response:
    site, user = site_of(request), user_of(request)
    found = site.visible_id(arxiv_id, user)
    locked = form.get("locked", "1") != "0"
    _call(lambda: discussion.lock(site.store, user, found, locked, form.get("reason")))
    return _back(found)


@forms_router.post("/papers/{arxiv_id:path}/discussion/lock")
async def lock_form(request: Request, arxiv_id: str) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_form_lock, request, arxiv_id, form)


# --- JSON API -----------------------------------------------------------------------------
class CommentIn(BaseModel):
    body: Text = Field(min_length=1, max_length=MAX_BODY,
                       description="Markdown; $…$ and $$…$$ are math")
    parent_id: int | None = Field(None, ge=1, le=MAX_ROW_ID,
                                  description="the comment this replies to")


class CommentEdit(BaseModel):
    body: Text = Field(min_length=1, max_length=MAX_BODY)


class ReportIn(BaseModel):
    reason: Text = Field(min_length=1, max_length=MAX_REASON)


LIMITED: dict[int | str, dict[str, Any]] = {409: {"description": "Locked, deleted or repeated"},
    429: {"description": "Too many comments; wait Retry-After seconds"}}


@api_router.get("/papers/{arxiv_id:path}/comments", summary="A paper's discussion")
def list_comments(site: SiteDep, viewer: Viewer, arxiv_id: str,
                  order: Annotated[str, Query(pattern="^(newest|top)$")] = "newest"
                  ) -> dict[str, Any]:
    return discussion_data(site, arxiv_id, viewer, order)


@api_router.post("/papers/{arxiv_id:path}/comments", summary="Comment on a paper",
                 status_code=201, responses=LIMITED)
def post_comment(request: Request, site: SiteDep, user: VerifiedUser, arxiv_id: str,
                 body: CommentIn) -> JSONResponse:
    found = site.visible_id(arxiv_id, user)
    posted = _call(lambda: discussion.post(site.store, site.settings, user, found, body.body,
                                           body.parent_id, client_ip(request)))
    comment = {k: v for k, v in posted.comment.items() if k != "user_id"}
    return JSONResponse({**comment, "held": posted.held}, status_code=201)


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if k != "user_id"}


@api_router.patch("/comments/{comment_id}", summary="Edit your comment (15 minutes)",
                  responses=LIMITED)
def edit_comment(request: Request, site: SiteDep, user: VerifiedUser, comment_id: CommentId,
                 body: CommentEdit) -> dict[str, Any]:
    return _public(_call(lambda: discussion.edit(site.store, site.settings, user, comment_id,
                                                 body.body, client_ip(request))))


@api_router.delete("/comments/{comment_id}", summary="Delete your comment",
                   responses={409: {"description": "Deleted already"}})
def delete_comment(site: SiteDep, user: VerifiedUser, comment_id: CommentId
                   ) -> dict[str, Any]:
    return _public(_call(lambda: discussion.delete(site.store, user, comment_id)))


@api_router.put("/comments/{comment_id}/vote", summary="Upvote a comment (idempotent)",
                responses={409: {"description": "The comment was deleted"}})
def put_comment_vote(site: SiteDep, user: VerifiedUser, comment_id: CommentId
                     ) -> dict[str, Any]:
    result: dict[str, Any] = _call(lambda: discussion.vote(site.store, user, comment_id, True))
    return result


@api_router.delete("/comments/{comment_id}/vote", summary="Withdraw your upvote",
                   responses={409: {"description": "The comment was deleted"}})
def delete_comment_vote(site: SiteDep, user: VerifiedUser, comment_id: CommentId
                        ) -> dict[str, Any]:
    result: dict[str, Any] = _call(lambda: discussion.vote(site.store, user, comment_id,
                                                           False))
    return result


@api_router.post("/comments/{comment_id}/report", summary="Report a comment to moderators")
def report_comment(site: SiteDep, user: VerifiedUser, comment_id: CommentId, body: ReportIn
                   ) -> dict[str, Any]:
    new = _call(lambda: discussion.report(site.store, user, comment_id, body.reason))
    return {"id": comment_id, "reported": True, "new": bool(new)}


@api_router.get("/moderation/comments", summary="Held and reported comments (moderators)")
def comment_queue(site: SiteDep, user: Moderator) -> dict[str, Any]:
    return {"comments": [_public(c) for c in site.store.comment_queue()]}
