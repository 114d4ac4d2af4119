"""The built-in mail catcher: an SMTP server (aiosmtpd) on 127.0.0.1 that stores every mail it
receives in the `caught_mail` table instead of delivering it. The embedded default uses it when no
SMTP host is configured, so that a newcomer sees the mails (`inbox mail list`) without a relay.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from inbox.clock import Clock
from inbox.db import session_scope
from inbox.outbox.models import CaughtMail

log = logging.getLogger(__name__)
_headers = email.parser.BytesHeaderParser(policy=email.policy.default)


def store_caught(
    engine: Engine, *, clock: Clock, mail_from: str, recipients: list[str], raw: bytes
) -> CaughtMail:
    """Keep one received mail."""
    parsed = _headers.parsebytes(raw)
    caught = CaughtMail(
        received_at=clock.now(),
        mail_from=mail_from[:320],
        recipients=", ".join(recipients)[:2000],
        subject=str(parsed.get("Subject", ""))[:500],
        message_id=(str(parsed.get("Message-ID", "")).strip() or None),
        raw=raw,
    )
    with session_scope(engine) as session:
        session.add(caught)
    return caught


def list_caught(session: Session, *, limit: int = 20) -> list[CaughtMail]:
    """The most recently caught mails, newest first."""
    return list(
        session.exec(select(CaughtMail).order_by(col(CaughtMail.id).desc()).limit(limit)).all()
    )


OwnMail = Callable[..., bool]
"""Takes a mail sent to the service's own addresses (mail_from=, recipients=, raw=); True when it
took it (the embedded mode: a reply or a bounce sent to the catcher goes to the inbound path)."""


class _CatchingHandler:
    def __init__(self, engine: Engine, clock: Clock, own_mail: OwnMail | None = None):
        self.engine, self.clock, self.own_mail = engine, clock, own_mail

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        try:
            if self.own_mail is not None and await asyncio.to_thread(
                self.own_mail,
                mail_from=envelope.mail_from or "",
                recipients=list(envelope.rcpt_tos),
                raw=bytes(envelope.original_content or b""),
            ):
                return "250 OK taken in"
            await asyncio.to_thread(
                store_caught,
                self.engine,
                clock=self.clock,
                mail_from=envelope.mail_from or "",
                recipients=list(envelope.rcpt_tos),
                raw=bytes(envelope.original_content or b""),
            )
        except Exception:
            log.exception("the mail catcher could not store a mail")
            return "451 4.3.0 could not store the mail, try again later"
        return "250 OK caught"


class MailCatcher:
    """Runs in the current event loop; `port` is known once `start()` returns."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        own_mail: OwnMail | None = None,
    ):
        self.engine, self.clock, self.own_mail = engine, clock, own_mail
        self.host, self.port = host, port
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        aiosmtpd_log = logging.getLogger("mail.log")
        if aiosmtpd_log.level == logging.NOTSET:
            aiosmtpd_log.setLevel(logging.WARNING)  # not a line per SMTP command and connection
        loop = asyncio.get_running_loop()
        handler = _CatchingHandler(self.engine, self.clock, self.own_mail)
        self._server = await loop.create_server(
            lambda: SMTP(handler, hostname="inbox-catcher", enable_SMTPUTF8=True, loop=loop),
            host=self.host,
            port=self.port,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("mail catcher listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
