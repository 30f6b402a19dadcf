"""A polite HTTP client for arXiv: paced requests, Retry-After honoured, retries with backoff.

arXiv asks harvesters for one request every few seconds and answers bursts with
``503 Retry-After``. Every network source goes through ``PoliteClient.get`` so that pacing,
retries and the final "giving up" message live in one place. ``sleep`` and ``clock`` are
injectable so tests can check the waits without waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx
from lxml import etree

from paperwire.errors import HarvestError
from paperwire.models import normalize_text
from paperwire.settings import Settings

__all__ = ["BACKOFF_BASE", "BACKOFF_CAP", "MAX_RETRY_AFTER", "BadBody", "PoliteClient",
           "parse_xml", "retry_after_seconds", "safe_xml_parser"]

T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]

BACKOFF_BASE = 5.0  # seconds before the first retry of a failure; doubles on each retry
BACKOFF_CAP = 120.0
# A server asking for more than this is down for maintenance, not throttling: stop and let
# the next run resume, rather than hang a worker for hours.
MAX_RETRY_AFTER = 3600.0
_THROTTLE_STATUSES = (429, 503)
# Failures worth another try: the network, the server, or a body cut short. An invalid URL or
# an unsupported scheme will not get better by waiting, so those are not retried.
_RETRYABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError,
              httpx.DecodingError)

log = logging.getLogger(__name__)


class BadBody(Exception):
    """Raised by a ``parse`` callback for a corrupt body; retried like a dropped connection."""


def safe_xml_parser() -> Any:
    """An lxml parser that never fetches anything and never expands entities."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           load_dtd=False, dtd_validation=False)


def parse_xml(content: bytes, root_tag: str, kind: str) -> Any:
    """The root element of a response that must be ``kind``; BadBody (retried) otherwise."""
    try:
        root = etree.fromstring(content, parser=safe_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise BadBody(f"malformed XML ({exc})") from None
    if root.tag != root_tag:
        raise BadBody(f"not {kind} (root element <{etree.QName(root).localname}>)")
    return root


def retry_after_seconds(value: str, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or HTTP-date); None if garbled."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


class PoliteClient:
    """GET with a minimum delay between requests, Retry-After, retries and backoff."""

    def __init__(self, settings: Settings, *, client: httpx.Client | None = None,
                 sleep: Sleep = time.sleep, clock: Clock = time.monotonic) -> None:
        self._settings = settings
        self._owns_client = client is None
        self._client = client or httpx.Client(follow_redirects=True)
        self._sleep = sleep
        self._clock = clock
        self._next_allowed: float | None = None
        self._headers = {"User-Agent": settings.user_agent}

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def get(self, url: str, params: Mapping[str, str], parse: Callable[[httpx.Response], T],
            *, accept: Collection[int] = ()) -> T:
        """Fetch ``url`` and return ``parse(response)``.

        2xx responses and the statuses in ``accept`` go to ``parse``; a ``parse`` that raises
        BadBody is retried. Other 4xx raise HarvestError at once; network failures, 5xx and
        throttling are retried up to ``settings.max_retries`` times, then HarvestError names
        the URL and the last problem.
        """
        shown = str(httpx.URL(url, params=dict(params)))
        attempts = self._settings.max_retries + 1
        pause = 0.0
        problem = "no attempt made"
        for attempt in range(attempts):
            self._wait(pause)
            outcome = self._attempt(url, params, shown, parse, accept)
            if isinstance(outcome, _Retry):
                problem, pause = outcome.problem, outcome.pause or _backoff(attempt)
                if attempt + 1 < attempts:
                    log.warning("%s: %s; retrying in %.0f s", shown, problem,
                                max(pause, self._settings.request_delay))
                continue
            return outcome
        raise HarvestError(f"gave up on {shown} after {attempts} attempts; last problem: "
                           f"{problem}. A rerun resumes where this one stopped.")

    def _attempt(self, url: str, params: Mapping[str, str], shown: str,
                 parse: Callable[[httpx.Response], T], accept: Collection[int]) -> T | _Retry:
        try:
            response = self._client.get(url, params=dict(params), headers=self._headers,
                                        timeout=self._settings.http_timeout,
                                        follow_redirects=True)
        except _RETRYABLE as exc:
            return _Retry(f"{type(exc).__name__}: {exc or 'no detail'}")
        except httpx.HTTPError as exc:
            raise HarvestError(f"cannot fetch {shown}: {type(exc).__name__}: {exc}") from exc
        finally:
            self._next_allowed = self._clock() + self._settings.request_delay
        status = response.status_code
        if status in _THROTTLE_STATUSES and "retry-after" in response.headers:
            return self._throttled(response, shown)
        if status >= 500:
            return _Retry(f"HTTP {status} {response.reason_phrase}".rstrip())
        if not 200 <= status < 300 and status not in accept:
            raise HarvestError(f"{shown} answered HTTP {status} {response.reason_phrase}: "
                               f"{_snippet(response)}")
        try:
            return parse(response)
        except BadBody as exc:
            return _Retry(f"corrupt response: {exc}")

    def _throttled(self, response: httpx.Response, shown: str) -> _Retry:
        header = response.headers["retry-after"]
        seconds = retry_after_seconds(header)
        problem = f"HTTP {response.status_code} with Retry-After: {header}"
        if seconds is not None and seconds > MAX_RETRY_AFTER:
            raise HarvestError(f"{shown} asked us to come back in {seconds:,.0f} s ({problem}); "
                               "arXiv is probably down for maintenance: try again later")
        return _Retry(problem, seconds or 0.0)

    def _wait(self, pause: float) -> None:
        """Sleep for ``pause`` or until the request delay has passed, whichever is longer."""
        due = pause
        if self._next_allowed is not None:
            due = max(due, self._next_allowed - self._clock())
        if due > 0:
            self._sleep(due)


class _Retry:
    """One failed attempt: what went wrong, and how long the server asked us to wait."""

    __slots__ = ("pause", "problem")

    def __init__(self, problem: str, pause: float = 0.0) -> None:
        self.problem = problem
        self.pause = pause


def _backoff(attempt: int) -> float:
    return float(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** attempt))


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    text = normalize_text(response.text) or "(empty body)"
    return text if len(text) <= limit else text[:limit] + "…"
