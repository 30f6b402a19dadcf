"""Code and project links of a paper: found in its abstract and comments, or given by a signal.

arXiv has no field for a paper's code, so authors write it into the abstract or the
comments ("Code: https://github.com/o/r."). A *code* link is a repository on a code host;
a *project* link is a page on a static-site host (``*.github.io``) or one the text
introduces as a project page, website, homepage or demo. Repository URLs are normalised
to ``https://github.com/owner/repo`` so the same repository written two ways (``.git``,
``/tree/main``, ``www.``, a full stop after it) is one link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["CODE_HOSTS", "MAX_URL", "CodeLink", "find_links", "merge_links", "normalise_url"]

# Hosts whose first two path segments name a repository.
CODE_HOSTS = frozenset({"github.com", "gitlab.com", "bitbucket.org", "codeberg.org"})
# Code shared for review without the authors' names: a repository, but no owner/repo path.
_ANONYMOUS_CODE = frozenset({"anonymous.4open.science"})
_PAGE_SUFFIXES = (".github.io", ".gitlab.io")
_PROJECT_WORDS = re.compile(r"(project|webpage|web page|website|homepage|home page|demo|page)"
                            r"\W{0,4}(is\W{0,4})?(available\W{0,4})?(at|on)?\W{0,4}$", re.I)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'{}|\\^`\[\]]+", re.I)
# A URL that ends a sentence or sits in brackets keeps none of that punctuation.
_TRAILING = ".,;:!?)]}'\"*"
MAX_URL = 500


@dataclass(frozen=True)
class CodeLink:
    """One link: its normalised URL, "code" or "project", the host, the repository's stars
    when a signal gave them, and where it was found ("abstract", "comments", "hf-daily")."""

    url: str
    kind: str
    host: str
    source: str
    stars: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"url": self.url, "kind": self.kind, "host": self.host, "stars": self.stars,
                "source": self.source}


def normalise_url(raw: str) -> tuple[str, str, str] | None:
    """(url, kind, host) of a code or project link, or None for any other URL."""
    text = raw.strip().rstrip(_TRAILING)
    if text.lower().startswith("www."):
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.scheme.lower() not in ("http", "https") or not host or len(text) > MAX_URL:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if host in CODE_HOSTS:
        if len(segments) < 2:
            return None  # a user or organisation page, not a repository
        owner, repo = segments[0], segments[1].removesuffix(".git")
        if not repo:
            return None
        return f"https://{host}/{owner}/{repo}", "code", host
    if host in _ANONYMOUS_CODE:
        return (f"https://{host}/{'/'.join(segments[:2])}", "code", host) if segments else None
    if host.endswith(_PAGE_SUFFIXES):
        path = "/".join(segments)
        return f"https://{host}/{path}" if path else f"https://{host}", "project", host
    return None


def find_links(text: str | None, source: str) -> list[CodeLink]:
    """The code and project links written in ``text``, first mention first, each once."""
    if not text:
        return []
    found: dict[str, CodeLink] = {}
    for match in _URL.finditer(text):
        known = normalise_url(match.group(0))
        if known is None:
            url = match.group(0).rstrip(_TRAILING)
            before = text[max(0, match.start() - 40):match.start()]
            if not _PROJECT_WORDS.search(before) or len(url) > MAX_URL:
                continue
            host = (urlsplit(url if "://" in url else "https://" + url).hostname or "")
            known = (url if "://" in url else "https://" + url, "project",
                     host.lower().removeprefix("www."))
        url, kind, host = known
        found.setdefault(url, CodeLink(url, kind, host, source))
    return list(found.values())


def merge_links(groups: Iterable[Iterable[CodeLink]]) -> list[CodeLink]:
    """One link per URL across sources, code before project; stars from whichever source
    gave them (only a signal does)."""
    merged: dict[str, CodeLink] = {}
    for group in groups:
        for link in group:
            kept = merged.get(link.url)
            if kept is None:
                merged[link.url] = link
            elif kept.stars is None and link.stars is not None:
                merged[link.url] = CodeLink(kept.url, kept.kind, kept.host, kept.source,
                                            link.stars)
    return sorted(merged.values(), key=lambda link: link.kind != "code")
