"""The OpenAPI document at /api/openapi.json, made to say what the API really answers.

FastAPI documents a 422 ``HTTPValidationError`` on every operation with parameters; this API
answers a bad parameter with 400 and the site's error object (``Error``: error, status,
title). ``openapi_document`` replaces the 422s with that, and adds to each operation the
errors that can reach it: 400 always (every parameter is checked), 401 always (an invalid
Bearer token is refused on any route), 403 where a method needs a CSRF token or a role, 404
where a path names something, 413 where a body is read, and what a route declares itself in
``responses`` (given there without a body, the Error schema is filled in).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error", "type": "object", "required": ["error", "status", "title"],
    "properties": {"error": {"type": "string", "description": "what is wrong, in words"},
                   "status": {"type": "integer", "description": "the HTTP status again"},
                   "title": {"type": "string", "description": "the status in words"}}}
DESCRIPTIONS = {
    400: "A parameter or the body is not valid; `error` names it",
    401: "Not signed in, or the Bearer token is not valid",
    403: "Not allowed: no CSRF token with a session cookie, or a role or confirmed address "
         "is missing",
    404: "No such thing on this instance",
    409: "The request conflicts with what is stored",
    413: "The request body is longer than PAPERWIRE_MAX_BODY_BYTES",
    429: "Too many tries; wait a moment",
    502: "An upstream service (arXiv) could not be reached",
}
UNSAFE = {"post", "put", "patch", "delete"}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document (built once, then kept on the app as FastAPI does)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Error"] = ERROR_SCHEMA
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            _add_errors(operation, _errors_of(method, operation))
    app.openapi_schema = schema
    return schema


def _errors_of(method: str, operation: dict[str, Any]) -> set[int]:
    # Read from the operation itself, so the errors follow its parameters and body: every
    # parameter is checked (400); an invalid token is refused anywhere (401); an unsafe
    # method needs a CSRF token or a role (403) and may send a body (413); a path names
    # something that may not exist (404).
    codes = {400, 401}
    if method in UNSAFE:
        codes |= {403, 413}
    if "requestBody" in operation:
        codes.add(413)
    if any(p.get("in") == "path" for p in operation.get("parameters", ())):
        codes.add(404)
    return codes


def _add_errors(operation: dict[str, Any], codes: set[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    for code in codes:
        responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
    for status, response in responses.items():
        if status[0] in "45":
            response.setdefault("description", DESCRIPTIONS.get(int(status), "An error"))
            response["content"] = {"application/json": {"schema": _ERROR_REF}}
