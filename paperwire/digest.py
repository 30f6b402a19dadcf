"""Digests: compose each subscriber's mail for a period, then send, then record (Zulip's way).

A digest holds the period's top trending papers in the subscriber's categories (when they
asked for trending), new versions of papers a member saved or upvoted ("updated to v3"),
what was added to the lab collections of a member's groups since their last digest, and,
for each saved search, the papers that match it and are new since their
last digest, each paper shown once. Empty digests are not sent (recorded as skipped).

**Never twice, never skipped.** Every (subscription, period key) has one row in the ledger:
written as ``sending`` before the message goes to SMTP, marked ``sent`` after. A rerun of the
same period sends exactly the rows not marked sent, with the same Message-ID, so the only
possible repeat is a message the server accepted in the instant before a crash, and the
recipient's mail client sees the same Message-ID twice.

Period keys: ``daily:2026-11-26`` (the as-of day), ``weekly:2026-W48`` (its ISO week, so a
weekly rerun on another day of the same week is still the same digest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from paperwire import for_you
from paperwire.alerts import AlertTest, matching_rows
from paperwire.digest_render import Digest, Section, render_html, render_text
from paperwire.errors import NotFound
from paperwire.for_you_rank import (
    DIGEST_TRAIN_BUDGET_S,
    MAX_CANDIDATES,
    Recommender,
    product_corpus,
)
from paperwire.mail import Delivery, OutboxMailer, SMTPMailer, compose, mail_domain
from paperwire.models import (
    DIGEST_PERIODS,
    Filters,
    LedgerEntry,
    Paper,
    SavedSearch,
    Subscription,
    paper_day,
)
from paperwire.search import QueryError, Searcher, check_filters
from paperwire.settings import Settings
from paperwire.store import Store

TRENDING_WINDOW = {"daily": "day", "weekly": "week"}
LAB_PAPERS = 20  # at most, in a digest's lab section (and its followed-authors section)
FOLLOWED_SCAN = 200  # followed authors' newest papers looked at for one digest
LOOKBACK_DAYS = 3  # Friday's list still counts as "today's" on Monday morning
CHUNK = 1_000  # subscribers composed, then sent, at a time: bounds memory on big lists


def period_key(period: str, as_of: date) -> str:
    if period not in DIGEST_PERIODS:
        raise ValueError(f"unknown period {period!r} (choose daily or weekly)")
    if period == "weekly":
        year, week, _ = as_of.isocalendar()
        return f"weekly:{year}-W{week:02d}"
    return f"daily:{as_of.isoformat()}"


def message_id(sub_id: int, key: str, domain: str) -> str:
    """Derived from (subscription, period key) alone, so a resend is recognisably the same."""
    return f"<digest.{sub_id}.{key.replace(':', '.')}@{domain}>"


@dataclass
class DigestReport:
    period_key: str
    sent: int = 0
    skipped: int = 0  # empty digests
    failed: int = 0
    bounced: int = 0
    already_sent: int = 0
    errors: list[str] = field(default_factory=list)
    # For-you sections left out: their profile had no kept model and the run's training
    # budget (DIGEST_TRAIN_BUDGET_S) was spent.
    for_you_deferred: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (f"{self.period_key}: {self.sent} sent, {self.skipped} skipped (empty), "
                f"{self.failed} failed, {self.bounced} bounced, {self.already_sent} "
                "already sent before" + (f", {self.for_you_deferred} For-you sections left "
                                         "out (no model trained yet)"
                                         if self.for_you_deferred else ""))


class Composer:
    """Builds digests; trending lists and search results are shared by subscribers who ask
    for the same thing (most do), so a run over 10,000 addresses repeats little work."""

    def __init__(self, settings: Settings, store: Store, searcher: Searcher | None = None
                 ) -> None:
        from paperwire.trending import TrendingParams

        self.settings = settings
        self.store = store
        # Alerts are tested by meaning only where alert_min_similarity asks (paperwire.alerts);
        # otherwise no embedder is loaded.
        self.alert_test = AlertTest.from_settings(settings)
        self.searcher = searcher or Searcher.from_settings(
            settings, store, meaning=self.alert_test.min_similarity > 0)
        self.params = TrendingParams.from_settings(settings)
        self.base = settings.base_url.rstrip("/")
        self._trending: dict[tuple[str, date, tuple[str, ...]], tuple[Paper, ...]] = {}
        self._latest_day: dict[date, date | None] = {}
        self._searches: dict[tuple[str, tuple[str, ...], str | None, date, date],
                             tuple[Paper, ...]] = {}
        self._papers: dict[str, Paper] = {}
        self._rows: dict[int, Paper] = {}
        # Hidden papers never reach a digest (trending.rank leaves them out on its own).
        self._hidden = store.hidden_row_ids()
        self._recommender: Recommender | None = None
        self._candidates: dict[tuple[str, date], list[str]] = {}
        self._rec_profiles: dict[int, list[dict[str, Any]]] | None = None
        self._signer = for_you.link_signer(settings)

    def compose(self, sub: Subscription, period: str, as_of: date) -> Digest:
        shown: set[str] = set()
        sections: list[Section] = []
        recommended: list[tuple[int, str]] = []
        if sub.user_id is not None:
            for section, pairs in self.for_you(sub.user_id, period, as_of):
                sections.append(replace(section, papers=self._dedupe(section.papers, shown)))
                recommended += [(p, a) for p, a in pairs if a in shown]
        if sub.trending:
            papers = self._dedupe(self.trending(period, as_of, sub.categories), shown)
            cats = f" in {', '.join(sub.categories)}" if sub.categories else ""
            sections.append(Section(f"Trending{cats}", papers))
        since = self.since(sub, period, as_of)
        if sub.user_id is not None:
            followed = self._dedupe(self.followed(sub.user_id, since, as_of), shown)
            if followed:
                sections.append(Section("New from authors you follow", followed,
                                        f"{self.base}/following", link_label="Whom you follow"))
            revised = self._dedupe(self.revised(sub.user_id, since, as_of), shown)
            if revised:
                sections.append(Section(
                    "New versions of papers you saved or upvoted", revised,
                    f"{self.base}/library", link_label="Your library",
                    labels={p.arxiv_id: f"updated to v{p.version}" for p in revised}))
            lab = self._dedupe(self.lab_papers(sub.user_id, since), shown)
            if lab:
                sections.append(Section("New in your labs' collections", lab,
                                        f"{self.base}/library", link_label="Your library"))
        for search in sub.searches:
            papers = self._dedupe(self.search(search, since, as_of), shown)
            sections.append(Section(f"New for “{search.query}”{_filters_label(search)}",
                                    papers, f"{self.base}/feeds/alerts/{search.token}.atom"))
        return Digest(sub, period, as_of, period_key(period, as_of), tuple(sections),
                      tuple(recommended))

    def for_you(self, user_id: int, period: str, as_of: date
                ) -> list[tuple[Section, list[tuple[int, str]]]]:
        """A For-you section for each of the reader's profiles that sends one: the period's
        papers above the profile's threshold that no earlier digest recommended, each with
        why and a signed "not interested" link. Each profile trains once per run."""
        if self._rec_profiles is None:
            self._rec_profiles = self.store.digest_rec_profiles()
        profiles = self._rec_profiles.get(user_id, [])
        if not profiles:
            return []
        candidates = self.rec_candidates(period, as_of)
        key = period_key(period, as_of)
        out = []
        for row in profiles[:for_you.MAX_PROFILES]:
            profile = for_you.RecProfile.from_row(row)
            picks = self.recommender.digest_picks(profile, candidates, key) if candidates else []
            papers = self._papers
            picks = [r for r in picks if r.arxiv_id in papers]
            sign = for_you.not_interested_token
            notes = {r.arxiv_id: (r.reasons[0].text if r.reasons else "",
                                  f"{self.base}/for-you/not-interested/"
                                  f"{sign(self.settings, profile, r.arxiv_id, self._signer)}")
                     for r in picks}
            title = "For you" if len(profiles) == 1 else f"For you: {profile.name}"
            out.append((Section(title, tuple(self._intern(papers[r.arxiv_id]) for r in picks),
                                f"{self.base}/for-you", link_label="Open For you", notes=notes),
                        [(profile.id, r.arxiv_id) for r in picks]))
        return out

    @property
    def for_you_deferred(self) -> int:
        return self._recommender.deferred if self._recommender is not None else 0

    @property
    def recommender(self) -> Recommender:
        if self._recommender is None:
            from paperwire.search import Searcher

            # The web's corpus (vectors, and an embedder loaded only for a pasted abstract),
            # so the feature space is the one the web's kept models were trained over.
            self._recommender = Recommender(self.store, product_corpus(
                self.store, Searcher.from_settings(self.settings, self.store)),
                background=False, train_budget_s=DIGEST_TRAIN_BUDGET_S)
        return self._recommender

    def rec_candidates(self, period: str, as_of: date) -> list[str]:
        """The papers a For-you section picks from: the trending list's day (daily), or
        the week holding ``as_of`` (weekly)."""
        if (period, as_of) not in self._candidates:
            day = self.trending_day(period, as_of)
            found: list[str] = []
            if day is not None:
                since = day - timedelta(days=day.weekday()) if period == "weekly" else day
                until = since + timedelta(days=6) if period == "weekly" else day
                found = self.store.rec_candidates(since, until, MAX_CANDIDATES)
                # Read once for the run: every section's papers are among these.
                for paper in self.store.get_papers(found).values():
                    self._intern(paper)
            self._candidates[(period, as_of)] = found
        return self._candidates[(period, as_of)]

    def followed(self, user_id: int, since: date, until: date) -> tuple[Paper, ...]:
        """Followed authors' papers dated in [since, until]: the days after the last digest,
        as for saved searches, so each paper is told once."""
        papers = self.store.followed_papers(user_id, limit=FOLLOWED_SCAN)
        return tuple(p for p in papers if (day := paper_day(p)) is not None
                     and since <= day <= until)[:LAB_PAPERS]

    def revised(self, user_id: int, since: date, until: date) -> tuple[Paper, ...]:
        """The reader's saved or upvoted papers with a new version dated in [since, until]
        (the days after the last digest, so each version is told once)."""
        start = datetime.combine(since, datetime.min.time())
        end = datetime.combine(until + timedelta(days=1), datetime.min.time())
        return tuple(self._intern(p) for p in
                     self.store.revised_papers(user_id, start, end, LAB_PAPERS))

    def lab_papers(self, user_id: int, since: date) -> tuple[Paper, ...]:
        """Papers added since ``since`` to the lab collections of the user's groups (each
        digest covers the days after the last, so each addition is told once)."""
        rows = self.store.lab_items_since(user_id, datetime.combine(since, datetime.min.time()),
                                          LAB_PAPERS)
        papers = self.store.get_papers(r["arxiv_id"] for r in rows)
        return tuple(papers[i] for i in dict.fromkeys(r["arxiv_id"] for r in rows)
                     if i in papers)

    @staticmethod
    def since(sub: Subscription, period: str, as_of: date) -> date:
        """Saved searches report papers after the last digest, else of this period."""
        if sub.last_digest_on is not None and sub.last_digest_on < as_of:
            return sub.last_digest_on + timedelta(days=1)
        return as_of - timedelta(days=6 if period == "weekly" else 0)

    def trending(self, period: str, as_of: date, categories: Sequence[str]
                 ) -> tuple[Paper, ...]:
        from paperwire.trending import rank

        key = (period, as_of, tuple(categories))
        if key not in self._trending:
            day = self.trending_day(period, as_of)
            papers: tuple[Paper, ...] = ()
            if day is not None:
                page = rank(self.store, self.params, TRENDING_WINDOW[period], day,
                            categories=categories, limit=self.settings.digest_size)
                papers = tuple(self._intern(item.paper) for item in page.items)
            self._trending[key] = papers
        return self._trending[key]

    def trending_day(self, period: str, as_of: date) -> date | None:
        """The day whose trending list a daily digest sends: the latest day with papers up
        to ``as_of`` (a digest at 06:00 comes before that day's papers are dated; on a
        Monday the latest is Friday's), if no more than LOOKBACK_DAYS old, so a quiet
        instance sends nothing rather than the same old list again. A weekly digest ranks
        the week holding ``as_of``."""
        if period != "daily":
            return as_of
        latest = self._latest_day.get(as_of)
        if as_of not in self._latest_day:
            latest = self.store.day_before(as_of + timedelta(days=1))
            self._latest_day[as_of] = latest
        if latest is None or (as_of - latest).days > LOOKBACK_DAYS:
            return None
        return latest

    def search(self, search: SavedSearch, since: date, until: date) -> tuple[Paper, ...]:
        """The best keyword matches among papers dated in [since, until] that pass the
        alert's relevance tests (paperwire.alerts), none when nothing does: never padded.
        Keywords first: an alert should bring papers that say what was asked, and a nearest
        neighbour always exists even when nothing new is relevant. The keyword index is
        asked directly: a digest needs no snippets, which are most of a search's cost."""
        key = (search.query, search.categories, search.author, since, until)
        if key not in self._searches:
            filters = Filters(categories=search.categories, author=search.author,
                              since=since, until=until)
            try:
                check_filters(filters, self.settings.extra_categories)
            except QueryError:
                # Checked when saved; a later taxonomy change must not stop a run.
                self._searches[key] = ()
                return ()
            rows = matching_rows(self.searcher, self.alert_test, search.query, filters,
                                 self.settings.digest_size, self._hidden, self._papers_of)
            self._searches[key] = self._by_rows(rows)
        return self._searches[key]

    def _by_rows(self, rows: list[int]) -> tuple[Paper, ...]:
        return tuple(self._papers_of(rows).values())

    def _papers_of(self, rows: list[int]) -> dict[int, Paper]:
        missing = [r for r in rows if r not in self._rows]
        if missing:
            for row, paper in self.store.get_papers_by_row(missing).items():
                self._rows[row] = self._intern(paper)
        return {r: self._rows[r] for r in rows if r in self._rows}

    def _intern(self, paper: Paper) -> Paper:
        # Thousands of searches over one day's papers return the same few hundred papers:
        # keep one copy of each, not one per search.
        return self._papers.setdefault(paper.arxiv_id, paper)

    @staticmethod
    def _dedupe(papers: Sequence[Paper], shown: set[str]) -> tuple[Paper, ...]:
        kept = tuple(p for p in papers if p.arxiv_id not in shown)
        shown.update(p.arxiv_id for p in kept)
        return kept

    def message(self, digest: Digest) -> EmailMessage:
        sub = digest.subscription
        unsubscribe = f"{self.base}/unsubscribe/{sub.token}"
        when = (f"week of {digest.as_of - timedelta(days=digest.as_of.weekday()):%d %b %Y}"
                if digest.period == "weekly" else f"{digest.as_of:%a %d %b %Y}")
        count = len(digest.paper_ids)
        subject = f"paperwire: {count} paper{'s' if count != 1 else ''} for {when}"
        domain = mail_domain(self.settings)
        headers = {"List-Unsubscribe": f"<{unsubscribe}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                   "List-Id": f"paperwire {digest.period} digest <digest.{domain}>",
                   "Auto-Submitted": "auto-generated"}
        return compose(self.settings, sub.email, subject,
                       render_text(digest, self.base, unsubscribe),
                       render_html(digest, self.base, unsubscribe),
                       message_id=message_id(sub.id, digest.key, domain), headers=headers)


def _filters_label(search: SavedSearch) -> str:
    parts = list(search.categories) + ([f"by {search.author}"] if search.author else [])
    return f" ({', '.join(parts)})" if parts else ""


def _chunks(items: Sequence[Subscription]) -> Iterator[Sequence[Subscription]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def send_digests(settings: Settings, store: Store, period: str, as_of: date, *,
                 mailer: OutboxMailer | SMTPMailer, composer: Composer | None = None,
                 progress: Callable[[DigestReport], None] | None = None) -> DigestReport:
    """Compose, send and record the ``period`` digest of every active subscriber.

    Raises Busy when another process is sending the same period's digests: two runs at once
    would both see the other's ``sending`` rows as left over from a crash.
    """
    key = period_key(period, as_of)
    with store.exclusive(f"digest:{key}"):
        return _send(settings, store, period, as_of, key, mailer, composer, progress)


def _send(settings: Settings, store: Store, period: str, as_of: date, key: str,
          mailer: OutboxMailer | SMTPMailer, composer: Composer | None,
          progress: Callable[[DigestReport], None] | None) -> DigestReport:
    composer = composer or Composer(settings, store)
    report = DigestReport(key)
    ledger = store.digest_ledger(key)
    pending = []
    for sub in store.subscriptions(status="active", period=period):
        if ledger.get(sub.id, {}).get("status") == "sent":
            report.already_sent += 1
        else:
            pending.append(sub)
    domain = mail_domain(settings)
    for chunk in _chunks(pending):
        digests = [composer.compose(sub, period, as_of) for sub in chunk]
        entries = {d.subscription.id: LedgerEntry(d.subscription.id, period, key,
                                                  message_id(d.subscription.id, key, domain),
                                                  d.paper_ids) for d in digests}
        empty = [entries[d.subscription.id] for d in digests if d.empty]
        full = [d for d in digests if not d.empty]
        store.claim_digests(empty, status="skipped")
        report.skipped += len(empty)
        # Written before anything is handed to SMTP: after a crash these rows say "resend".
        # The For-you papers go in the same transaction: never shown twice, never skipped.
        store.claim_digests([entries[d.subscription.id] for d in full], status="sending",
                            recommended=[pair for d in full for pair in d.recommended])
        messages = [(d.subscription.id, composer.message(d)) for d in full]

        def settled(sub_id: int, delivery: Delivery) -> None:
            _record(store, report, sub_id, key, as_of, delivery)
            if progress is not None:
                progress(report)

        mailer.send_many(messages, kind="digest", on_result=settled)
    report.for_you_deferred = composer.for_you_deferred
    return report


def _record(store: Store, report: DigestReport, sub_id: int, key: str, as_of: date,
            delivery: Delivery) -> None:
    if delivery.outcome == "sent":
        store.mark_digest(sub_id, key, "sent", as_of=as_of)
        report.sent += 1
        return
    store.mark_digest(sub_id, key, "failed", error=delivery.error)
    if delivery.outcome == "bounced":
        store.set_subscription_status(sub_id, "bounced", delivery.error)
        report.bounced += 1
    else:
        report.failed += 1
    if len(report.errors) < 20:
        report.errors.append(f"subscription {sub_id}: {delivery.error}")


def preview(settings: Settings, store: Store, email: str, period: str | None, as_of: date
            ) -> tuple[Digest, EmailMessage]:
    """The digest ``email`` would get (whatever its status), without recording anything."""
    sub = store.subscription(email=email)
    if sub is None:
        raise NotFound(f"no subscription for {email.strip().lower()}")
    composer = Composer(settings, store)
    digest = composer.compose(sub, period or sub.period, as_of)
    return digest, composer.message(digest)
