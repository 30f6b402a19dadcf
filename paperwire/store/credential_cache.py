"""A web process's short memory of who a session cookie or API token names.

Every signed-in request resolved its credential with a read (a session joined to its
account, or a token to its owner): a few hundred microseconds of a page that otherwise
comes from kept markup. This keeps each answer for at most ``seconds`` (the setting
``session_cache_seconds``), keyed by the credential's hash (the store never sees the
secret itself), and never past the session's own expiry.

Revocation:

* In this process, any change to accounts, sessions or tokens made through the Store (sign
  out, sign out everywhere, a password reset or address confirmation, a role change, a
  revoked token) forgets everything at once, and a read that began before such a change
  is not kept (``generation``).
* Made by another process or host (another web worker, the CLI), it takes effect here
  within ``seconds``: that is the bound, and why it is short (5 s by default, at most 60,
  0 turns the cache off). A revoked cookie is accepted for at most that long after the
  revocation, about as long as a page already rendered for it stays on screen.

The sliding expiry and a token's "last used" are still written: an entry due for either
is not used, so the store's read (and its write) happens as before.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import NamedTuple

from paperwire.models import User

MAX_SECONDS = 60
SIZE = 4096


class Known(NamedTuple):
    """What a credential resolved to: its user, when it was last seen or used, and until
    when (monotonic) this answer may be used."""

    user: User
    seen: datetime | None
    until: float
    expires: datetime | None  # the session's expiry (None for a token)


class CredentialCache:
    """Thread-safe; ``seconds`` 0 keeps nothing."""

    def __init__(self, seconds: float = 0.0, size: int = SIZE) -> None:
        if not 0 <= seconds <= MAX_SECONDS:
            raise ValueError(f"seconds must be 0 to {MAX_SECONDS}, got {seconds!r}")
        self.seconds = seconds
        self._size = size
        self._data: OrderedDict[tuple[str, str], Known] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, kind: str, key: str, now: datetime) -> Known | None:
        if not self.seconds:
            return None
        with self._lock:
            found = self._data.get((kind, key))
            if found is None:
                return None
            if found.until <= time.monotonic() or (found.expires is not None
                                                   and found.expires <= now):
                del self._data[(kind, key)]
                return None
            return found

    def put(self, kind: str, key: str, user: User, seen: datetime | None,
            expires: datetime | None, generation: int) -> None:
        """Keep an answer read at ``generation``; dropped when anything was forgotten since."""
        if not self.seconds:
            return
        with self._lock:
            if generation != self.generation:
                return
            self._data[(kind, key)] = Known(user, seen, time.monotonic() + self.seconds,
                                            expires)
            self._data.move_to_end((kind, key))
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def forget(self) -> None:
        """Forget every answer, and refuse those read before now."""
        with self._lock:
            self.generation += 1
            self._data.clear()
