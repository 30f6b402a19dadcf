"""Read-only listings for the web: papers of a day (or week, month), and the days that have any.

A paper belongs to the day it was first listed, else the day it was published (the same rule
as ``models.paper_day``). The rule is written as two range conditions rather than
``COALESCE(listed_on, DATE(published))`` because casting a timestamp to a date is spelled
differently by SQLite and PostgreSQL, and ranges can use the indexes on both columns.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from paperwire.models import Paper
from paperwire.store.papers import row_to_paper
from paperwire.store.schema import hidden_papers, paper_categories, papers


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min)


def _in_days(since: date | None, until: date | None) -> Any:
    """The condition "the paper's day lies in [since, until]" (either end may be open)."""
    listed: list[ColumnElement[bool]] = [papers.c.listed_on.is_not(None)]
    published: list[ColumnElement[bool]] = [papers.c.listed_on.is_(None),
                                            papers.c.published.is_not(None)]
    if since is not None:
        listed.append(papers.c.listed_on >= since)
        published.append(papers.c.published >= _midnight(since))
    if until is not None:
        listed.append(papers.c.listed_on <= until)
        published.append(papers.c.published < _midnight(until + timedelta(days=1)))
    return or_(and_(*listed), and_(*published))


def _in_category(category: str) -> Any:
    """Any of the paper's categories is ``category``, or, for an archive (``cs``), in it."""
    wanted = paper_categories.c.category == category
    if "." not in category:
        wanted = or_(wanted, paper_categories.c.category.like(f"{category}.%"))
    return papers.c.id.in_(select(paper_categories.c.paper_id).where(wanted))


def papers_between(conn: Connection, since: date | None, until: date | None, *,
                   category: str | None = None, limit: int = 30, offset: int = 0
                   ) -> tuple[list[Paper], int]:
    """A page of the papers whose day lies in [since, until], newest first, and their total."""
    # Papers a moderator hid leave every listing until unhidden.
    where = [_in_days(since, until), papers.c.id.not_in(select(hidden_papers.c.paper_id))]
    if category:
        where.append(_in_category(category))
    total = conn.execute(select(func.count()).select_from(papers).where(*where)).scalar_one()
    # Newest first: by listing day, then submission time; id breaks ties so pages are stable.
    rows = conn.execute(
        select(papers).where(*where)
        .order_by(papers.c.listed_on.desc().nulls_last(), papers.c.published.desc().nulls_last(),
                  papers.c.id.desc())
        .limit(limit).offset(offset))
    return [row_to_paper(row) for row in rows], int(total)


def day_before(conn: Connection, day: date) -> date | None:
    """The latest day before ``day`` that has papers, if any."""
    listed = conn.execute(select(func.max(papers.c.listed_on))
                          .where(papers.c.listed_on < day)).scalar_one()
    published = conn.execute(select(func.max(papers.c.published)).where(
        papers.c.listed_on.is_(None), papers.c.published < _midnight(day))).scalar_one()
    found = [d for d in (listed, published.date() if published else None) if d is not None]
    return max(found) if found else None


def day_after(conn: Connection, day: date) -> date | None:
    """The earliest day after ``day`` that has papers, if any."""
    listed = conn.execute(select(func.min(papers.c.listed_on))
                          .where(papers.c.listed_on > day)).scalar_one()
    published = conn.execute(select(func.min(papers.c.published)).where(
        papers.c.listed_on.is_(None),
        papers.c.published >= _midnight(day + timedelta(days=1)))).scalar_one()
    found = [d for d in (listed, published.date() if published else None) if d is not None]
    return min(found) if found else None


def latest_day(conn: Connection) -> date | None:
    """The newest day that has papers (None for an empty store)."""
    return day_before(conn, date.max)


def latest_listing_day(conn: Connection) -> date | None:
    """The newest day that has a paper arXiv listed, one with a category: a day holding only
    papers a vote signal brought in (Hugging Face's daily papers carry no category, and come
    in on days arXiv announces nothing) is not one. None when no paper has a category."""
    listed = conn.execute(select(func.max(papers.c.listed_on)).where(
        papers.c.primary_category != "")).scalar_one()
    published = conn.execute(select(func.max(papers.c.published)).where(
        papers.c.listed_on.is_(None), papers.c.primary_category != "")).scalar_one()
    found = [d for d in (listed, published.date() if published else None) if d is not None]
    return max(found) if found else None
