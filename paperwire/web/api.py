"""The JSON API under /api (described by /api/openapi.json, read at /api/docs).

Each endpoint returns what the matching page's JSON twin returns: both call the same
``*_data`` function in pages.py. FastAPI checks the typed parameters; a bad one is a 400.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response

from paperwire.search import Mode, QueryError, Sort
from paperwire.web.deps import SiteDep, Viewer
from paperwire.web.pages import (
    SEARCH_PER_PAGE,
    about_data,
    paper_with_discussion,
    search_data,
    trending_data,
)
from paperwire.web.params import MAX_AUTHOR, MAX_CATEGORIES, MAX_PAGE, ApiDay
from paperwire.web.site import site_of

router = APIRouter(prefix="/api", tags=["api"])

Period = Literal["day", "week", "month"]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")]


@router.get("/trending", summary="Papers of a day, week or month by trending score")
def trending(site: SiteDep,
             date: Annotated[ApiDay | None, Query(
                 description="a day (YYYY-MM-DD); default: the latest day with papers")] = None,
             period: Period = "day", page: Page = 1,
             category: Annotated[str | None, Query(max_length=100,
                 description="an arXiv category (cs.CL) or archive (cs)")] = None,
             ) -> dict[str, Any]:
    return trending_data(site, date, period, page, category)


@router.get("/search", summary="Search papers by keyword and meaning",
            responses={404: {"description": "no such collection of yours (collection=)"}})
def search(site: SiteDep, viewer: Viewer,
           q: Annotated[str, Query(min_length=1, max_length=1000, description="the query")],
           category: Annotated[list[str] | None, Query(max_length=MAX_CATEGORIES,
               description="arXiv category or archive; repeat for several")] = None,
           since: ApiDay | None = None, until: ApiDay | None = None,
           author: Annotated[str | None, Query(max_length=MAX_AUTHOR)] = None,
           sort: Sort = "relevance", mode: Mode | None = None,
           page: Page = 1,
           per_page: Annotated[int, Query(ge=1, le=100)] = SEARCH_PER_PAGE,
           collection: Annotated[int | None, Query(
               ge=1, le=2**31 - 1, description="search inside this collection")] = None,
           library: Annotated[str | None, Query(
               pattern="^mine$", description="mine: search inside your library")] = None,
           code: Annotated[bool, Query(
               description="only papers with a code link (abstract, comments or a signal)")
                           ] = False,
           ) -> dict[str, Any]:
    try:
        return search_data(site, q, categories=tuple(category or ()), since=since,
                                 until=until, author=author, sort=sort, mode=mode,
                                 page=page, per_page=per_page, viewer=viewer,
                                 collection=collection, mine=library == "mine", code=code)
    except QueryError as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/papers/{arxiv_id:path}",
            summary="One paper, with papers similar to it and its discussion")
def paper(site: SiteDep, viewer: Viewer, arxiv_id: str) -> dict[str, Any]:
    return paper_with_discussion(site, arxiv_id, viewer)[1]


@router.get("/stats", summary="How many papers this instance holds, by day and category")
def stats(site: SiteDep) -> dict[str, Any]:
    return about_data(site)


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> Response:
    """The API reference, rendered here from the OpenAPI schema (no CDN-hosted Swagger UI)."""
    schema = request.app.openapi()
    endpoints = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            params = [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                       "description": p.get("description", ""),
                       "type": _type_name(p.get("schema", {}))}
                      for p in op.get("parameters", [])]
            endpoints.append({"method": method.upper(), "path": path,
                              "summary": op.get("summary", ""), "params": params})
    site = site_of(request)
    html = site.templates.get_template("api_docs.html").render(
        endpoints=endpoints, info=schema.get("info", {}), request_path=request.url.path)
    return HTMLResponse(html)


def _type_name(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_type_name(s) for s in schema["anyOf"] if s.get("type") != "null")
    if schema.get("type") == "array":
        return f"list of {_type_name(schema.get('items', {}))}"
    return str(schema.get("format") or schema.get("type") or "any")
