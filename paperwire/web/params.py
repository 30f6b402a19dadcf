"""Query and form parameters, parsed and bounded, with a 400 that names what is wrong."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from paperwire.search import MAX_QUERY_CHARS, MODES, SORTS

MAX_PAGE = 10_000
FIRST_DAY = date(1990, 1, 1)  # before arXiv; a day outside these is a typo, not a query
LAST_DAY = date(2100, 12, 31)
MAX_FORM_BYTES = 256 * 1024  # our forms are a few fields; a bigger body is not one of ours
MAX_FORM_FIELDS = 200
MAX_NEXT = 2000
MAX_AUTHOR = 300
MAX_CATEGORIES = 50


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, message)


def parse_day(text: str, name: str = "date") -> date:
    """A day written YYYY-MM-DD, between FIRST_DAY and LAST_DAY."""
    try:
        day = date.fromisoformat(text) if len(text) <= 10 else None
    except ValueError:
        day = None
    if day is None:
        raise bad_request(f"{name} must be a day written YYYY-MM-DD (got {text[:40]!r})")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise bad_request(f"{name} must be a day from {FIRST_DAY} to {LAST_DAY} (got {day})")
    return day


def parse_page(text: str | None) -> int:
    """A 1-based page number up to MAX_PAGE (None or "" is page 1)."""
    if not text:
        return 1
    # Digits are counted before int(): a 100,000-digit number must not cost a conversion.
    if (not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_PAGE))
            or not 1 <= int(text) <= MAX_PAGE):
        raise bad_request(f"page must be a whole number from 1 to {MAX_PAGE:,} "
                          f"(got {text[:40]!r})")
    return int(text)


def check_choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise bad_request(f"unknown {name} {value[:40]!r} (choose {', '.join(choices)})")
    return value


def split_words(text: str) -> tuple[str, ...]:
    """Words separated by commas or spaces ("cs.CL, cs.LG" -> ("cs.CL", "cs.LG"))."""
    return tuple(text.replace(",", " ").split())


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
    if author and len(author) > MAX_AUTHOR:
        raise bad_request(f"author may be {MAX_AUTHOR} characters long at most")
    since = parse_day(q["since"], "since") if q.get("since") else None
    until = parse_day(q["until"], "until") if q.get("until") else None
    sort = check_choice(q.get("sort") or "relevance", "sort", SORTS)
    mode = check_choice(q["mode"], "mode", MODES) if q.get("mode") else None
    return {"q": text, "categories": tuple(dict.fromkeys(categories)),
            "since": since, "until": until, "author": author,
            "sort": sort, "mode": mode, "page": parse_page(q.get("page"))}


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form body as {name: first value}; 400 when it is not one."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise bad_request("expected a form (application/x-www-form-urlencoded)")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise bad_request("the form is too large")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise bad_request("the form could not be read") from None
    return {k: v[0] for k, v in parsed.items()}


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
