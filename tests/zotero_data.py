"""The recorded Zotero Web API exchanges in tests/fixtures/zotero, served by a ReplayServer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.replay_server import ReplayServer, Reply

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "zotero"
LIBRARY_ID = "475425"
API_KEY = "P9NiFoyLeZu2bZNvvuQPDWsd"  # the key format from Zotero's documentation, no real key
COLLECTION = "9KH9TNSJ"
ITEMS_PATH = f"/users/{LIBRARY_ID}/collections/{COLLECTION}/items"
JSON_HEADERS = [("Content-Type", "application/json"), ("Zotero-API-Version", "3")]
TEXT_HEADERS = [("Content-Type", "text/plain"), ("Zotero-API-Version", "3")]


def exchanges(name: str) -> list[dict[str, Any]]:
    """A fixture's exchanges, each body as the text the API sends."""
    data: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return [{**e, "response": json.dumps(e["body"], ensure_ascii=False)} for e in data]


def serve(server: ReplayServer, *names: str) -> None:
    for name in names:
        server.add_recorded(exchanges(name))


def first_page() -> Reply:
    """The collection's first page as recorded (for scripts that answer 429 before it)."""
    first = exchanges("collection_items.json")[0]
    raw = first["rawHeaders"]
    return Reply(200, first["response"], [(raw[i], raw[i + 1]) for i in range(0, len(raw), 2)])


def is_items_request(start: str | None = None) -> Any:
    def matches(seen: Any) -> bool:
        return bool(seen.path == ITEMS_PATH and seen.param("start") == start)
    return matches
