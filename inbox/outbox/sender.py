"""One SMTP connection of the worker (aiosmtplib): reused across mails up to a cap, closed and
reopened after any error, with timeouts on connect, each command and the whole send up to the
end of the data; the server's reply to the end of the data gets its own, longer wait (RFC 5321
section 4.5.3.2.6 suggests 10 minutes): a relay that is slow to accept a mail has usually taken
it, and giving up early would send it again.

`deliver` never raises for anything the server or the network does: it returns a Reply that
says sent, retry (4xx, disconnect, timeout, refused connection) or failed (5xx).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from datetime import timedelta

import aiosmtplib

from inbox.config import Settings
from inbox.outbox.models import AttemptOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to send; built from Settings, or pointed at the built-in catcher."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool | None = None  # None: whenever the server offers it
    tls: bool = False
    timeout: float = 30.0  # connect and each command
    send_timeout: float = 60.0  # one whole mail up to its end of data, connecting included
    data_timeout: float = 600.0  # the reply to the end of data
    mails_per_connection: int = 100
    validate_certs: bool = True
    require_tls: bool = False  # refuse to send over a connection that stays in the clear
    cert_bundle: str | None = None  # CA file for the server's certificate (else the system's)

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTarget:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            tls=settings.smtp_tls,
            timeout=settings.smtp_timeout,
            send_timeout=settings.smtp_send_timeout,
            data_timeout=settings.smtp_data_timeout,
            mails_per_connection=max(1, settings.mails_per_connection),
            require_tls=settings.smtp_require_tls,
            cert_bundle=settings.smtp_ca_file or None,
        )

    @property
    def longest_send(self) -> timedelta:
        """The longest one mail can take before `deliver` returns."""
        return timedelta(seconds=self.send_timeout + self.data_timeout)


@dataclass(frozen=True)
class Reply:
    """The outcome of one attempt: AttemptOutcome.SENT / RETRY / FAILED, the code and text."""

    outcome: str
    code: int | None
    text: str

    @property
    def sent(self) -> bool:
        return self.outcome == AttemptOutcome.SENT


# 5xx replies that are about our connection (authentication or TLS required or refused, RFC 4954),
# not about the mail: every mail would get them until the relay settings are fixed, so they are
# retried (the retry budget still ends it) instead of failing the whole queue at once.
_SETUP_CODES = frozenset({530, 534, 535, 538})


def _classify(code: int, text: str) -> Reply:
    temporary = 400 <= code < 500 or code in _SETUP_CODES
    outcome = AttemptOutcome.RETRY if temporary else AttemptOutcome.FAILED
    return Reply(outcome, code, text)


async def _command(
    client: aiosmtplib.SMTP, verb: bytes, *args: bytes, accept: tuple[int, ...] = (250,)
) -> None:
    response = await client.execute_command(verb, *args)
    if response.code not in accept:
        raise aiosmtplib.SMTPResponseException(response.code, response.message)


class SmtpConnection:
    """A lazily opened, reused connection; one mail at a time."""

    def __init__(self, target: SmtpTarget):
        self.target = target
        self._client: aiosmtplib.SMTP | None = None
        self._sent_on_connection = 0

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def _connect(self) -> aiosmtplib.SMTP:
        target = self.target
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            timeout=target.timeout,
            use_tls=target.tls,
            # required: STARTTLS or an error (aiosmtplib raises when it is not offered)
            start_tls=True if target.require_tls and not target.tls else target.starttls,
            validate_certs=target.validate_certs,
            cert_bundle=target.cert_bundle,
            username=target.username or None,
            password=target.password or None,
        )
        await client.connect()
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()  # now, so that the extensions (SMTPUTF8) are known
        self._client, self._sent_on_connection = client, 0
        return client

    async def _client_for_next_mail(self) -> aiosmtplib.SMTP:
        if self.connected and self._sent_on_connection >= self.target.mails_per_connection:
            await self.close()
        if not self.connected:
            self.drop()
            return await self._connect()
        assert self._client is not None
        return self._client

    async def deliver(self, sender: str, recipient: str, raw: bytes, *, smtputf8: bool) -> Reply:
        """Send one message: MAIL, RCPT, DATA on the reused connection."""
        try:
            async with asyncio.timeout(self.target.send_timeout) as deadline:
                try:
                    client = await self._client_for_next_mail()
                except aiosmtplib.SMTPResponseException as exc:
                    # a refusal while connecting (greeting, EHLO, AUTH) says nothing about this
                    # mail: try it again later, the retry budget decides when to give up
                    self.drop()
                    return Reply(AttemptOutcome.RETRY, exc.code, f"while connecting: {exc.message}")
                options: tuple[bytes, ...] = ()
                if smtputf8:
                    if not client.supports_extension("smtputf8"):
                        self.drop()
                        return Reply(AttemptOutcome.FAILED, None, "server does not offer SMTPUTF8")
                    options = (b"SMTPUTF8", b"BODY=8BITMIME")
                # MAIL and RCPT written directly: both addresses were parsed and checked at
                # enqueue, and aiosmtplib's mail()/rcpt() would parse them again for every mail
                await _command(client, b"MAIL", b"FROM:<%s>" % sender.encode(), *options)
                await _command(client, b"RCPT", b"TO:<%s>" % recipient.encode(), accept=(250, 251))
                loop_time = asyncio.get_running_loop().time()
                deadline.reschedule(loop_time + self.target.data_timeout)
                response = await client.data(raw, timeout=None)
        except aiosmtplib.SMTPResponseException as exc:
            self.drop()  # the envelope is in an unknown state: start afresh next time
            return _classify(exc.code, exc.message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            self.drop()
            first = exc.recipients[0]
            return _classify(first.code, first.message)
        except (TimeoutError, aiosmtplib.SMTPTimeoutError) as exc:
            self.drop()
            return Reply(AttemptOutcome.RETRY, None, f"timeout: {exc or 'no answer in time'}")
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            self.drop()
            return Reply(AttemptOutcome.RETRY, None, f"{type(exc).__name__}: {exc}")
        self._sent_on_connection += 1
        return Reply(AttemptOutcome.SENT, response.code, response.message)

    def drop(self) -> None:
        """Forget the connection at once (after an error)."""
        if self._client is not None:
            self._client.close()
        self._client = None

    async def close(self) -> None:
        """QUIT politely, then forget the connection."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await asyncio.wait_for(client.quit(), timeout=min(5.0, self.target.timeout))
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
