"""SMTP over TLS against a real server on 127.0.0.1: STARTTLS, smtps://, PAPERWIRE_SMTP_CA_FILE."""

from __future__ import annotations

import smtplib
from pathlib import Path
from typing import Literal

import pytest

from paperwire.errors import ConfigError
from paperwire.mail import Delivery, MailError, SmtpConfig, SMTPMailer, compose
from paperwire.settings import Settings
from tests.smtp_server import running_smtp_server

USER, PASSWORD = "mailer", "s3cret:/"


def settings_for(tmp_path: Path, url: str, ca_file: str | None) -> Settings:
    return Settings(home=tmp_path, embedder="none", progress=False,
                    mail_from="paperwire <digest@papers.example.org>", smtp_url=url,
                    smtp_ca_file=ca_file or "", smtp_timeout=5.0)


def send(settings: Settings, subject: str = "hi") -> None:
    """One message down the digest's path (SMTPMailer.send → send_many), retrying fast."""
    mailer = SMTPMailer(settings, retries=2, backoff_s=0.01)
    mailer.send(compose(settings, "ada@example.org", subject, "body"), kind="test")


def test_starttls_with_auth_encrypts_before_the_password(tmp_path: Path) -> None:
    with running_smtp_server(auth=(USER, PASSWORD), tls="starttls") as server:
        # The server really insists: a client that skips STARTTLS gets nowhere.
        with smtplib.SMTP(server.host, server.port, timeout=5) as plain:
            plain.ehlo()
            assert plain.has_extn("starttls") and not plain.has_extn("auth")
            assert plain.mail("x@example.org")[0] == 530  # "Must issue a STARTTLS command first"
        assert server.sink.messages == [] and server.sink.auths == []

        assert server.url.startswith("smtp://")
        settings = settings_for(tmp_path, server.login_url(USER, PASSWORD), server.ca_file)
        send(settings, "over starttls")
        [got] = server.sink.messages
        assert got.message["Subject"] == "over starttls" and got.rcpt_tos == ["ada@example.org"]
        assert got.starttls and got.tls is not None and got.tls.startswith("TLSv1.")
        # The one login the server saw came over the encrypted session.
        assert server.sink.auths == [(USER, got.tls)]


# aiosmtpd's auth_require_tls counts STARTTLS only, so on smtps:// it is off and it warns.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_delivers(tmp_path: Path) -> None:
    with running_smtp_server(auth=(USER, PASSWORD), tls="implicit") as server:
        assert server.url.startswith("smtps://")
        settings = settings_for(tmp_path, server.login_url(USER, PASSWORD), server.ca_file)
        assert SmtpConfig.from_url(settings.smtp_url).implicit_tls
        send(settings, "over smtps")
        [got] = server.sink.messages
        assert got.message["Subject"] == "over smtps"
        assert got.tls is not None and not got.starttls  # TLS from the first byte
        assert server.sink.auths == [(USER, got.tls)]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_untrusted_certificate_is_refused_at_once(tls: Literal["starttls", "implicit"],
                                                  tmp_path: Path) -> None:
    with running_smtp_server(auth=(USER, PASSWORD), tls=tls) as server:
        # No CA file: the system's trust store, which has never heard of trustme's CA.
        settings = settings_for(tmp_path, server.login_url(USER, PASSWORD), None)
        with pytest.raises(MailError, match="certificate not trusted.*PAPERWIRE_SMTP_CA_FILE"):
            send(settings)
        # A digest run: the message fails on its first attempt (a certificate does not heal
        # between retries), and is not counted as a bounce of the subscriber's address.
        results: list[Delivery] = []
        SMTPMailer(settings, retries=3, backoff_s=1.0).send_many(
            [(0, compose(settings, "ada@example.org", "hi", "body"))], kind="digest",
            on_result=lambda _key, delivery: results.append(delivery))
        assert [(d.outcome, d.attempts) for d in results] == [("failed", 1)]
        assert server.sink.messages == [] and server.sink.auths == []  # password not sent


def test_certificate_for_another_host_is_refused(tmp_path: Path) -> None:
    # The CA is trusted but the certificate names someone else: host name checks stay on.
    with running_smtp_server(tls="implicit", cert_hosts=("mail.example.org",)) as server:
        settings = settings_for(tmp_path, server.url, server.ca_file)
        with pytest.raises(MailError, match="certificate not trusted.*(mismatch|match)"):
            send(settings)
        assert server.sink.messages == []


def test_a_different_private_ca_is_not_trusted(tmp_path: Path) -> None:
    with running_smtp_server(tls="starttls") as other, \
            running_smtp_server(tls="starttls") as server:
        settings = settings_for(tmp_path, server.url, other.ca_file)
        with pytest.raises(MailError, match="certificate not trusted"):
            send(settings)
        assert server.sink.messages == []


def test_unusable_ca_file_is_a_config_error(tmp_path: Path) -> None:
    url = "smtp://127.0.0.1:1"  # never dialled: the CA file is checked first
    with pytest.raises(ConfigError, match="PAPERWIRE_SMTP_CA_FILE=.*missing.pem"):
        SMTPMailer(settings_for(tmp_path, url, str(tmp_path / "missing.pem")))
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("this is not a certificate\n")
    with pytest.raises(ConfigError, match="PAPERWIRE_SMTP_CA_FILE"):
        SMTPMailer(settings_for(tmp_path, url, str(not_pem)))
    with pytest.raises(ConfigError, match="PAPERWIRE_SMTP_CA_FILE"):
        SmtpConfig.from_url(url, ca_file=str(tmp_path))  # a directory


def test_smtp_ca_file_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("PAPERWIRE_SMTP_CA_FILE", "/etc/paperwire/ca.pem")
    assert Settings.from_env().smtp_ca_file == "/etc/paperwire/ca.pem"


def test_plain_server_is_unaffected(tmp_path: Path) -> None:
    # No STARTTLS offered and no CA file: plain SMTP as before (a relay on localhost).
    with running_smtp_server() as server:
        send(settings_for(tmp_path, server.url, None))
        [got] = server.sink.messages
        assert got.tls is None and not got.starttls

