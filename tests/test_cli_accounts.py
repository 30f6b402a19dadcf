"""The accounts and moderation commands: users create/grant/list, papers hide/unhide/hidden."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.settings import Settings
from paperwire.store import Store
from tests.helpers import make_user, paper


def run(home: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), "--no-progress", *args],
                                input=stdin)
    return result.exit_code, result.output


def test_users_create_grant_and_list(tmp_path: Path) -> None:
    code, out = run(tmp_path, "users", "create", "Ann@Example.org", "--name", "Ann",
                    "--password-stdin", stdin="a long password\n")
    assert code == 0 and "created ann@example.org (user)" in out
    code, out = run(tmp_path, "users", "create", "ann@example.org", "--password-stdin",
                    stdin="a long password\n")
    assert code == 1 and "already has an account" in out
    code, out = run(tmp_path, "users", "create", "bob@example.org", "--password-stdin",
                    stdin="short\n")
    assert code == 2 and "at least 8 characters" in out
    code, out = run(tmp_path, "users", "grant", "ANN@example.org", "moderator")
    assert code == 0 and "ann@example.org is now moderator" in out
    code, out = run(tmp_path, "users", "grant", "zed@example.org", "admin")
    assert code == 1 and "no account" in out
    code, out = run(tmp_path, "users", "grant", "ann@example.org", "king")
    assert code == 2
    code, out = run(tmp_path, "users", "list", "--json")
    [ann] = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and ann["role"] == "moderator" and ann["verified"]


def test_papers_hide_and_unhide(tmp_path: Path) -> None:
    with Store.open(Settings(home=tmp_path)) as store:
        store.write_batch([paper("2501.00001"), paper("2501.00002")])
    code, out = run(tmp_path, "papers", "hide", "arXiv:2501.00001v2", "--reason", "spam run")
    assert code == 0 and "hidden 2501.00001: spam run" in out
    code, out = run(tmp_path, "papers", "hidden", "--json")
    assert [json.loads(line)["arxiv_id"] for line in out.splitlines()] == ["2501.00001"]
    with Store.open(Settings(home=tmp_path)) as store:
        assert store.papers_between(None, None)[1] == 1
        assert store.moderation_log()[0]["actor"] == "cli"
    assert run(tmp_path, "papers", "hide", "2501.00003", "--reason", "x")[0] == 1
    assert run(tmp_path, "papers", "hide", "not-an-id", "--reason", "x")[0] == 2
    assert run(tmp_path, "papers", "hide", "2501.00002", "--reason", "  ")[0] == 2
    assert run(tmp_path, "papers", "hide", "2501.00002")[0] == 2  # --reason is required
    code, out = run(tmp_path, "papers", "unhide", "2501.00001")
    assert code == 0 and "unhidden 2501.00001" in out
    code, out = run(tmp_path, "papers", "unhide", "2501.00001")
    assert code == 0 and "was not hidden" in out
    with Store.open(Settings(home=tmp_path)) as store:
        assert store.papers_between(None, None)[1] == 2


def test_submissions_list_hide_and_unhide(tmp_path: Path) -> None:
    with Store.open(Settings(home=tmp_path)) as store:
        store.write_batch([paper("2501.00001"), paper("2501.00002")])
        ann = make_user(store, name="Ann <b>")
        store.add_submission("2501.00001", ann.id, "worth a look")
    code, out = run(tmp_path, "submissions", "list")
    assert code == 0 and "2501.00001" in out and "Ann <b>" in out and "hidden" not in out
    code, out = run(tmp_path, "submissions", "hide", "2501.00001", "--reason", "self-promotion")
    assert code == 0 and "self-promotion" in out
    with Store.open(Settings(home=tmp_path)) as store:
        shown = store.submissions_for(["2501.00001"])["2501.00001"]
        assert shown["hidden"] and shown["submitted_by"] is None and shown["note"] is None
        assert store.moderation_log()[0]["action"] == "hide-submission"
    [row] = [json.loads(line) for line in run(tmp_path, "submissions", "list", "--json")[1]
             .splitlines()]
    assert row["hidden"] and row["hidden_reason"] == "self-promotion"
    assert run(tmp_path, "submissions", "hide", "2501.00002", "--reason", "x")[0] == 1
    assert run(tmp_path, "submissions", "hide", "2501.00001", "--reason", " ")[0] == 2
    code, out = run(tmp_path, "submissions", "unhide", "2501.00001")
    assert code == 0
    with Store.open(Settings(home=tmp_path)) as store:
        assert store.submissions_for(["2501.00001"])["2501.00001"]["submitted_by"] == "Ann <b>"
