"""Query and form parameters are bounded, and a bad one is a 400 naming what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from paperwire.cli import cli
from paperwire.models import FIRST_DAY, LAST_DAY
from paperwire.trending import window
from paperwire.web.params import (
    MAX_PAGE,
    ParamError,
    check_choice,
    check_text,
    parse_day,
    parse_int,
    parse_page,
    safe_next,
    search_args,
)
from tests.app import make_app
from tests.helpers import call_api, paper, post_form


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


def test_control_characters_are_refused_by_name() -> None:
    assert check_text("two\tlines\r\nok", "note") == "two\tlines\r\nok"
    for bad in ("\x00", "a\x1fb", "\x7f"):
        assert "reason must not contain control characters" in _refused(check_text, bad,
                                                                          "reason")


# --- the parsers' property: any text gives a value within bounds, or a 400 naming the
# parameter; never another exception ------------------------------------------------------
def _holds(parse: Callable[[str], object], name: str, text: str) -> object:
    try:
        return parse(text)
    except ParamError as exc:
        assert exc.status_code == 400 and exc.name == name and name in str(exc.detail)
        return None


@given(st.one_of(st.text(), st.from_regex(r"\A[0-9]{1,6000}\Z"),
                 st.integers(-10**30, 10**30).map(str)))
def test_any_text_is_a_bounded_int_or_a_named_400(text: str) -> None:
    value = _holds(lambda t: parse_int(t, "offset", 0, 5000), "offset", text)
    assert value is None or (isinstance(value, int) and 0 <= value <= 5000)
    page = _holds(parse_page, "page", text)
    assert page is None or (isinstance(page, int) and 1 <= page <= MAX_PAGE)


@given(st.one_of(st.text(), st.dates().map(date.isoformat)))
def test_any_text_is_a_bounded_day_or_a_named_400(text: str) -> None:
    day = _holds(lambda t: parse_day(t, "until"), "until", text)
    assert day is None or (isinstance(day, date) and FIRST_DAY <= day <= LAST_DAY)
    if isinstance(day, date):  # every day the parser lets through makes a window
        for period in ("day", "week", "month"):
            since, until = window(day, period)
            assert since <= day <= until


@given(st.text())
def test_any_text_is_clean_or_a_named_400(text: str) -> None:
    assert _holds(lambda t: check_text(t, "q"), "q", text) in (text, None)


# --- days past the bounds: trending, the API, pages, feeds and the CLI -----------------------
def test_trending_windows_refuse_days_out_of_range() -> None:
    for day in (date.max, LAST_DAY + timedelta(days=1), date.min):
        for period in ("day", "week", "month"):
            with pytest.raises(ValueError, match="date must be a day from 1990-01-01"):
                window(day, period)


def test_last_day_of_the_range_is_served_everywhere_and_the_next_is_a_400(
        tmp_path: Path) -> None:
    with make_app(tmp_path, papers=[paper()]) as site:
        client = site.client(raise_server_exceptions=False)
        for url in ("/api/trending?date={}&period=week", "/date/{}?period=month",
                    "/feeds/trending.atom?date={}&period=week", "/api/search?q=a&since={}",
                    "/api/search?q=a&until={}"):
            assert client.get(url.format(LAST_DAY)).status_code == 200, url
            answer = client.get(url.format("9999-12-31"))
            assert answer.status_code == 400, (url, answer.text[:200])
            assert "must be a day from 1990-01-01 to 2100-12-31" in answer.text


@pytest.mark.parametrize("url", [
    "/api/trending?page={}", "/api/search?q=a&page={}", "/api/search?q=a&per_page={}",
    "/search?q=a&page={}", "/date/2025-01-02?page={}", "/feeds/trending.atom?page={}",
    "/api/submissions/{}/hide", "/submissions/{}/hide"])
def test_integers_with_5000_digits_are_a_400(tmp_path: Path, url: str) -> None:
    with make_app(tmp_path, users=[("mod@example.org", "moderator", "Mo")]) as site:
        client = site.client(signed_in="mod@example.org", raise_server_exceptions=False)
        target = url.format("9" * 5000)
        if target.startswith("/api/") and target.endswith("/hide"):
            answer = call_api(client, "POST", target, json={"reason": "spam"})
        elif target.endswith("/hide"):
            answer = post_form(client, target, {"reason": "spam"})
        else:
            answer = client.get(target)
    assert answer.status_code == 400, (url, answer.status_code, answer.text[:200])
    assert "Traceback" not in answer.text
    assert ("page" if "page" in url else "submission_id") in answer.text


def test_cli_refuses_days_out_of_range_in_one_line(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    for args in (["trending", "--date", "9999-12-31"],
                 ["trending", "--period", "week", "--date", "9999-12-31"],
                 ["search", "--since", "9999-12-31", "graphs"]):
        result = CliRunner().invoke(cli, ["--home", home, *args])
        assert result.exit_code == 2, (args, result.output, result.exception)
        assert result.output.strip().count("\n") == 0, result.output
        assert "must be a day from 1990-01-01 to 2100-12-31" in result.output


@pytest.mark.parametrize("author", ["%", "-", "."])
def test_cli_author_without_a_name_is_one_line(tmp_path: Path, author: str) -> None:
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "search", "--author",
                                      author, "graphs"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.output.strip() == f"error: author {author!r} has no letters or digits to " \
                                    "match"
