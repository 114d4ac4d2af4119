"""How uvicorn serves the app so that idle or slow clients cannot exhaust the process.

Three guards, each small:
- a connection must finish sending a request's headers within `HEADER_TIMEOUT_SECONDS` of
  opening (or of starting a new request on a kept-alive connection), else it is closed;
- the process's soft limit of open files is raised to its hard limit at start-up;
- the number of concurrent connections is capped below that limit, so that past the cap a
  client gets a 503 from uvicorn instead of the process running out of descriptors (which would
  stop it accepting anyone, and opening database connections).
Bodies are bounded in size by `middleware.BodySizeLimit`; a front proxy should bound their
read time too (see docs/operations.md).

One tuning besides: on PostgreSQL the interpreter hands its lock over after 0.5 ms instead of 5
(`share_the_interpreter`), so that the event loop and the intake writer, which take the lock
back after every database call, do not wait behind the staff pages' threads.
"""

from __future__ import annotations

import asyncio
import resource
import sys
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
DESCRIPTORS_KEPT_FREE = 128  # for the database pool, SMTP, log files and the listening socket
SWITCH_INTERVAL_SECONDS = 0.0005  # on PostgreSQL (share_the_interpreter); Python's default: 0.005


def share_the_interpreter(*, sqlite: bool) -> None:
    """On PostgreSQL, ask a thread that holds the interpreter lock to hand it over after 0.5 ms.

    A form post takes the lock back a dozen times (on the loop, and in the intake writer after
    each statement), and each time may wait the whole switch interval while a staff page renders
    in a thread. Not on SQLite: there the slow posts wait for the database's one write lock,
    which a holder interrupted more often keeps no shorter (figures: docs/performance.md)."""
    if not sqlite:
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose headers do not arrive in time.

    uvicorn's own keep-alive timer starts only after a response, so a connection that opens and
    never sends a request (or sends it a byte at a time) would otherwise stay open forever."""

    header_timeout = HEADER_TIMEOUT_SECONDS
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_late)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_late(self) -> None:
        self._header_deadline = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()


def raise_open_file_limit() -> int:
    """Raise the soft limit of open files to the hard limit; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def uvicorn_options(*, max_connections: int) -> dict[str, Any]:
    """The uvicorn settings that bound what one client can hold (see the module docstring)."""
    descriptors = raise_open_file_limit()
    cap = max(16, min(max_connections, descriptors - DESCRIPTORS_KEPT_FREE))
    return {
        "http": HeaderDeadlineProtocol,
        "limit_concurrency": cap,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }
