"""A digest's parts and its mail: sections of papers, and their plain-text and HTML renderings
(paperwire.digest composes them, then sends)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from html import escape

from paperwire.models import Paper, Subscription, paper_day


@dataclass(frozen=True)
class Section:
    title: str
    papers: tuple[Paper, ...]
    feed_url: str | None = None
    link_label: str = "Follow this search as a feed"  # what the section's link opens
    # A For-you section's lines under each paper: why, and its one-click "not interested".
    notes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # What happened to a paper, said on its line ("updated to v3"), by arXiv id.
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Digest:
    subscription: Subscription
    period: str
    as_of: date
    key: str
    sections: tuple[Section, ...]
    recommended: tuple[tuple[int, str], ...] = ()  # (profile, paper) for the shown ledger

    @property
    def empty(self) -> bool:
        return not any(s.papers for s in self.sections)

    @property
    def paper_ids(self) -> tuple[str, ...]:
        return tuple(p.arxiv_id for s in self.sections for p in s.papers)


def _authors(paper: Paper) -> str:
    return ", ".join(paper.authors[:4]) + (" et al." if len(paper.authors) > 4 else "")


def _facts(paper: Paper, *, day: bool = True, label: str = "") -> str:
    """"2501.00001 · cs.CL cs.IR · 2025-01-02": what is known, joined, so a paper with no
    categories (a vote signal's) leaves no dangling "·"; ``label`` ends it."""
    when = paper_day(paper) if day else None
    parts = (paper.arxiv_id, " ".join(paper.categories[:4]), when.isoformat() if when else "",
             label)
    return " · ".join(p for p in parts if p)


def render_text(digest: Digest, base: str, unsubscribe: str) -> str:
    lines = [f"Your paperwire {digest.period} digest, as of {digest.as_of.isoformat()}.", ""]
    for section in digest.sections:
        if not section.papers:
            continue
        lines += [section.title, "=" * min(len(section.title), 72), ""]
        for n, paper in enumerate(section.papers, 1):
            label = section.labels.get(paper.arxiv_id, "")
            lines += [f"{n}. {paper.title}", f"   {_authors(paper)}",
                      f"   {_facts(paper, label=label)}", f"   {base}/papers/{paper.arxiv_id}"]
            if paper.arxiv_id in section.notes:
                why, link = section.notes[paper.arxiv_id]
                lines += [f"   {why}"] if why else []
                lines += [f"   Not interested: {link}"]
            lines += [""]
        if section.feed_url:
            lines += [f"{section.link_label}: {section.feed_url}", ""]
    lines += ["--", "You receive this because this address subscribed at " + base + ".",
              f"Unsubscribe (one click): {unsubscribe}", ""]
    return "\n".join(lines)


_P = "margin:0 0 4px 0;"
_SMALL = "color:#555;font-size:13px;margin:0 0 14px 0;"


def render_html(digest: Digest, base: str, unsubscribe: str) -> str:
    """Inline styles only and no images: mail clients drop <style> and block remote images."""
    out = ['<!DOCTYPE html><html><body style="font-family:Helvetica,Arial,sans-serif;'
           'max-width:640px;margin:0 auto;padding:16px;color:#111;">',
           f'<p style="{_SMALL}">Your paperwire {escape(digest.period)} digest, as of '
           f'{digest.as_of.isoformat()}.</p>']
    for section in digest.sections:
        if not section.papers:
            continue
        out.append(f'<h2 style="font-size:18px;border-bottom:1px solid #ddd;'
                   f'padding-bottom:4px;">{escape(section.title)}</h2>')
        for paper in section.papers:
            url = escape(f"{base}/papers/{paper.arxiv_id}", quote=True)
            label = section.labels.get(paper.arxiv_id, "")
            facts = " · ".join(filter(None, (_authors(paper),
                                             _facts(paper, day=False, label=label))))
            out.append(f'<p style="{_P}"><a href="{url}" style="color:#1a4fa0;font-weight:bold;'
                       f'text-decoration:none;">{escape(paper.title)}</a></p>'
                       f'<p style="{_SMALL}">'
                       f'{escape(facts)}'
                       '</p>')
            if paper.arxiv_id in section.notes:
                why, link = section.notes[paper.arxiv_id]
                out.append(f'<p style="{_SMALL}">{escape(why)} · <a href="'
                           f'{escape(link, quote=True)}" style="color:#555;">Not interested'
                           '</a></p>')
        if section.feed_url:
            feed = escape(section.feed_url, quote=True)
            out.append(f'<p style="{_SMALL}"><a href="{feed}" style="color:#555;">'
                       f'{escape(section.link_label)}</a></p>')
    link = escape(unsubscribe, quote=True)
    out.append(f'<p style="{_SMALL}border-top:1px solid #ddd;padding-top:8px;">You receive '
               f'this because this address subscribed at {escape(base)}. '
               f'<a href="{link}" style="color:#555;">Unsubscribe</a></p></body></html>')
    return "\n".join(out)
