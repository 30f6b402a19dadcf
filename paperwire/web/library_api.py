"""The library in the JSON API (/api/library/…): collections, their items, saving, imports
and groups, with a session (and X-CSRF-Token) or a Bearer token. The same rules as the
pages: a collection or group the caller may not read is a 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from paperwire import library, library_groups, library_jobs
from paperwire.web.deps import SignedIn, SiteDep, VerifiedUser, Viewer
from paperwire.web.library import IMPORTS_PER_HOUR, answering, collection_data, job_data, throttled
from paperwire.web.library_groups import invite
from paperwire.web.params import MAX_ROW_ID, Text, parse_page

router = APIRouter(prefix="/api/library", tags=["library"])
Id = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]
MAX_IDS = 100


class CollectionIn(BaseModel):
    name: Text = Field(min_length=1, max_length=library.MAX_NAME)
    description: Text = Field("", max_length=library.MAX_DESCRIPTION)
    visibility: str = Field("private", pattern="^(private|lab|public)$")
    group_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)


class CollectionPatch(BaseModel):
    name: Text | None = Field(None, min_length=1, max_length=library.MAX_NAME)
    description: Text | None = Field(None, max_length=library.MAX_DESCRIPTION)
    visibility: str | None = Field(None, pattern="^(private|lab|public)$")
    group_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)


class SaveIn(BaseModel):
    arxiv_id: Text = Field(min_length=1, max_length=300)
    collection: int | None = Field(None, ge=1, le=MAX_ROW_ID,
                                   description="a collection id; your Reading list if none")
    saved: bool = Field(True, description="false takes the paper out")
    note: Text | None = Field(None, max_length=10_000)
    tags: list[Text] = Field(default_factory=list, max_length=100)


class ItemPatch(BaseModel):
    note: Text | None = Field(None, max_length=10_000)
    tags: list[Text] | None = Field(None, max_length=100)


class ImportIn(BaseModel):
    text: str = Field(min_length=1, max_length=library_jobs.MAX_UPLOAD_CHARS,
                      description="the .bib, .ris or CSL-JSON file's content")
    format: str | None = Field(None, pattern="^(bibtex|ris|csl-json)$",
                               description="guessed from the text when not given")
    keep_unmatched: bool = True


class GroupIn(BaseModel):
    name: Text = Field(min_length=1, max_length=library_groups.MAX_GROUP_NAME)


class InviteIn(BaseModel):
    email: Text = Field(min_length=3, max_length=320)


@router.get("/collections", summary="Your collections and your labs'")
def list_collections(site: SiteDep, user: SignedIn) -> dict[str, Any]:
    return {"collections": [c.to_dict() for c in library.collections_for(site.store, user)]}


@router.post("/collections", summary="Create a collection", status_code=201,
             responses={404: {}, 409: {}})
def create_collection(site: SiteDep, user: VerifiedUser, body: CollectionIn) -> dict[str, Any]:
    with answering():
        return library.create(site.store, user, body.name, description=body.description,
                              visibility=body.visibility, group_id=body.group_id).to_dict()


@router.get("/collections/{collection_id}", summary="A collection and a page of its items")
def get_collection(site: SiteDep, viewer: Viewer, collection_id: Id,
                   order: Annotated[str, Query(pattern="^(added|published|title)$")] = "added",
                   page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> dict[str, Any]:
    with answering():
        got = library.access(site.store, viewer, collection_id)
    return collection_data(site, viewer, got, order, parse_page(str(page)))


@router.patch("/collections/{collection_id}", summary="Rename, describe or share a collection",
              responses={409: {}})
def patch_collection(site: SiteDep, user: SignedIn, collection_id: Id, body: CollectionPatch
                     ) -> dict[str, Any]:
    with answering():
        return library.update(site.store, user, collection_id, name=body.name,
                              description=body.description, visibility=body.visibility,
                              group_id=body.group_id).to_dict()


@router.delete("/collections/{collection_id}",
               summary="Delete a collection (restorable for 30 days)")
def delete_collection(site: SiteDep, user: SignedIn, collection_id: Id) -> dict[str, Any]:
    with answering():
        return library.delete(site.store, user, collection_id).to_dict()


@router.post("/collections/{collection_id}/restore", summary="Undo a deletion",
             responses={409: {}})
def restore_collection(site: SiteDep, user: SignedIn, collection_id: Id) -> dict[str, Any]:
    with answering():
        return library.restore(site.store, user, collection_id).to_dict()


@router.patch("/collections/{collection_id}/items/{item_id}",
              summary="Set an item's note or tags")
def patch_item(site: SiteDep, user: SignedIn, collection_id: Id, item_id: Id,
               body: ItemPatch) -> dict[str, Any]:
    with answering():
        library.edit_item(site.store, user, collection_id, item_id, note=body.note,
                          tags=body.tags)
    return {"collection": collection_id, "item": item_id, "note": body.note,
            "tags": body.tags}


@router.post("/save", summary="Save a paper into a collection (or take it out)",
             responses={404: {}, 409: {}})
def save(site: SiteDep, user: VerifiedUser, body: SaveIn) -> dict[str, Any]:
    arxiv_id = site.visible_id(body.arxiv_id, user)
    with answering():
        return library.save(site.store, user, arxiv_id, body.collection, on=body.saved,
                            note=body.note, tags=body.tags)


@router.get("/saved", summary="Which of these papers you have saved")
def saved(site: SiteDep, viewer: Viewer,
          ids: Annotated[str, Query(max_length=2000,
                                    description="arXiv ids, comma-separated (up to 100)")]
          ) -> dict[str, Any]:
    wanted = [i.strip() for i in ids.split(",") if i.strip()][:MAX_IDS]
    return {"saved": sorted(library.saved_among(site.store, viewer, wanted))}


@router.post("/collections/{collection_id}/import", status_code=202,
             summary="Import a .bib, .ris or CSL-JSON file (runs in the background)",
             responses={409: {}, 429: {}})
def import_file(request: Request, site: SiteDep, user: SignedIn, collection_id: Id,
                body: ImportIn) -> JSONResponse:
    throttled(site, user, "import", IMPORTS_PER_HOUR)
    with answering():
        job = library_jobs.queue_import(site.store, user, collection_id, body.text,
                                        body.format, keep_unmatched=body.keep_unmatched)
    site.wake()
    url = f"/api/library/jobs/{job.id}"
    return JSONResponse({**job.to_dict(), "status_url": url,
                         "page_url": f"/library/jobs/{job.id}"}, status_code=202,
                        headers={"Location": url})


@router.get("/jobs/{job_id}", summary="An import's progress and result")
def get_job(site: SiteDep, user: SignedIn, job_id: Id) -> dict[str, Any]:
    return job_data(site, user, job_id)


@router.get("/groups", summary="Your groups")
def list_groups(site: SiteDep, user: SignedIn) -> dict[str, Any]:
    return {"groups": [{"id": g["id"], "name": g["name"], "role": g["role"]}
                       for g in site.store.groups_of(user.id)]}


@router.post("/groups", summary="Create a group (you are its owner)", status_code=201,
             responses={409: {}})
def create_group(site: SiteDep, user: VerifiedUser, body: GroupIn) -> dict[str, Any]:
    with answering():
        group_id = library_groups.create_group(site.store, user, body.name)
        return library_groups.group_data(site.store, user, group_id)


@router.get("/groups/{group_id}", summary="A group and its members")
def get_group(site: SiteDep, user: SignedIn, group_id: Id) -> dict[str, Any]:
    with answering():
        return library_groups.group_data(site.store, user, group_id)


@router.post("/groups/{group_id}/invites", status_code=202, responses={429: {}},
             summary="Invite an address by e-mail (the same answer for any address)")
def post_invite(request: Request, user: SignedIn, group_id: Id, body: InviteIn
                ) -> dict[str, Any]:
    return invite(request, group_id, body.email)
