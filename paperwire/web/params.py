"""Query, path and form parameters, parsed and bounded, with a 400 that names what is wrong.

Every parameter the site reads goes through here: pages and forms call the parsers below,
the JSON API declares its parameters with the annotated types (``ApiDay``, ``ApiPage``…)
that run the same checks inside FastAPI, and ``clean_parameters`` (an app-wide dependency)
refuses control characters in any query or path parameter before a view sees it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from pydantic import AfterValidator
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from paperwire.models import FIRST_DAY, LAST_DAY, check_day
from paperwire.search import MAX_QUERY_CHARS, MODES, SORTS

__all__ = ["FIRST_DAY", "LAST_DAY", "MAX_PAGE", "ParamError", "parse_day", "parse_int",
           "parse_page", "check_text"]

MAX_PAGE = 10_000
MAX_ROW_ID = 2**31 - 1  # the largest id a stored row (submission, token) can have
MAX_FORM_BYTES = 256 * 1024  # our forms are a few fields; a bigger body is not one of ours
MAX_FORM_FIELDS = 200
MAX_NEXT = 2000
MAX_AUTHOR = 300
MAX_CATEGORIES = 50
# C0 controls but tab, newline and carriage return, and DEL: PostgreSQL refuses NUL in text,
# XML cannot carry the rest, and no form or query of ours has a use for them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ParamError(HTTPException):
    """A 400 for one bad parameter; ``name`` is the parameter, and the message names it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(400, message)
        self.name = name


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, message)


def parse_day(text: str, name: str = "date") -> date:
    """A day written YYYY-MM-DD, between FIRST_DAY and LAST_DAY."""
    try:
        day = date.fromisoformat(text) if len(text) <= 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ParamError(name, f"{name} must be a day written YYYY-MM-DD (got {text[:40]!r})")
    try:
        return check_day(day, name)
    except ValueError as exc:
        raise ParamError(name, str(exc)) from None


def parse_int(text: str, name: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` written in ASCII digits."""
    # Digits are counted before int(): a 100,000-digit number must not cost a conversion.
    if (not text.isascii() or not text.isdigit() or len(text) > len(str(high))
            or not low <= int(text) <= high):
        raise ParamError(name, f"{name} must be a whole number from {low:,} to {high:,} "
                               f"(got {text[:40]!r})")
    return int(text)


def parse_page(text: str | None, name: str = "page") -> int:
    """A 1-based page number up to MAX_PAGE (None or "" is page 1)."""
    return parse_int(text, name, 1, MAX_PAGE) if text else 1


def check_text(value: str, name: str) -> str:
    """``value`` when it holds no control character (tab and line breaks are fine)."""
    found = _CONTROL.search(value)
    if found:
        raise ParamError(name, f"{name} must not contain control characters "
                               f"(found {found.group()!r})")
    return value


async def clean_parameters(request: Request) -> None:
    """Every query and path parameter, refused with a 400 naming it when it holds a control
    character: the app's one dependency on every route, so none can reach the store."""
    for name, value in request.query_params.multi_items():
        check_text(name, "a parameter name")
        check_text(value, name)
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_text(value, name)


# --- the JSON API's parameter types: the same checks, run by FastAPI (a ValueError there is
# a 400 that names the parameter, see app._bad_parameters) -------------------------------
def _day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be a day from {FIRST_DAY} to {LAST_DAY} (got {value})")
    return value


def _text(value: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise ValueError(f"must not contain control characters (found {found.group()!r})")
    return value


ApiDay = Annotated[date, AfterValidator(_day)]
Text = Annotated[str, AfterValidator(_text)]


def check_choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise bad_request(f"unknown {name} {value[:40]!r} (choose {', '.join(choices)})")
    return value


def split_words(text: str) -> tuple[str, ...]:
    """Words separated by commas or spaces ("cs.CL, cs.LG" -> ("cs.CL", "cs.LG"))."""
    return tuple(text.replace(",", " ").split())


# ``author:"Ada Lovelace"`` or ``author:ada-lovelace`` inside q, as search boxes have it.
AUTHOR_IN_QUERY = re.compile(r'(?:^|\s)author:(?:"([^"]*)"|(\S+))')


def author_in_query(text: str) -> tuple[str, str | None]:
    """q without its ``author:`` term, and the author it names (None without one)."""
    found = AUTHOR_IN_QUERY.search(text)
    if found is None:
        return text, None
    name = (found.group(1) if found.group(1) is not None else found.group(2)).strip()
    return " ".join((text[:found.start()] + " " + text[found.end():]).split()), name or None


def search_args(q: QueryParams) -> dict[str, Any]:
    """Search parameters from a query string, checked, with a helpful 400 when not."""
    categories: list[str] = []
    for value in q.getlist("category"):
        categories += split_words(value)
    if len(categories) > MAX_CATEGORIES:
        raise bad_request(f"give at most {MAX_CATEGORIES} categories (got {len(categories)})")
    text, author = q.get("q", ""), q.get("author") or None
    if len(text) > MAX_QUERY_CHARS:
        raise bad_request(f"q may be {MAX_QUERY_CHARS:,} characters long at most "
                          f"(got {len(text):,})")
    if author is None:
        text, author = author_in_query(text)
    if author and len(author) > MAX_AUTHOR:
        raise bad_request(f"author may be {MAX_AUTHOR} characters long at most")
    since = parse_day(q["since"], "since") if q.get("since") else None
    until = parse_day(q["until"], "until") if q.get("until") else None
    sort = check_choice(q.get("sort") or "relevance", "sort", SORTS)
    mode = check_choice(q["mode"], "mode", MODES) if q.get("mode") else None
    collection = (parse_int(q["collection"], "collection", 1, MAX_ROW_ID)
                  if q.get("collection") else None)
    mine = check_choice(q["library"], "library", ("mine",)) == "mine" if q.get("library") \
        else False
    code = check_choice(q["code"], "code", ("1", "0")) == "1" if q.get("code") else False
    return {"q": text, "categories": tuple(dict.fromkeys(categories)),
            "collection": collection, "mine": mine, "code": code,
            "since": since, "until": until, "author": author,
            "sort": sort, "mode": mode, "page": parse_page(q.get("page"))}


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body as {name: first value}; 400 when it is not one."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise bad_request("expected a form (application/x-www-form-urlencoded)")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, f"a form may be {MAX_FORM_BYTES // 1024} KiB at most")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise bad_request("the form could not be read") from None
    # Form fields are what gets stored (reasons, notes, names): no control characters.
    return {check_text(k, "a field name"): check_text(v[0], k) for k, v in parsed.items()}


# A path on this site: one leading slash, then no slash or backslash, and nothing a browser
# strips or bends (whitespace, controls), so "//evil.example" and "/\t/evil" never pass.
_LOCAL_PATH = re.compile(r"/(?:[^/\\\s\x00-\x1f\x7f][^\\\s\x00-\x1f\x7f]*)?")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never //host or a URL)."""
    if not target or len(target) > MAX_NEXT or not _LOCAL_PATH.fullmatch(target):
        return "/"
    return target


def back_url(request: Request, fallback: str) -> str:
    """The same-site page a form was on (from Referer), else ``fallback``."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return fallback
    path = referer.path + (f"?{referer.query}" if referer.query else "")
    return path if safe_next(path) == path else fallback
