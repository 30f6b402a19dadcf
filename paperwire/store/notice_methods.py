"""Store methods of notifications: readers' choices, pending notices and the notice-mail
ledger (SQL in notices.py).

Mixed into ``Store`` (import that, not this); kept apart so each area's door stays small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Engine

from paperwire.store import notices as _notices
from paperwire.store import papers as _papers
from paperwire.store.database import write_transaction


class _Taken(Exception):
    """Another sender settled some of these notices first: roll the transaction back."""


class NoticeMethods:
    engine: Engine

    def fan_out_notices(self, limit: int = 200) -> int:
        """Write the notices of up to ``limit`` new comments, in one transaction; how many
        comments (store/notices.py: queue, fan_out)."""
        with write_transaction(self.engine) as conn:
            return _notices.fan_out(conn, limit)

    def notice_prefs(self, user_id: int) -> dict[str, bool]:
        """The reader's choice of each kind of notice (defaults where they never chose)."""
        with self.engine.connect() as conn:
            return _notices.prefs(conn, user_id)

    def set_notice_prefs(self, user_id: int, changes: Mapping[str, bool]) -> None:
        with write_transaction(self.engine) as conn:
            _notices.set_prefs(conn, user_id, changes)

    def readers_who_saved(self, arxiv_id: str) -> list[int]:
        """Accounts that saved the paper in a library (none until libraries exist)."""
        with self.engine.connect() as conn:
            found = _papers.row_ids(conn, [arxiv_id]).get(arxiv_id)
            return [] if found is None else _notices.readers_who_saved(conn, found)

    def notice_readers_due(self, ready_before: datetime, quiet_since: datetime,
                           limit: int = 50) -> list[int]:
        with self.engine.connect() as conn:
            return _notices.due_readers(conn, ready_before, quiet_since, limit)

    def pending_notices(self, user_id: int, ready_before: datetime
                        ) -> tuple[dict[str, Any] | None, dict[str, bool],
                                   list[dict[str, Any]]]:
        """(the reader, their choices, their notices a mail may settle now), on one
        connection."""
        with self.engine.connect() as conn:
            return (_notices.reader(conn, user_id), _notices.prefs(conn, user_id),
                    _notices.pending_for(conn, user_id, ready_before))

    def drop_notices(self, ids: Sequence[int]) -> None:
        with write_transaction(self.engine) as conn:
            _notices.drop(conn, ids)

    def take_notices(self, user_id: int, sent: Sequence[int], dropped: Sequence[int],
                     message: EmailMessage, now: datetime, quiet_since: datetime
                     ) -> int | None:
        """Mark ``sent`` as settled by ``message``, ``dropped`` as dropped, and queue the
        message in the outbox, all in one transaction: the batch id, or None when another
        sender got there first (then nothing changed)."""
        try:
            with write_transaction(self.engine) as conn:
                batch = _notices.take(conn, user_id, sent, dropped, message, now,
                                      quiet_since)
                if batch is None:
                    raise _Taken
                return batch
        except _Taken:
            return None

    def notice_counts(self, user_id: int | None = None) -> dict[str, int]:
        with self.engine.connect() as conn:
            return _notices.counts(conn, user_id)
