"""Regressions found by fuzzing and review: each input once crashed a code path."""

from __future__ import annotations

import pytest

from paperwire.models import Filters
from paperwire.search import QueryError, check_filters


@pytest.mark.parametrize("author", ["%", "-", ".", " ", "--"])
def test_an_author_with_no_words_is_a_clear_query_error(author: str) -> None:
    # Once built tantivy's phrase_query([]) and answered 500 on /search and /api/search.
    with pytest.raises(QueryError, match="no letters or digits"):
        check_filters(Filters(author=author))


def test_an_author_with_words_passes() -> None:
    check_filters(Filters(author="Hinton"))
