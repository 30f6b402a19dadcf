"""A real SMTP server on 127.0.0.1 for the mail tests (aiosmtpd in a thread).

It records every message it accepts and can be told to misbehave: refuse given recipients
with 550, drop the connection instead of accepting the next message, or stall (never
answer DATA) once it has accepted a number of messages, so a sender can be killed mid-batch.
With ``tls`` it speaks STARTTLS (and requires it) or implicit TLS, with a certificate from a
throwaway trustme CA whose PEM file the tests hand the sender as PAPERWIRE_SMTP_CA_FILE.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    tls: str | None = None  # the TLS version the message came over; None: plain TCP
    starttls: bool = False  # the session was upgraded by STARTTLS (not implicit TLS)


def _tls_version(server: Any) -> str | None:
    """The TLS version of the server side's current transport (after STARTTLS too)."""
    transport = server.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    return ssl_object.version() if ssl_object is not None else None


@dataclass
class Sink:
    """The handler: what it was sent, and how it should misbehave next."""

    messages: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # addresses answered 550 at RCPT
    drop_after: int | None = None  # after this many accepted, drop the next one's connection
    stall_after: int | None = None  # after this many accepted, never answer DATA
    drops: int = 0
    auths: list[tuple[str, str | None]] = field(default_factory=list)  # (login, TLS version)
    lock: threading.Lock = field(default_factory=threading.Lock)
    data_started: threading.Event = field(default_factory=threading.Event)  # a DATA arrived

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_started.set()
        while self.stall_after is not None and len(self.messages) >= self.stall_after:
            await asyncio.sleep(0.05)
        if self.drop_after is not None and len(self.messages) >= self.drop_after:
            self.drop_after = None
            self.drops += 1
            server.transport.close()
            return "421 4.4.2 connection dropped"
        raw = bytes(envelope.original_content or envelope.content)
        message = message_from_bytes(raw, policy=policy.default)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw,
                                          message, tls=_tls_version(server),
                                          starttls=session.ssl is not None))
        return "250 2.0.0 accepted"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address.lower() in
                    (r.lower() for r in m.rcpt_tos)]


@dataclass
class SmtpServer:
    host: str
    port: int
    sink: Sink
    scheme: str = "smtp"  # smtps: implicit TLS
    ca_file: str | None = None  # PEM of the CA that issued the server's certificate

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def login_url(self, user: str, password: str) -> str:
        return f"{self.scheme}://{quote(user, safe='')}:{quote(password, safe='')}@" \
            f"{self.host}:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Authenticator:
    """Accepts one user name and password (AUTH PLAIN / LOGIN)."""

    def __init__(self, user: str, password: str, sink: Sink) -> None:
        self.user, self.password = user.encode(), password.encode()
        self.sink = sink

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        # Every login the server saw, and over what: tests assert none crossed in clear.
        login = getattr(auth_data, "login", b"") or b""
        self.sink.auths.append((login.decode(errors="replace"), _tls_version(server)))
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login, auth_data.password) == (self.user, self.password)
        return AuthResult(success=ok, handled=False)


def _server_context(ca: trustme.CA, hosts: tuple[str, ...]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*hosts).configure_cert(context)
    return context


@contextmanager
def running_smtp_server(auth: tuple[str, str] | None = None,
                        tls: Literal["starttls", "implicit"] | None = None,
                        cert_hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                        ) -> Iterator[SmtpServer]:
    """The server; with ``auth`` it requires that user and password. Without ``tls`` it
    speaks plain TCP (AUTH allowed in clear); ``tls="starttls"`` refuses everything but
    EHLO/STARTTLS before the upgrade and AUTH in clear; ``tls="implicit"`` is smtps://.
    The certificate names ``cert_hosts`` and is issued by a fresh CA (``ca_file``)."""
    sink = Sink()
    port = _free_port()
    extra: dict[str, Any] = {}
    if auth is not None:
        # aiosmtpd's auth_require_tls only counts STARTTLS: on smtps:// the whole session
        # is encrypted already, so it is off there (and in clear, where no TLS exists).
        extra = {"authenticator": _Authenticator(*auth, sink), "auth_required": True,
                 "auth_require_tls": tls == "starttls"}
    with tempfile.TemporaryDirectory(prefix="smtp-ca-") as tmp:
        ca_file: str | None = None
        if tls is not None:
            ca = trustme.CA()
            ca_file = str(Path(tmp) / "ca.pem")
            ca.cert_pem.write_to_path(ca_file)
            context = _server_context(ca, cert_hosts)
            if tls == "starttls":
                extra |= {"tls_context": context, "require_starttls": True}
            else:
                extra["ssl_context"] = context
        controller = Controller(sink, hostname="127.0.0.1", port=port, **extra)
        controller.start()
        try:
            yield SmtpServer("127.0.0.1", port, sink,
                             scheme="smtps" if tls == "implicit" else "smtp", ca_file=ca_file)
        finally:
            sink.stall_after = None  # let a stalled session finish so the loop can stop
            controller.stop()
