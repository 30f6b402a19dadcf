"""What every view shares: the Site, its view cache, and the error and notice pages."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.responses import Response

from paperwire.background import Runner
from paperwire.convergence import IndexSync
from paperwire.errors import InvalidRecord
from paperwire.for_you_models import space_ready
from paperwire.for_you_rank import Recommender, product_corpus
from paperwire.mail import Mailer, mailer_for
from paperwire.models import User, parse_arxiv_id
from paperwire.search import Searcher
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.web.cards import KeptMarkup
from paperwire.web.mathtext import install as install_math_filters
from paperwire.web.renderers import (
    Page,
    PageKeeper,
    Registry,
    default_formats,
    format_of,
    render,
)

HERE = Path(__file__).parent
STATIC = HERE / "static"
TITLES = {400: "Bad request", 401: "Sign in first", 403: "Not allowed", 404: "Not found",
          405: "Method not allowed", 413: "Too large", 429: "Too many tries",
          500: "Something went wrong", 503: "Temporarily unavailable"}
# Every 429 and 503 says when to come back; these are for answers whose cause gave no time
# of its own (a damaged index rebuilt by `paperwire index`); a cause that knows sets its own.
RETRY_AFTER_S = {429: 60, 503: 30}

log = logging.getLogger(__name__)


class Site:
    """What every view needs: settings, the store, templates, formats and the (lazy)
    searcher."""

    def __init__(self, settings: Settings, store: Store,
                 formats: Registry | None = None) -> None:
        self.settings = settings
        self.store = store
        self.formats = formats if formats is not None else default_formats()
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html", "xml"], default=True),
            # Templates ship with the package: not a stat of each one a page uses per request.
            trim_blocks=True, lstrip_blocks=True, auto_reload=False)
        self.templates.globals["static"] = self.static_url
        self.templates.filters["highlight"] = highlight
        install_math_filters(self.templates)
        # Cards of ~2 KB each: 4,096 hold a few hundred listings' worth (~10 MB).
        kept = KeptMarkup(self.templates, ViewCache(4096))
        self.templates.globals.update(card_html=kept.card, kept=kept.macro)
        self._searcher: Searcher | None = None
        self._refreshed: Hashable = None  # the index version the searcher last reloaded at
        self._lock = threading.Lock()
        self._asset_versions: dict[str, str] = {}
        self.cache = ViewCache()
        # Rendered pages kept by Page.kept (web.kept_pages.KeptPages, set by create_app).
        self.page_keeper: PageKeeper | None = None
        # Requests only queue mail; the runner (started in the app's lifespan when
        # PAPERWIRE_QUEUE_RUNNER=web) delivers it, woken at once when this process queued.
        self.runner: Runner | None = None
        # Keeps this home's indexes in step with the database (convergence.py; lifespan).
        self.index_sync: IndexSync | None = None
        self.mailer: Mailer = mailer_for(store, on_queued=self.wake)
        # For you: one corpus (with what it read of papers) and the profiles' trained models,
        # for as long as the indexes stay at one version.
        self._recommender: tuple[Hashable, Recommender] | None = None

    def wake(self) -> None:
        """Something was queued: this process's runner (if it has one) looks now."""
        if self.runner is not None:
            self.runner.wake()

    @property
    def searcher(self) -> Searcher:
        """The searcher, holding the newest committed indexes (see ``index_version``)."""
        return self._current()[0]

    def index_version(self) -> Hashable:
        """The versions of the keyword and vector indexes a view may read (a cache key part);
        a couple of file stats, and never loads the model."""
        return self._current()[1]

    def _current(self) -> tuple[Searcher, Hashable]:
        # Built on first use and kept: the embedder inside loads once per app, not per request.
        if self._searcher is None:
            with self._lock:
                if self._searcher is None:
                    self._searcher = Searcher.from_settings(self.settings, self.store)
        searcher = self._searcher
        # Reopening the keyword index costs ~0.15 ms; it is done only when a writer (this
        # host's IndexSync, `paperwire index`) has committed since, which the version shows.
        # The version is read before the reload, so a commit landing during it is picked up
        # by the next request, and a page cached under this version never predates it.
        version = searcher.index_version()
        if version != self._refreshed:
            searcher.refresh()
            self._refreshed = version
        return searcher, version

    def recommender(self) -> Recommender:
        """The process's Recommender over the current indexes (a new one, with an empty
        cache, when they change: papers' vectors may have)."""
        searcher, version = self._current()
        kept = self._recommender
        if kept is None or kept[0] != version:
            kept = (version, Recommender(self.store, product_corpus(self.store, searcher)))
            self._recommender = kept
        return kept[1]

    def warm_recommender(self) -> None:
        """Build For you's feature space in a background thread when the instance has
        profiles (a minute for 80k papers on a busy core), so no view waits for it."""
        if not self.store.rec_profile_count():
            return

        def warm() -> None:
            try:
                space_ready(self.recommender().corpus, self.store, None)
            except Exception:  # noqa: BLE001 (the next view starts the build again)
                log.exception("could not build For you's feature space")

        threading.Thread(target=warm, name="paperwire-for-you-warm", daemon=True).start()

    def base_url(self, request: Request) -> str:
        """The address absolute links start with (no trailing slash): PAPERWIRE_BASE_URL when
        set; else the request's own, whose Host the client chose (create_app warns)."""
        return self.settings.public_url or str(request.base_url).rstrip("/")

    def static_url(self, name: str) -> str:
        # A content hash in the URL lets browsers cache the file for long and still see edits.
        version = self._asset_versions.get(name)
        if version is None:
            version = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
            self._asset_versions[name] = version
        return f"/static/{name}?v={version}"

    def visible_id(self, raw_id: str, viewer: User | None) -> str:
        """The canonical id of a stored paper this viewer may see; 404 otherwise."""
        try:
            arxiv_id, _ = parse_arxiv_id(raw_id)
        except InvalidRecord as exc:
            raise HTTPException(404, str(exc)) from None
        stored, hidden = self.store.paper_standing(arxiv_id)
        if not stored or (hidden and not (viewer and viewer.is_moderator)):
            raise HTTPException(404, f"no paper {arxiv_id} on this instance")
        return arxiv_id


class ViewCache:
    """A small, thread-safe LRU of computed view data; callers put the data version in the key,
    so entries for old data just age out. A paper's page takes two entries of a few KB each;
    2,048 entries keep ~1,000 pages (~20 MB), and a busy site cycling through more than the
    cache holds would miss on every view (LRU), so the size errs on the large side."""

    def __init__(self, size: int = 2048) -> None:
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


def site_of(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def highlight(text: str, spans: list[list[int]] | None) -> Markup:
    """Escape the snippet, then wrap the matched spans in <mark> (never the other way round)."""
    out: list[str] = []
    last = 0
    for start, end in spans or []:
        if start < last or end > len(text):
            continue
        out += [str(escape(text[last:start])), "<mark>", str(escape(text[start:end])),
                "</mark>"]
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def error_response(request: Request, status: int, message: str) -> Response:
    """The error page, as JSON when JSON was asked for and as HTML otherwise (a feed's error
    too: there is no Atom form of an error)."""
    data = {"error": message, "status": status, "title": TITLES.get(status, "Error")}
    fmt = "json" if format_of(request) == "json" else "html"
    wait = RETRY_AFTER_S.get(status)
    headers = {"Retry-After": str(wait)} if wait is not None else {}
    return render(request, Page("error.html", data, status, headers=headers), fmt)


def notice(request: Request, title: str, message: str, status: int = 200,
           **extra: Any) -> Response:
    """A page saying what just happened (check your inbox, link not valid, …)."""
    return render(request, Page("notice.html", {"title": title, "message": message, **extra},
                                status))
