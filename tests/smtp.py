"""A real SMTP server for tests: aiosmtpd on a free port, with scriptable replies."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    mail_from: str
    recipients: list[str]
    data: bytes

    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_EHLO(self, smtp, session, envelope, hostname, responses) -> list[str]:  # noqa: N802
        with self.server.lock:
            self.server.connections += 1  # one EHLO per connection from aiosmtplib clients
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if self.server.rcpt_script:
            reply = self.server.rcpt_script.pop(0)
            if not reply.startswith("2"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        if self.server.script:
            reply = self.server.script.pop(0)
            if reply == "drop":
                smtp.transport.close()  # the SMTP protocol owns the transport
                return "421 closing"
            if reply.startswith("late:"):  # accept, after this many seconds of silence
                await asyncio.sleep(float(reply.removeprefix("late:")))
            elif not reply.startswith("2"):
                return reply
        with self.server.lock:
            self.server.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        return "250 OK queued"


class _Authenticator:
    def __init__(self, username: str, password: str):
        self.expected = (username.encode(), password.encode())

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        given = (auth_data.login, auth_data.password)
        return AuthResult(success=given == self.expected, handled=False)


class SmtpServer:
    """Start/stop an aiosmtpd server; `script` holds replies to give before accepting mail
    ("drop" closes the connection mid-DATA, "late:3" accepts after 3 s of silence),
    `rcpt_script` the same for RCPT TO."""

    def __init__(
        self,
        port: int,
        *,
        credentials: tuple[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
    ):
        self.port = port
        self.host = "127.0.0.1"
        self.received: list[Received] = []
        self.script: list[str] = []
        self.connections = 0  # EHLOs seen: how many connections clients opened
        self.rcpt_script: list[str] = []  # replies to RCPT TO before accepting recipients
        self.delay: float = 0.0
        self.lock = threading.Lock()
        auth: dict = {}
        if credentials is not None:  # AUTH PLAIN/LOGIN required (allowed without TLS here)
            auth = {
                "auth_required": True,
                "auth_require_tls": False,
                "authenticator": _Authenticator(*credentials),
            }
        if starttls is not None:  # STARTTLS offered and required before MAIL
            auth.update(tls_context=starttls, require_starttls=True)
        self.controller = Controller(_Handler(self), hostname=self.host, port=port, **auth)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def message_ids(self) -> list[str]:
        """The Message-ID header of every mail received, in order (duplicates kept)."""
        with self.lock:
            received = list(self.received)
        return [str(item.parsed()["Message-ID"]) for item in received]

    def wait_for(
        self, count: int, timeout: float = 10.0, predicate: Callable[[], bool] | None = None
    ) -> list[Received]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count and (predicate is None or predicate()):
                return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} mails, got {len(self.received)}")
