"""The LMTP (or plain SMTP) listener an MTA hands mail to (aiosmtpd).

It takes mail only for the service's own addresses (550 for any other: never an open relay),
refuses mail over INBOX_INBOUND_MAX_BYTES (552), and answers 250 only once the mail is committed;
when the database cannot take it, 451, so that the MTA keeps the mail and tries again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP
from sqlalchemy.engine import Engine

from inbox.clock import Clock
from inbox.config import Settings
from inbox.inbound.models import InboundSource
from inbox.inbound.store import store_inbound
from inbox.outbox.addresses import is_own_address
from inbox.runtime import Runtime

log = logging.getLogger(__name__)


class InboundHandler:
    """aiosmtpd hooks: check each recipient, store the mail, answer per recipient under LMTP."""

    def __init__(self, settings: Settings, engine: Engine, clock: Clock, *, source: str):
        self.settings, self.engine, self.clock, self.source = settings, engine, clock, source

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if not is_own_address(self.settings, address):
            return "550 5.7.1 relaying denied: not an address of this service"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = bytes(envelope.original_content or b"")
        recipients = list(envelope.rcpt_tos)
        try:
            await asyncio.to_thread(
                store_inbound,
                self.engine,
                raw=raw,
                source=self.source,
                envelope_from=envelope.mail_from,
                recipients=recipients,
                now=self.clock.now(),
            )
        except Exception as exc:
            log.warning("inbound mail could not be stored (%s); answered 451", type(exc).__name__)
            status = "451 4.3.0 the mail could not be stored, try again later"
        else:
            status = "250 2.0.0 OK stored"
        if isinstance(server, LMTP):  # LMTP answers DATA once per recipient (RFC 2033 §4.2)
            return "\r\n".join([status] * max(1, len(recipients)))
        return status


class InboundListener:
    """Runs in the current event loop; `port` is known once `start()` returns."""

    def __init__(self, settings: Settings, engine: Engine, clock: Clock, *, lmtp: bool = True):
        self.settings, self.engine, self.clock, self.lmtp = settings, engine, clock, lmtp
        self.host, self.port = settings.inbound_host, settings.inbound_port
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        source = InboundSource.LMTP if self.lmtp else InboundSource.SMTP
        handler = InboundHandler(self.settings, self.engine, self.clock, source=source)
        protocol = LMTP if self.lmtp else SMTP
        limit = self.settings.inbound_max_bytes

        def factory() -> SMTP:
            return protocol(
                handler, hostname="inbox-inbound", data_size_limit=limit,
                enable_SMTPUTF8=True, decode_data=False, loop=loop,
            )  # fmt: skip

        self._server = await loop.create_server(factory, host=self.host, port=self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("inbound %s listening on %s:%d", source.upper(), self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


async def start_inbound_listener(runtime: Runtime) -> InboundListener | None:
    """The LMTP or SMTP listener when INBOX_INBOUND asks for one."""
    settings = runtime.settings
    if settings.inbound not in ("lmtp", "smtp"):
        return None
    listener = InboundListener(
        settings, runtime.engine, runtime.clock, lmtp=settings.inbound == "lmtp"
    )
    try:
        await listener.start()
    except OSError as exc:  # `serve --workers N`: one process holds the port, the others skip it
        log.error(
            "inbound listener not started on %s:%d: %s",
            settings.inbound_host, settings.inbound_port, exc,
        )  # fmt: skip
        return None
    return listener


def take_in_caught(runtime: Runtime, *, mail_from: str, recipients: list[str], raw: bytes) -> bool:
    """The embedded catcher's hand-over: a mail to one of our own addresses (a reply or a bounce
    sent to the catcher) is stored as inbound mail; True when it was one."""
    if not recipients or not all(is_own_address(runtime.settings, rcpt) for rcpt in recipients):
        return False
    store_inbound(
        runtime.engine, raw=raw, source=InboundSource.CATCHER, envelope_from=mail_from,
        recipients=recipients, now=runtime.clock.now(),
    )  # fmt: skip
    return True
