"""Query and form parameters are bounded, and a bad one is a 400 naming what is wrong."""

from __future__ import annotations

from datetime import date

import pytest
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from paperwire.web.params import (
    MAX_PAGE,
    check_choice,
    parse_day,
    parse_page,
    safe_next,
    search_args,
)


def _refused(call: object, *args: object) -> str:
    with pytest.raises(HTTPException) as caught:
        call(*args)  # type: ignore[operator]
    assert caught.value.status_code == 400
    return str(caught.value.detail)


def test_days_are_iso_and_within_bounds() -> None:
    assert parse_day("2025-12-24") == date(2025, 12, 24)
    assert parse_day("1990-01-01") == date(1990, 1, 1)
    assert "since must be a day from 1990-01-01" in _refused(parse_day, "1989-12-31", "since")
    assert "2100-12-31" in _refused(parse_day, "2101-01-01")
    assert "YYYY-MM-DD" in _refused(parse_day, "24.12.2025")
    assert "YYYY-MM-DD" in _refused(parse_day, "2025-12-24" + "0" * 10_000)


def test_pages_are_whole_numbers_up_to_the_bound() -> None:
    assert parse_page(None) == parse_page("") == 1
    assert parse_page(str(MAX_PAGE)) == MAX_PAGE
    for bad in ("0", str(MAX_PAGE + 1), "-1", "1.5", "٣", "9" * 100_000):
        assert "page must be a whole number from 1 to 10,000" in _refused(parse_page, bad)


def test_choices_search_args_and_next() -> None:
    assert "choose day, week" in _refused(check_choice, "year", "period", ("day", "week"))
    args = search_args(QueryParams("q=graphs&category=cs.CL,cs.LG&category=cs.CL&page=2"))
    assert args["categories"] == ("cs.CL", "cs.LG") and args["page"] == 2
    assert "1,000 characters" in _refused(search_args, QueryParams({"q": "x" * 1001}))
    assert "at most 50 categories" in _refused(
        search_args, QueryParams([("category", f"c{n}") for n in range(51)]))
    assert safe_next("/about?x=1") == "/about?x=1"
    assert safe_next("//evil.example") == safe_next("/" + "a" * 3000) == "/"
