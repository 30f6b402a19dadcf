"""E-mail digests and alerts against a real SMTP server on 127.0.0.1 (tests/smtp_server.py):
opt-in, contents, headers, unsubscribe, exactly-once across kill -9, bounces, dropped
connections, the worker's slots; the subscription tables on both backends."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from paperwire import accounts
from paperwire.cli import cli
from paperwire.digest import Composer, message_id, period_key, send_digests
from paperwire.errors import Busy
from paperwire.mail import OutboxMailer, SmtpConfig, SMTPMailer, compose
from paperwire.models import LedgerEntry, SearchSpec
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.web import create_app
from tests.app import load_corpus
from tests.app import make_settings as site_settings
from tests.helpers import csrf, follow_mailed_link, run_queues
from tests.shared_data import arxiv_lines
from tests.smtp_server import SmtpServer, running_smtp_server

DAY = date(2025, 3, 25)  # a Tuesday with 399 papers in the sample's first 2,000
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the sample's first 2,000 papers (2025-03-18 … 28), keyword-indexed."""
    home = tmp_path_factory.mktemp("digest-corpus")
    with Store.open(Settings(home=home)) as store:
        load_corpus(store, home, lines=arxiv_lines(2000), index=True)
    return home


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def home(corpus: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(corpus, copy)
    return copy


def make_settings(home: Path, smtp: SmtpServer | None = None, **extra: object) -> Settings:
    values: dict[str, object] = {"smtp_url": smtp.url if smtp else "", **extra}
    return site_settings(home, base_url="https://papers.example.org", secret_key="k" * 40,
                         smtp_concurrency=2, **values)


def web(settings: Settings, store: Store) -> TestClient:
    # https: the site's base URL is https, so its cookies are Secure.
    return TestClient(create_app(settings, store), base_url="https://testserver")


def form_token(client: TestClient) -> str:
    return csrf(client, "/subscribe")


def fast_mailer(settings: Settings) -> SMTPMailer:
    return SMTPMailer(settings, retries=3, backoff_s=0.01)


# --- the store, on SQLite and PostgreSQL ---------------------------------------------------
def test_subscription_store(store: Store) -> None:
    sub = store.upsert_subscription("Ada@Example.org", period="weekly", categories=["cs.CL"],
                                    searches=[SearchSpec("retrieval", ("cs.IR",))])
    assert (sub.email, sub.status, sub.period) == ("ada@example.org", "pending", "weekly")
    assert sub.searches[0].categories == ("cs.IR",) and len(sub.token) >= 32
    # Same address again: preferences change, an identical saved search is not doubled.
    again = store.upsert_subscription("ada@example.org", period="daily", status="active",
                                      searches=[SearchSpec("retrieval", ("cs.IR",)),
                                                SearchSpec("parsing")])
    assert again.id == sub.id and again.status == "active" and again.period == "daily"
    assert [s.query for s in again.searches] == ["retrieval", "parsing"]
    assert store.saved_search(again.searches[1].token) == (again.searches[1], "active")
    assert store.subscription(token=sub.token) == again
    assert [s.email for s in store.subscriptions(status="active", period="daily")] == [
        "ada@example.org"]
    store.set_subscription_status(sub.id, "bounced", "550 no such user")
    bounced = store.subscription(email="ADA@example.org")
    assert bounced is not None and bounced.bounce_reason == "550 no such user"


def test_ledger_and_worker_slots(store: Store) -> None:
    sub = store.upsert_subscription("b@example.org", status="active")
    key = period_key("daily", DAY)
    entry = LedgerEntry(sub.id, "daily", key, message_id(sub.id, key, "x"), ("2503.00001",))
    store.claim_digests([entry])
    store.claim_digests([entry])  # a rerun: one row, a second attempt
    row = store.digest_ledger(key)[sub.id]
    assert (row["status"], row["attempts"], row["papers"]) == ("sending", 2, ["2503.00001"])
    store.mark_digest(sub.id, key, "sent", as_of=DAY)
    store.claim_digests([entry])  # sent is final
    assert store.digest_ledger(key)[sub.id]["status"] == "sent"
    assert store.digest_counts(key) == {"sent": 1}
    found = store.subscription(sub_id=sub.id)
    assert found is not None and found.last_digest_on == DAY
    assert period_key("weekly", DAY) == period_key("weekly", date(2025, 3, 29)) == \
        "weekly:2025-W13"
    assert store.claim_worker_slot("digest-daily", "2025-03-25T06:00")
    assert not store.claim_worker_slot("digest-daily", "2025-03-25T06:00")
    store.finish_worker_slot("digest-daily", "2025-03-25T06:00", "done", "ok")
    assert store.worker_runs()[0]["status"] == "done"



def test_a_second_send_of_the_same_period_waits_its_turn(store: Store, tmp_path: Path) -> None:
    # Two runs at once would each take the other's "sending" rows for a crash's leftovers.
    store.upsert_subscription("c@example.org", status="active", trending=True)
    settings = Settings(home=tmp_path, database_url=str(store.engine.url
                                                        .render_as_string(hide_password=False)))
    with store.exclusive(f"digest:{period_key('daily', DAY)}"):
        with pytest.raises(Busy, match="already running"):
            send_digests(settings, store, "daily", DAY, mailer=OutboxMailer(store))
        # Another period is another lock.
        send_digests(settings, store, "daily", date(2025, 3, 26), mailer=OutboxMailer(store))
    # Released with its holder: the same period can run now.
    send_digests(settings, store, "daily", DAY, mailer=OutboxMailer(store))

# --- contents ------------------------------------------------------------------------------
def test_digest_contents_trending_and_saved_searches(home: Path) -> None:
    settings = make_settings(home, digest_size=5)
    with Store.open(settings) as store:
        sub = store.upsert_subscription(
            "c@example.org", status="active", categories=["cs.CV"],
            searches=[SearchSpec("gaussian splatting"), SearchSpec("language model",
                                                                   ("cs.CL",))])
        composer = Composer(settings, store)
        digest = composer.compose(sub, "daily", DAY)
        trending, splat, lm = digest.sections
        assert len(trending.papers) == 5
        assert all("cs.CV" in p.categories for p in trending.papers)
        assert splat.papers and all("splat" in (p.title + p.abstract).lower()
                                    for p in splat.papers)
        assert lm.papers and all("cs.CL" in p.categories for p in lm.papers)
        # New since the last digest: today's papers only, shown once across sections.
        from paperwire.models import paper_day

        assert {paper_day(p) for s in digest.sections for p in s.papers} == {DAY}
        assert len(digest.paper_ids) == len(set(digest.paper_ids))
        # A hidden paper leaves the digest.
        hidden = trending.papers[0].arxiv_id
        store.hide_paper(hidden, "spam", None, "cli")
        again = Composer(settings, store).compose(sub, "daily", DAY)
        assert hidden not in again.paper_ids
        # Nothing is dated on a Sunday: its digest ranks the latest day, Friday's papers
        # (a 06:00 digest comes before its own day's papers are dated).
        sunday = Composer(settings, store).compose(sub, "daily", date(2025, 3, 23))
        assert {paper_day(p) for p in sunday.sections[0].papers} == {date(2025, 3, 21)}
        # Long after the last papers there is nothing new: empty, skipped, not sent again.
        quiet = date(2025, 4, 15)
        report = send_digests(settings, store, "daily", quiet, mailer=OutboxMailer(store))
        assert (report.sent, report.skipped) == (0, 1)
        assert store.digest_ledger("daily:2025-04-15")[sub.id]["status"] == "skipped"


def test_headers_and_encoding(home: Path, smtp: SmtpServer) -> None:
    settings = make_settings(home, smtp, mail_from="Pâperwire Zürich <digest@example.org>")
    with Store.open(settings) as store:
        store.upsert_subscription("d@example.org", status="active",
                                  searches=[SearchSpec("federated", author="Kröger")])
        sub = store.upsert_subscription("d@example.org", status="active")
        report = send_digests(settings, store, "daily", DAY, mailer=fast_mailer(settings))
    assert report.sent == 1
    (got,) = smtp.sink.to("d@example.org")
    m = got.message
    token = sub.token
    # (Long headers arrive folded; unfolding leaves a leading space.)
    unsubscribe = f"https://papers.example.org/unsubscribe/{token}"
    assert m["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert m["Message-ID"] == f"<digest.{sub.id}.daily.2025-03-25@example.org>"
    assert m["Date"].datetime is not None and "Tue 25 Mar 2025" in m["Subject"]
    # Non-ASCII travels encoded (the raw message is 7-bit) and decodes to the original.
    assert got.raw.isascii() and b"=?utf-8?" in got.raw
    assert str(m["From"]) == "Pâperwire Zürich <digest@example.org>"
    assert m.get_content_type() == "multipart/alternative"
    text = m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = m.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Lars Kröger" in text and "Kröger" in html.unescape(page)
    assert f"https://papers.example.org/unsubscribe/{token}" in text
    assert "<img" not in page and "<style" not in page and 'style="' in page
    assert "/feeds/alerts/" in text


def test_html_part_escapes_titles(home: Path) -> None:
    settings = make_settings(home)
    with Store.open(settings) as store:
        sub = store.upsert_subscription("e@example.org", status="active")
        digest = Composer(settings, store).compose(sub, "daily", DAY)
        from dataclasses import replace

        evil = replace(digest.sections[0].papers[0], title="<script>x</script> & ∑")
        section = replace(digest.sections[0], papers=(evil,))
        message = Composer(settings, store).message(replace(digest, sections=(section,)))
    page = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt; &amp; ∑" in page


# --- opt-in and unsubscribe on the web ------------------------------------------------------
def test_opt_in_end_to_end(home: Path, smtp: SmtpServer) -> None:
    settings = make_settings(home, smtp)
    with Store.open(settings) as store, web(settings, store) as client:
        form = {"csrf_token": form_token(client), "email": "Fay@Example.org", "period": "daily",
                "trending": "yes", "categories": "cs.CV", "query": "gaussian splatting"}
        answer = client.post("/subscribe", data=form)
        assert answer.status_code == 200 and "Check your inbox" in answer.text
        # Nothing stored yet; the same answer for an address that is already subscribed.
        assert store.subscription(email="fay@example.org") is None
        store.upsert_subscription("known@example.org", status="active")
        again = client.post("/subscribe", data={**form, "email": "known@example.org"})
        assert again.text.replace("known@example.org", "X") == answer.text.replace(
            "Fay@Example.org", "X")
        run_queues(store, settings)  # the background sender's pass: the request only queued
        (mail,) = smtp.sink.to("fay@example.org")
        link = re.search(r"https://papers\.example\.org(/subscribe/confirm\?token=\S+)",
                         mail.message.get_content())
        assert link
        (kept,) = store.outbox(to="fay@example.org")  # the queue row, marked once sent
        assert kept["kind"] == "confirm" and kept["status"] == "sent" and kept["sent_at"]
        assert "You are subscribed" in follow_mailed_link(client, link.group(1)).text
        sub = store.subscription(email="fay@example.org")
        assert sub is not None and sub.status == "active" and sub.categories == ("cs.CV",)
        assert [s.query for s in sub.searches] == ["gaussian splatting"]
        assert client.get("/subscribe/confirm?token=forged").status_code == 400
        # Without a CSRF token the form is refused.
        assert client.post("/subscribe", data={"email": "x@example.org"}).status_code == 403
        report = send_digests(settings, store, "daily", DAY, mailer=fast_mailer(settings))
        assert report.sent == 2
    digests = [m for m in smtp.sink.to("fay@example.org") if "List-Unsubscribe" in m.message]
    assert len(digests) == 1


def test_the_form_cannot_flood_an_inbox(home: Path, smtp: SmtpServer) -> None:
    settings = make_settings(home, smtp, mails_per_address_per_hour=2, subscribe_per_ip_per_hour=4)
    with Store.open(settings) as store, web(settings, store) as client:
        form = {"csrf_token": form_token(client), "email": "victim@example.org", "period": "daily",
                "trending": "yes"}
        answers = [client.post("/subscribe", data=form) for _ in range(4)]
        # The same answer every time, but only two mails reach the address.
        assert {a.status_code for a in answers} == {200}
        assert len({a.text for a in answers}) == 1
        run_queues(store, settings)
        assert len(smtp.sink.to("victim@example.org")) == 2
        # One client asking for many addresses is told to wait.
        other = client.post("/subscribe", data={**form, "email": "other@example.org"})
        assert other.status_code == 429 and int(other.headers["Retry-After"]) > 0
        assert smtp.sink.to("other@example.org") == []

def test_unsubscribe_page_and_one_click(home: Path, smtp: SmtpServer) -> None:
    settings = make_settings(home, smtp)
    with Store.open(settings) as store, web(settings, store) as client:
        a = store.upsert_subscription("g@example.org", status="active")
        b = store.upsert_subscription("h@example.org", status="active")
        page = client.get(f"/unsubscribe/{a.token}")
        assert page.status_code == 200 and 'method="post"' in page.text
        assert store.subscription(sub_id=a.id).status == "active"  # type: ignore[union-attr]
        # The page's button: a plain POST, no CSRF token, no session.
        assert client.post(f"/unsubscribe/{a.token}").status_code == 200
        # RFC 8058 one-click, as a mail provider sends it.
        fresh = TestClient(client.app)
        one_click = fresh.post(f"/unsubscribe/{b.token}", content=b"List-Unsubscribe=One-Click",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert one_click.status_code == 200
        assert {s.status for s in (store.subscription(sub_id=a.id),  # type: ignore[union-attr]
                                   store.subscription(sub_id=b.id))} == {"unsubscribed"}
        assert client.post("/unsubscribe/nope").status_code == 404
        report = send_digests(settings, store, "daily", DAY, mailer=fast_mailer(settings))
    assert report.sent == 0 and smtp.sink.messages == []


def test_alert_feed_and_admin_preview(home: Path) -> None:
    settings = make_settings(home)
    with Store.open(settings) as store, web(settings, store) as client:
        sub = store.upsert_subscription("i@example.org", status="active",
                                        searches=[SearchSpec("gaussian splatting")])
        feed = client.get(f"/feeds/alerts/{sub.searches[0].token}.atom")
        assert feed.status_code == 200 and feed.headers["content-type"].startswith(
            "application/atom+xml")
        assert feed.text.count("<entry>") > 0 and "Splatting" in feed.text
        assert client.get("/feeds/alerts/unknown.atom").status_code == 404
        assert client.get("/admin/digest/preview?email=i@example.org").status_code == 403
        admin = store.create_user("root@example.org", "x", "Root", role="admin")
        assert admin is not None
        client.cookies.set("pw_session", accounts.start_session(store, settings, admin))
        preview = client.get("/admin/digest/preview?email=i@example.org&as_of=2025-03-25")
        assert preview.status_code == 200 and "List-Unsubscribe-Post" in preview.text


def test_verified_account_subscribes_without_a_round_trip(home: Path, smtp: SmtpServer
                                                          ) -> None:
    settings = make_settings(home, smtp)
    with Store.open(settings) as store, web(settings, store) as client:
        user = store.create_user("lee@example.org", "x", "Lee")
        assert user is not None
        client.cookies.set("pw_session", accounts.start_session(store, settings, user))
        form = {"csrf_token": form_token(client), "email": "lee@example.org", "period": "weekly",
                "query": "robot grasping"}
        client.post("/subscribe", data=form)  # not verified yet: a confirmation mail
        assert store.subscription(email="lee@example.org") is None
        run_queues(store, settings)
        assert len(smtp.sink.to("lee@example.org")) == 1
        store.mark_verified(user.id)  # which ends the session: sign in again
        verified = store.user_by_id(user.id)
        assert verified is not None
        client.cookies.set("pw_session", accounts.start_session(store, settings, verified))
        answer = client.post("/subscribe", data={**form, "csrf_token": form_token(client)})
        assert "You are subscribed" in answer.text
        sub = store.subscription(email="lee@example.org")
        assert sub is not None and (sub.status, sub.user_id) == ("active", user.id)
        assert not sub.trending and sub.searches[0].query == "robot grasping"
        page = client.get("/subscribe")
        assert "robot grasping" in page.text and f"/unsubscribe/{sub.token}" in page.text
        # The account page lists it, with its feed and an unsubscribe button that works.
        account = client.get("/account.json").json()["subscriptions"]
        assert [(a["email"], a["period"], a["status"]) for a in account] == [
            ("lee@example.org", "weekly", "active")]
        assert account[0]["feeds"][0]["url"] == f"/feeds/alerts/{sub.searches[0].token}.atom"
        page = client.get("/account").text
        assert 'href="/subscribe"' in page and f'action="/unsubscribe/{sub.token}"' in page
        client.post(f"/unsubscribe/{sub.token}")
        gone = client.get("/account.json").json()["subscriptions"]
        assert gone[0]["status"] == "unsubscribed"


# --- SMTP failures ------------------------------------------------------------------------
def test_refused_recipient_is_bounced_and_not_mailed_again(home: Path, smtp: SmtpServer
                                                           ) -> None:
    settings = make_settings(home, smtp)
    smtp.sink.refuse.add("gone@example.org")
    with Store.open(settings) as store:
        for n in range(4):
            store.upsert_subscription(f"ok{n}@example.org", status="active")
        gone = store.upsert_subscription("gone@example.org", status="active")
        report = send_digests(settings, store, "daily", DAY, mailer=fast_mailer(settings))
        assert (report.sent, report.bounced, report.failed) == (4, 1, 0)
        found = store.subscription(sub_id=gone.id)
        assert found is not None and found.status == "bounced"
        assert "550" in (found.bounce_reason or "")
        smtp.sink.refuse.clear()
        later = send_digests(settings, store, "daily", date(2025, 3, 26),
                             mailer=fast_mailer(settings))
        assert later.sent == 4
    assert smtp.sink.to("gone@example.org") == []


def test_dropped_connection_is_retried(home: Path, smtp: SmtpServer) -> None:
    settings = make_settings(home, smtp)
    smtp.sink.drop_after = 3
    with Store.open(settings) as store:
        for n in range(8):
            store.upsert_subscription(f"r{n}@example.org", status="active")
        report = send_digests(settings, store, "daily", DAY, mailer=fast_mailer(settings))
    assert smtp.sink.drops == 1 and report.sent == 8 and report.failed == 0
    assert sorted(Counter(r for m in smtp.sink.messages for r in m.rcpt_tos).values()) == \
        [1] * 8


def test_smtp_url_parsing() -> None:
    config = SmtpConfig.from_url("smtps://user%40x:p%3Ass@mail.example.org")
    assert (config.host, config.port, config.implicit_tls) == ("mail.example.org", 465, True)
    assert (config.username, config.password) == ("user@x", "p:ss")
    assert SmtpConfig.from_url("smtp://localhost").port == 587
    from paperwire.errors import ConfigError

    with pytest.raises(ConfigError, match="smtp://"):
        SmtpConfig.from_url("http://localhost")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_auth(tmp_path: Path) -> None:
    from paperwire.mail import MailError

    with running_smtp_server(auth=("mailer", "s3cret:/")) as server:
        good = make_settings(tmp_path, smtp_url=f"smtp://mailer:s3cret%3A%2F@127.0.0.1:"
                             f"{server.port}")
        fast_mailer(good).send(compose(good, "a@example.org", "hi", "body"), kind="test")
        assert len(server.sink.messages) == 1
        bad = good.replace(smtp_url=f"smtp://mailer:wrong@127.0.0.1:{server.port}")
        with pytest.raises(MailError, match="535"):
            fast_mailer(bad).send(compose(bad, "a@example.org", "hi", "body"), kind="test")
        assert len(server.sink.messages) == 1


def test_single_send_raises_on_refusal(smtp: SmtpServer, tmp_path: Path) -> None:
    from paperwire.mail import MailError

    settings = make_settings(tmp_path, smtp)
    smtp.sink.refuse.add("no@example.org")
    mailer = fast_mailer(settings)
    mailer.send(compose(settings, "yes@example.org", "hi", "body"), kind="test")
    with pytest.raises(MailError) as caught:
        mailer.send(compose(settings, "no@example.org", "hi", "body"), kind="test")
    assert caught.value.permanent and len(smtp.sink.messages) == 1


# --- exactly once across kill -9 ------------------------------------------------------------
def _cli_env(home: Path, smtp: SmtpServer) -> dict[str, str]:
    return {**os.environ, "PAPERWIRE_HOME": str(home), "PAPERWIRE_EMBEDDER": "none",
            "PAPERWIRE_SMTP_URL": smtp.url, "PAPERWIRE_SMTP_CONCURRENCY": "3",
            "PAPERWIRE_SECRET_KEY": "k" * 40, "PAPERWIRE_PROGRESS": "false"}


@pytest.mark.heavy
def test_kill_mid_batch_then_rerun_sends_each_exactly_once(home: Path, smtp: SmtpServer
                                                             ) -> None:
    settings = make_settings(home, smtp)
    with Store.open(settings) as store:
        subs = [store.upsert_subscription(f"k{n:02d}@example.org", status="active")
                for n in range(30)]
    smtp.sink.stall_after = 10
    command = [sys.executable, "-m", "paperwire", "digest", "send", "--period", "daily",
               "--as-of", DAY.isoformat()]
    proc = subprocess.Popen(command, env=_cli_env(home, smtp), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(smtp.sink.messages) < 10 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        assert len(smtp.sink.messages) == 10
        # Kill only once the sender has recorded the ten the server took, so that no
        # repeat is possible and the count below is exact.
        with Store.open(settings) as store:
            while store.digest_counts(period_key("daily", DAY)).get("sent", 0) < 10:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    smtp.sink.stall_after = None
    rerun = subprocess.run(command, env=_cli_env(home, smtp), cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    per_address: dict[str, set[str]] = {}
    for m in smtp.sink.messages:
        per_address.setdefault(m.rcpt_tos[0], set()).add(m.message["Message-ID"])
    assert sorted(per_address) == [s.email for s in subs]
    assert all(len(ids) == 1 for ids in per_address.values())  # repeats share a Message-ID
    assert len(smtp.sink.messages) == 30  # nothing accepted before the kill was resent
    assert "0 failed" in rerun.stdout
    third = subprocess.run(command, env=_cli_env(home, smtp), cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert "0 sent" in third.stdout and "30 already sent" in third.stdout


# --- CLI: subscriptions, preview, worker -------------------------------------------------------
def run_cli(home: Path, *args: str, smtp: SmtpServer | None = None) -> tuple[int, str]:
    env = {"PAPERWIRE_HOME": str(home), "PAPERWIRE_EMBEDDER": "none",
           "PAPERWIRE_SECRET_KEY": "k" * 40, "PAPERWIRE_SMTP_URL": smtp.url if smtp else ""}
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_cli_add_import_list_preview(home: Path, tmp_path: Path) -> None:
    code, out = run_cli(home, "subscriptions", "add", "J@example.org", "--period", "weekly",
                        "--search", "diffusion", "--category", "cs.CV", "--confirmed")
    assert code == 0 and "active" in out
    code, out = run_cli(home, "subscriptions", "add", "pending@example.org")
    assert code == 0 and "pending" in out
    code, out = run_cli(home, "outbox", "--to", "pending@example.org")
    assert "Confirm your paperwire subscription" in out
    rows = tmp_path / "list.csv"
    rows.write_text("email,period,categories,searches\n"
                    "k1@example.org,daily,cs.CL,retrieval | parsing\n"
                    "not-an-address,daily,,\n"
                    "k2@example.org,hourly,,\n"
                    "k3@example.org,weekly,cs.NOPE,\n"
                    "k4@example.org,,,\n", encoding="utf-8")
    code, out = run_cli(home, "subscriptions", "import", str(rows), "--confirmed")
    assert code == 1
    assert "line 3, field 'email'" in out and "line 4, field 'period'" in out
    assert "line 5, field 'categories'" in out and "imported 2 subscription(s)" in out
    code, out = run_cli(home, "subscriptions", "list", "--json")
    listed = {s["email"]: s for s in json.loads(out[:out.rindex("]") + 1])}
    assert set(listed) == {"j@example.org", "pending@example.org", "k1@example.org",
                           "k4@example.org"}
    assert [s["query"] for s in listed["k1@example.org"]["searches"]] == ["retrieval",
                                                                          "parsing"]
    code, out = run_cli(home, "digest", "preview", "--email", "j@example.org", "--as-of",
                        "2025-03-28")
    assert code == 0 and "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in out
    assert "Message-ID: <digest." in out and "weekly:" not in out and "diffusion" in out
    code, out = run_cli(home, "subscriptions", "remove", "k4@example.org")
    assert code == 0
    code, out = run_cli(home, "digest", "preview", "--email", "k4@example.org")
    assert code == 1 and "no subscription" in out


def test_worker_once_twice_runs_each_slot_once(home: Path, smtp: SmtpServer) -> None:
    run_cli(home, "subscriptions", "add", "w@example.org", "--confirmed")
    args = ("worker", "--once", "--no-harvest", "--at", "2025-03-25T07:00")
    code, first = run_cli(home, *args, smtp=smtp)
    assert code == 0, first
    assert "index 2025-03-25T06:00: done" in first
    assert "digest-daily 2025-03-25T06:00: done" in first
    code, second = run_cli(home, *args, smtp=smtp)
    assert code == 0 and second.count("taken") == 2 and "done" not in second
    assert len(smtp.sink.to("w@example.org")) == 1
    # Before 06:00 nothing is due; on a Sunday the daily jobs are skipped.
    assert "nothing due" in run_cli(home, "worker", "--once", "--no-harvest", "--at",
                                    "2025-03-26T05:00", smtp=smtp)[1]
    code, sunday = run_cli(home, "worker", "--once", "--no-harvest", "--at",
                           "2025-03-23T09:00", smtp=smtp)
    assert "digest-daily 2025-03-23T06:00: skipped" in sunday
    assert len(smtp.sink.to("w@example.org")) == 1



def test_worker_resumes_a_slot_its_killed_predecessor_left_running(home: Path,
                                                                  smtp: SmtpServer) -> None:
    run_cli(home, "subscriptions", "add", "k@example.org", "--confirmed")
    slot = "2025-03-25T06:00"
    with Store.open(make_settings(home)) as store:
        # What a worker killed -9 mid-digest leaves: the slot claimed, never finished.
        assert store.claim_worker_slot("digest-daily", slot) == "claimed"
        store.claim_worker_slot("index", slot)
        store.finish_worker_slot("index", slot, "done", "ok")
        # While a live worker holds the job, the slot is not resumed under it.
        with store.exclusive("worker:digest-daily"):
            code, out = run_cli(home, "worker", "--once", "--no-harvest", "--at",
                                "2025-03-25T07:00", smtp=smtp)
            assert "digest-daily 2025-03-25T06:00: taken" in out
            assert smtp.sink.to("k@example.org") == []
    code, out = run_cli(home, "worker", "--once", "--no-harvest", "--at", "2025-03-25T07:00",
                        smtp=smtp)
    assert code == 0, out
    assert "digest-daily 2025-03-25T06:00: done" in out and "resumed" in out
    assert len(smtp.sink.to("k@example.org")) == 1
