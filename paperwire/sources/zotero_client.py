"""pyzotero's client with our limits: one timeout for every request, bounded Backoff waits.

pyzotero already follows ``Link: rel="next"``, sends ``Zotero-API-Version: 3`` and honours
``Backoff``/``Retry-After`` (retrying a 429 up to three times). Two of its defaults do not
suit a server: every request carries its own 30 s timeout whatever the client was given,
and it sleeps for as long as the server asks, hours included. This subclass overrides those
two hooks only (pyzotero 1.16: ``_send``, ``_set_backoff``, ``_check_backoff``), and takes
the sleep as a parameter so tests see the waits without waiting.

Imported only when a Zotero collection is read: pyzotero is the optional ``zotero`` extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx2
from pyzotero import zotero

from paperwire.errors import ZoteroError
from paperwire.sources.http import BACKOFF_BASE, retry_after_seconds

__all__ = ["BoundedZotero", "ZoteroWaitTooLong"]


class ZoteroWaitTooLong(ZoteroError):
    """Zotero asked us to wait longer than we are willing to (``max_wait``)."""


class BoundedZotero(zotero.Zotero):
    """A pyzotero ``Zotero`` whose requests time out after ``timeout`` seconds and whose
    waits go through ``sleep`` and never exceed ``max_wait`` seconds."""

    def __init__(self, library_id: str, library_type: str, api_key: str, *, base_url: str,
                 timeout: float, max_wait: float, sleep: Callable[[float], None],
                 user_agent: str) -> None:
        client = httpx2.Client(follow_redirects=True, timeout=timeout)
        super().__init__(library_id, library_type, api_key, client=client)
        self.endpoint = base_url.rstrip("/")
        self._timeout = timeout
        self._max_wait = max_wait
        self._sleep = sleep
        self._user_agent = user_agent
        self.waits: list[float] = []  # what the server asked for, in order (for the report)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def default_headers(self) -> dict[str, str]:
        return {**super().default_headers(), "User-Agent": self._user_agent}

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        kwargs["timeout"] = self._timeout  # pyzotero passes its own 30 s on every call
        return super()._send(method, url, **kwargs)

    def _set_backoff(self, duration: str | float) -> None:
        seconds = retry_after_seconds(str(duration))
        seconds = BACKOFF_BASE if seconds is None else seconds
        if seconds > self._max_wait:
            raise ZoteroWaitTooLong(
                f"Zotero asked us to wait {seconds:,.0f} s before the next request (more "
                f"than the {self._max_wait:,.0f} s we wait): it is busy; try again later")
        self.waits.append(seconds)
        super()._set_backoff(seconds)

    def _check_backoff(self) -> None:
        remainder = self.backoff_until - time.time()
        if remainder > 0.0:
            self._sleep(remainder)
        # A sleep that records instead of waiting (tests) must not wait again next time.
        self.backoff_until = 0.0
