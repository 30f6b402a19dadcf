"""Store methods of recommendations: profiles, marks, the shown ledger, what a profile
trains on, its trained model (SQL in recommend.py and recommend_models.py).

Mixed into ``Store`` (import that, not this); kept apart so each area's door stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from paperwire.store import recommend as _rec
from paperwire.store import recommend_models as _models
from paperwire.store.database import utcnow, write_transaction


class RecommendMethods:
    engine: Engine

    def create_rec_profile(self, user_id: int, values: dict[str, Any]) -> dict[str, Any]:
        with write_transaction(self.engine) as conn:
            found = _rec.profile(conn, _rec.create_profile(conn, user_id, values, utcnow()))
        assert found is not None
        return found

    def rec_profile_count(self) -> int:
        with self.engine.connect() as conn:
            return _rec.profile_count(conn)

    def rec_profiles(self, user_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _rec.profiles_of(conn, user_id)

    def rec_profile(self, profile_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return _rec.profile(conn, profile_id)

    def digest_rec_profiles(self) -> dict[int, list[dict[str, Any]]]:
        """Every profile that sends a digest section, by user."""
        with self.engine.connect() as conn:
            return _rec.digest_profiles(conn)

    def update_rec_profile(self, profile_id: int, values: dict[str, Any]) -> bool:
        with write_transaction(self.engine) as conn:
            return _rec.update_profile(conn, profile_id, values, utcnow())

    def delete_rec_profile(self, profile_id: int) -> bool:
        with write_transaction(self.engine) as conn:
            return _rec.delete_profile(conn, profile_id)

    def reset_rec_profile(self, profile_id: int, user_id: int) -> None:
        with write_transaction(self.engine) as conn:
            _rec.reset_profile(conn, profile_id, user_id, utcnow())

    def set_rec_feed_token(self, profile_id: int, token_hash: str | None) -> None:
        with write_transaction(self.engine) as conn:
            _rec.set_feed_token(conn, profile_id, token_hash)

    def rec_feed_profile(self, token_hash: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return _rec.feed_profile(conn, token_hash)

    def mark_not_interested(self, user_id: int, arxiv_id: str, profile_id: int | None
                            ) -> bool:
        """Whether the paper is stored (a second mark of the same paper adds nothing)."""
        with write_transaction(self.engine) as conn:
            return _rec.mark_not_interested(conn, user_id, arxiv_id, profile_id, utcnow())

    def record_rec_shown(self, rows: Sequence[tuple[int, str]], place: str, key: str = ""
                         ) -> int:
        # A page view mostly shows what it showed before: read first, write only what is new
        # (no writer lock taken on most views).
        with self.engine.connect() as conn:
            if not _rec.unrecorded(conn, rows, place, key):
                return 0
        with write_transaction(self.engine) as conn:
            return _rec.record_shown(conn, rows, place, key, utcnow())

    def rec_shown(self, profile_id: int, place: str, *, other_than: str = "",
                  before: datetime | None = None) -> set[str]:
        with self.engine.connect() as conn:
            return _rec.shown_ids(conn, profile_id, place, other_than=other_than,
                                  before=before)

    def rec_signals(self, profile: dict[str, Any], limit: int, author_papers: int
                    ) -> dict[str, list[Any]]:
        with self.engine.connect() as conn:
            return _rec.signals(conn, profile, limit, author_papers)

    def rec_version(self, profile: dict[str, Any]) -> str:
        with self.engine.connect() as conn:
            return _rec.version(conn, profile)

    def rec_candidates(self, since: date, until: date, limit: int) -> list[str]:
        with self.engine.connect() as conn:
            return _rec.candidate_ids(conn, since, until, limit)

    def rec_day_slates(self, days: Sequence[date], per_day: int) -> dict[date, list[str]]:
        """Each of ``days``' papers, at most ``per_day`` a day: what was listed that day."""
        with self.engine.connect() as conn:
            return _rec.day_slates(conn, days, per_day)

    def rec_shown_counts(self, place: str = "digest") -> dict[str, int]:
        with self.engine.connect() as conn:
            return _rec.shown_counts(conn, place)

    # --- trained models ------------------------------------------------------------------
    def save_rec_model(self, profile_id: int, *, version: str, space_key: str, ranker: str,
                       read_at: datetime, train_ms: float, data: bytes) -> bool:
        """Keep a profile's trained model (replacing an older one whole); False when a model
        trained on later-read signals is kept already, or the profile was deleted."""
        with write_transaction(self.engine) as conn:
            return _models.save(conn, profile_id, {
                "version": version, "space_key": space_key, "ranker": ranker,
                "read_at": read_at, "trained_at": utcnow(), "train_ms": train_ms,
                "data": data})

    def rec_model(self, profile_id: int, *, data: bool = True) -> dict[str, Any] | None:
        """The profile's kept model row (``data``: its bytes too), or None."""
        with self.engine.connect() as conn:
            return _models.model(conn, profile_id, data=data)

    def rec_models_info(self) -> dict[int, dict[str, Any]]:
        with self.engine.connect() as conn:
            return _models.models_info(conn)

    def drop_rec_model(self, profile_id: int) -> None:
        with write_transaction(self.engine) as conn:
            _models.drop(conn, profile_id)

    def rec_model_counts(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return _models.counts(conn)

    def save_rec_vocabulary(self, space_key: str, *, vectors: bool, built_with: int,
                            data: bytes) -> None:
        with write_transaction(self.engine) as conn:
            _models.save_vocabulary(conn, {"space_key": space_key, "vectors": vectors,
                                           "built_with": built_with, "created_at": utcnow(),
                                           "data": data})

    def rec_vocabulary(self, *, vectors: bool) -> dict[str, Any] | None:
        """The newest kept vocabulary of For you's feature space (with vectors or not)."""
        with self.engine.connect() as conn:
            return _models.vocabulary(conn, vectors)
