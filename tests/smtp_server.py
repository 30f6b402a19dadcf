"""A real SMTP server on 127.0.0.1 for the mail tests (aiosmtpd in a thread).

It records every message it accepts and can be told to misbehave: refuse given recipients
with 550, drop the connection instead of accepting the next message, or stall (never
answer DATA) once it has accepted a number of messages, so a sender can be killed mid-batch.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


@dataclass
class Sink:
    """The handler: what it was sent, and how it should misbehave next."""

    messages: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # addresses answered 550 at RCPT
    drop_after: int | None = None  # after this many accepted, drop the next one's connection
    stall_after: int | None = None  # after this many accepted, never answer DATA
    drops: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
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
                                          message))
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

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Authenticator:
    """Accepts one user name and password (AUTH PLAIN / LOGIN)."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login, auth_data.password) == (self.user, self.password)
        return AuthResult(success=ok, handled=False)


@contextmanager
def running_smtp_server(auth: tuple[str, str] | None = None) -> Iterator[SmtpServer]:
    """The server; with ``auth`` it requires that user and password (over plain TCP: the
    tests have no certificate)."""
    sink = Sink()
    port = _free_port()
    extra: dict[str, Any] = {}
    if auth is not None:
        extra = {"authenticator": _Authenticator(*auth), "auth_required": True,
                 "auth_require_tls": False}
    controller = Controller(sink, hostname="127.0.0.1", port=port, **extra)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, sink)
    finally:
        sink.stall_after = None  # let a stalled session finish so the loop can stop
        controller.stop()
