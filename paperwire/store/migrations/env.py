"""Alembic environment: runs paperwire's migrations on the connection the Store hands it."""

from __future__ import annotations

from alembic import context

from paperwire.store import (
    comment_schema,  # noqa: F401  (its tables join Base's metadata)
    library_schema,  # noqa: F401  (its tables join Base's metadata)
    notice_schema,  # noqa: F401  (as comment_schema)
)
from paperwire.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables when needed.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
