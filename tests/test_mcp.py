"""The MCP server through the SDK's own client: over stdio (a subprocess) and streamable HTTP
(a live uvicorn server), on a small ingested corpus of real arXiv papers, one of them hidden."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent, TextResourceContents

from paperwire import accounts
from paperwire.index.indexer import IndexPaths, update_index
from paperwire.ingest import ingest
from paperwire.mcp import build_server, require_user, streamable_http_app
from paperwire.mcp_tools import Papers
from paperwire.settings import Settings
from paperwire.sources.files import JsonlSource
from paperwire.store import Store
from paperwire.web import create_app
from tests.live_server import serve
from tests.shared_data import arxiv_lines

ROOT = Path(__file__).resolve().parents[1]
DAY = "2025-03-18"  # the first 40 papers of the sample were all listed that day
WORD = "learning"  # a word many of them share


@dataclass
class Corpus:
    home: Path
    settings: Settings
    store: Store
    ids: list[str]
    hidden: str  # a paper a moderator hid
    hidden_word: str  # a word of its title that finds it when it is not hidden
    token: str  # a live personal API token


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    home = tmp_path_factory.mktemp("mcp")
    lines = arxiv_lines(40)
    (home / "papers.jsonl").write_text("".join(lines), encoding="utf-8")
    settings = Settings(home=home, embedder="none", progress=False)
    store = Store.open(settings)
    assert ingest(JsonlSource(home / "papers.jsonl"), store, progress=False).rejected == 0
    update_index(store, IndexPaths.for_home(home), None, progress=False)
    ids = [json.loads(line)["id"] for line in lines]
    hidden = ids[3]
    paper = store.get_paper(hidden)
    assert paper is not None
    word = max((w for w in paper.title.split() if w.isalpha()), key=len)
    # Before hiding, the word finds the paper; afterwards it must not, anywhere.
    assert hidden in [h.arxiv_id for h in Papers(settings, store).search(
        word, "lexical", (), None, None, None, 50).hits]
    store.hide_paper(hidden, "spam", None, "test")
    user = store.create_user("ada@example.org", "not-a-login", "Ada")
    assert user is not None
    token = accounts.new_api_token()
    store.create_api_token(user.id, "mcp", accounts.token_hash(token))
    yield Corpus(home, settings, store, ids, hidden, word, token)
    store.close()


def run(check: Callable[[], Awaitable[None]]) -> None:
    anyio.run(check)


def text_of(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


TOOLS = {"search", "trending", "get_paper", "similar"}


async def check_everything(client: Client, corpus: Corpus, extra: set[str] | None = None
                           ) -> None:
    """List the tools and resources and call each one, checking real content."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS | (extra or set())
    for tool in tools.values():  # typed: every tool publishes its output's JSON schema
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
    assert tools["search"].input_schema["properties"]["limit"]["maximum"] == 50
    await check_search(client, corpus)
    await check_trending(client, corpus)
    await check_paper(client, corpus)
    await check_resources(client, corpus)
    await check_errors(client, corpus)


async def check_search(client: Client, corpus: Corpus) -> None:
    result = await client.call_tool("search", {"query": WORD, "mode": "lexical", "limit": 5})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None and data["mode"] == "lexical" and 1 <= len(data["hits"]) <= 5
    for hit in data["hits"]:
        stored = corpus.store.get_paper(hit["arxiv_id"])
        assert stored is not None and "learn" in f"{stored.title} {stored.abstract}".lower()
    filtered = await client.call_tool("search", {"query": WORD, "category": ["cs.CV"],
                                                 "since": DAY, "until": DAY, "limit": 50})
    assert filtered.structured_content is not None
    assert filtered.structured_content["hits"], "cs.CV papers about learning that day"
    assert all("cs.CV" in h["categories"] and h["date"] == DAY
               for h in filtered.structured_content["hits"])
    hidden = await client.call_tool("search", {"query": corpus.hidden_word, "limit": 50})
    assert hidden.structured_content is not None
    assert corpus.hidden not in [h["arxiv_id"] for h in hidden.structured_content["hits"]]


async def check_trending(client: Client, corpus: Corpus) -> None:
    result = await client.call_tool("trending", {"period": "day", "date": DAY, "limit": 50})
    data = result.structured_content
    assert not result.is_error and data is not None
    ids = [p["arxiv_id"] for p in data["papers"]]
    assert data["since"] == data["until"] == DAY
    assert data["total"] == len(ids) == len(corpus.ids) - 1
    assert corpus.hidden not in ids and set(ids) < set(corpus.ids)
    assert [p["rank"] for p in data["papers"]] == list(range(1, len(ids) + 1))
    assert "prior" in data["papers"][0]["explanation"]
    latest = await client.call_tool("trending", {"limit": 1})  # default: the latest day
    assert latest.structured_content is not None
    assert latest.structured_content["until"] == DAY


async def check_paper(client: Client, corpus: Corpus) -> None:
    wanted = corpus.ids[0]
    stored = corpus.store.get_paper(wanted)
    assert stored is not None
    result = await client.call_tool("get_paper", {"id": f"https://arxiv.org/abs/{wanted}v1"})
    data = result.structured_content
    assert not result.is_error and data is not None
    assert data["abstract"] == stored.abstract and data["title"] == stored.title
    assert data["authors"] == list(stored.authors)
    assert data["pdf_url"] == stored.pdf_url and data["abs_url"] == stored.abs_url
    bib = data["citations"]["bibtex"]
    assert bib.startswith(f"@misc{{{wanted},") and f"eprint = {{{wanted}}}" in bib
    assert f"title = {{{stored.title}}}" in bib
    similar = await client.call_tool("similar", {"id": wanted, "limit": 5})
    assert similar.structured_content is not None
    near = [p["arxiv_id"] for p in similar.structured_content["papers"]]
    assert near and wanted not in near and corpus.hidden not in near
    assert set(near) < set(corpus.ids)


async def check_resources(client: Client, corpus: Corpus) -> None:
    templates = {t.uri_template for t in (await client.list_resource_templates())
                 .resource_templates}
    assert templates == {"paper://{arxiv_id}", "listing://{day}"}
    stored = corpus.store.get_paper(corpus.ids[0])
    assert stored is not None
    page = await read_text(client, f"paper://{stored.arxiv_id}")
    assert page.startswith(f"# {stored.title}\n") and stored.abstract in page
    listing = await read_text(client, f"listing://{DAY}")
    assert f"{len(corpus.ids) - 1} papers" in listing
    assert all(i in listing for i in corpus.ids if i != corpus.hidden)
    assert corpus.hidden not in listing
    with pytest.raises(MCPError, match=f"no paper {corpus.hidden} on this instance"):
        await client.read_resource(f"paper://{corpus.hidden}")
    with pytest.raises(MCPError, match="date must be a day written YYYY-MM-DD"):
        await client.read_resource("listing://yesterday")


async def read_text(client: Client, uri: str) -> str:
    contents = (await client.read_resource(uri)).contents
    assert len(contents) == 1 and isinstance(contents[0], TextResourceContents)
    assert contents[0].mime_type == "text/markdown"
    return contents[0].text


async def check_errors(client: Client, corpus: Corpus) -> None:
    """Each refusal is an error result carrying the CLI's one-line message."""
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("get_paper", {"id": "2501.99999"}, "no paper 2501.99999 on this instance"),
        ("get_paper", {"id": corpus.hidden}, f"no paper {corpus.hidden} on this instance"),
        ("similar", {"id": corpus.hidden}, f"no paper {corpus.hidden} on this instance"),
        ("get_paper", {"id": "not an id"}, "is not an arXiv identifier"),
        ("trending", {"date": "2025-02-30"},
         "date must be a day written YYYY-MM-DD (got '2025-02-30')"),
        ("trending", {"category": "cs.XX"}, "unknown category 'cs.XX'"),
        ("search", {"query": "x", "since": "18/03/2025"},
         "since must be a day written YYYY-MM-DD (got '18/03/2025')"),
        ("search", {"query": "x", "since": "2025-03-19", "until": "2025-03-18"},
         "--since 2025-03-19 is after --until 2025-03-18"),
        ("search", {"query": "x", "mode": "semantic"}, "search by meaning is switched off"),
        ("search", {"query": "x", "author": "%"}, "has no letters or digits"),
        ("search", {"query": "x", "limit": 51}, "less than or equal to 50"),
        ("search", {"query": "x" * 1001}, "at most 1000 characters"),
        ("trending", {"period": "year"}, "'day', 'week' or 'month'"),
    ]
    for tool, args, message in cases:
        result = await client.call_tool(tool, args)
        assert result.is_error, (tool, args)
        assert message in text_of(result), (tool, args, text_of(result))


# --- stdio ----------------------------------------------------------------------------------
def stdio_params(corpus: Corpus) -> StdioServerParameters:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
           "PAPERWIRE_HOME": str(corpus.home), "PAPERWIRE_EMBEDDER": "none"}
    return StdioServerParameters(command=sys.executable, args=["-m", "paperwire", "mcp"],
                                 env=env, cwd=str(ROOT))


@pytest.mark.heavy
def test_stdio_server_answers_every_tool(corpus: Corpus) -> None:
    async def check() -> None:
        async with Client(stdio_params(corpus)) as client:
            await check_everything(client, corpus)

    run(check)


def test_stdio_server_with_bad_settings_says_why(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PAPERWIRE_HOME": str(tmp_path),
           "PAPERWIRE_BATCH_SIZE": "many"}
    done = subprocess.run([sys.executable, "-m", "paperwire.mcp"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "PAPERWIRE_BATCH_SIZE='many'" in done.stderr


# --- streamable HTTP ------------------------------------------------------------------------
def http_client(url: str, token: str | None = None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers)))


@pytest.fixture(scope="module")
def http_url(corpus: Corpus) -> Iterator[str]:
    server = build_server(corpus.settings, corpus.store)

    @server.tool()
    def whoami(ctx: Context) -> str:
        """Test-only: the caller a write tool would act for."""
        return require_user(ctx).email

    clock = [6_000.0]  # the anonymous limit's minute, held still so the test cannot straddle two
    app = streamable_http_app(corpus.settings, corpus.store, server=server,
                              token_user=lambda t: accounts.api_token_user(corpus.store, t),
                              anonymous_per_minute=1_000, clock=lambda: clock[0])
    with serve(app, lifespan=True) as origin:
        yield f"{origin}/mcp"


def test_http_server_answers_every_tool_anonymously(corpus: Corpus, http_url: str) -> None:
    async def check() -> None:
        async with http_client(http_url) as client:
            await check_everything(client, corpus, {"whoami"})
            refused = await client.call_tool("whoami", {})
            assert refused.is_error and "needs a personal API token" in text_of(refused)

    run(check)


def test_http_token_holder_is_known_to_tools(corpus: Corpus, http_url: str) -> None:
    async def check() -> None:
        async with http_client(http_url, corpus.token) as client:
            result = await client.call_tool("whoami", {})
            assert not result.is_error and text_of(result) == "ada@example.org"
            paper = await client.call_tool("get_paper", {"id": corpus.ids[1]})
            assert paper.structured_content is not None
            assert paper.structured_content["arxiv_id"] == corpus.ids[1]

    run(check)


@pytest.mark.parametrize("header", ["Bearer pw_not-a-live-token", "Bearer", "Basic YTpi",
                                    "Bearer " + "pw_" + "x" * 300])
def test_http_refuses_a_bad_token(corpus: Corpus, http_url: str, header: str) -> None:
    answer = httpx.post(http_url, headers={"Authorization": header},
                        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "invalid API token" in answer.json()["error"]


def test_http_refuses_a_bad_token_through_the_sdk_client(corpus: Corpus, http_url: str
                                                         ) -> None:
    async def check() -> None:
        async with http_client(http_url, "pw_revoked") as client:
            await client.list_tools()

    # The SDK turns the 401 (checked above on the wire) into an MCPError; the session never
    # gets to list anything.
    with pytest.raises(ExceptionGroup) as caught:
        run(check)
    assert caught.group_contains(MCPError, match="error response", depth=None)


def test_http_anonymous_callers_are_limited(corpus: Corpus) -> None:
    clock = [60.0 * 1_000]
    app = streamable_http_app(corpus.settings, corpus.store,
                              token_user=lambda t: accounts.api_token_user(corpus.store, t),
                              anonymous_per_minute=3, clock=lambda: clock[0])
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    with serve(app, lifespan=True) as origin:
        url = f"{origin}/mcp"
        statuses = [httpx.post(url, json=ping).status_code for _ in range(3)]
        assert 429 not in statuses
        limited = httpx.post(url, json=ping)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
        assert "at most 3 a minute" in limited.json()["error"]
        # A token holder is not limited; the next minute, anonymous callers may go on.
        authed = httpx.post(url, json=ping, headers={"Authorization": f"Bearer {corpus.token}"})
        assert authed.status_code != 429
        clock[0] += 60
        assert httpx.post(url, json=ping).status_code != 429


# --- mounted on the web app ----------------------------------------------------------------
def test_web_app_serves_mcp_at_slash_mcp(corpus: Corpus) -> None:
    """The whole site, served by uvicorn with its lifespan: anonymous reads work through the
    SDK client (no CSRF token needed), a bad token is 401, and the setting's limit holds."""
    per_minute = 8
    app = create_app(corpus.settings.replace(mcp_anonymous_per_minute=per_minute),
                     corpus.store)
    with serve(app, lifespan=True) as origin:
        url = f"{origin}/mcp"

        async def check() -> None:
            async with http_client(url) as client:
                assert {t.name for t in (await client.list_tools()).tools} == TOOLS
                found = await client.call_tool("get_paper", {"id": corpus.ids[0]})
                assert found.structured_content is not None
                assert found.structured_content["arxiv_id"] == corpus.ids[0]

        run(check)
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        # The site refuses a bad token before any route (MCP's own check never sees it); an
        # MCP client asks for JSON, and gets the site's JSON error.
        refused = httpx.post(url, json=ping, headers={
            "Authorization": "Bearer pw_nope", "Accept": "application/json, text/event-stream"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert "API token is not valid" in refused.json()["error"]
        authed = httpx.post(url, json=ping, headers={"Authorization": f"Bearer {corpus.token}"})
        assert authed.status_code == 200 and authed.json()["id"] == 1
        # The real clock may turn a minute over once during the loop: 2 × the limit + 1
        # requests reach the limit in any case.
        statuses = [httpx.post(url, json=ping).status_code for _ in range(2 * per_minute + 1)]
        assert 429 in statuses, statuses
        assert set(statuses) == {200, 429}, statuses


# --- a second, independent client: the MCP Inspector's CLI from npm -----------------------
INSPECTOR = "@modelcontextprotocol/inspector"


@pytest.mark.slow
def test_mcp_inspector_cli_lists_and_calls_tools(corpus: Corpus) -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx is not installed (the MCP Inspector CLI comes from npm)")
    params = stdio_params(corpus)
    env = {**os.environ, **(params.env or {})}
    base = [npx, "-y", INSPECTOR, "--cli",
            *[f"-e{k}={v}" for k, v in (params.env or {}).items() if k != "PATH"],
            "--", params.command, *params.args]

    def inspect(*args: str) -> dict[str, Any]:
        done = subprocess.run([*base, *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0 and ("E404" in done.stderr or "ENOTFOUND" in done.stderr
                                     or "EAI_AGAIN" in done.stderr):
            pytest.skip(f"the MCP Inspector CLI could not be fetched from npm: "
                        f"{done.stderr.strip()[-300:]}")
        assert done.returncode == 0, done.stderr[-2000:]
        found: dict[str, Any] = json.loads(done.stdout)
        return found

    listed = inspect("--method", "tools/list")
    assert {t["name"] for t in listed["tools"]} == TOOLS
    called = inspect("--method", "tools/call", "--tool-name", "get_paper",
                     "--tool-arg", f"id={corpus.ids[0]}")
    stored = corpus.store.get_paper(corpus.ids[0])
    assert stored is not None
    assert called["structuredContent"]["abstract"] == stored.abstract
    missing = inspect("--method", "tools/call", "--tool-name", "get_paper",
                      "--tool-arg", "id=2501.99999")
    assert missing["isError"] is True
    assert "no paper 2501.99999 on this instance" in missing["content"][0]["text"]


def test_day_constant_matches_the_sample(corpus: Corpus) -> None:
    # The checks above lean on every corpus paper being of DAY; say so plainly if not.
    _, total = corpus.store.papers_between(date.fromisoformat(DAY), date.fromisoformat(DAY))
    assert total == len(corpus.ids) - 1
