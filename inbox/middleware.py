"""ASGI middleware: request-size limit, the trusted-host check, security headers and the
deadline every request is answered by."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inbox.errors import BodyTooLarge, DatabaseUnavailable, error_response

log = logging.getLogger(__name__)

ANSWER_BY = "answer_by"  # request.state: the monotonic time the client gets a 503 at


def answered_late(request: Request) -> bool:
    """Whether the client was already told 503 (see `AnswerWithin`): nothing may be committed."""
    answer_by = getattr(request.state, ANSWER_BY, None)
    return answer_by is not None and time.monotonic() > answer_by


class BodySizeLimit:
    """Answer 413 when a request body is over `max_bytes`, without reading it whole."""

    def __init__(self, app: ASGIApp, *, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(scope, send, self.max_bytes)
            return
        if declared is not None and _header(scope, b"transfer-encoding") is None:
            # the server reads exactly the declared length: nothing more to watch
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(scope, send, self.max_bytes)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1").strip()
    return None


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    text = f"The request is larger than {limit // 1024} KiB. Please shorten your message."
    accept = _header(scope, b"accept") or ""
    if scope["path"].startswith("/api/") or "json" in accept:
        body, kind = json.dumps({"detail": text}).encode(), b"application/json"
    else:
        body = f"<!doctype html><title>Too large</title><p>{text}</p>".encode()
        kind = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


PEER_KEY = "inbox.peer"
"""Where `RecordPeer` leaves the connecting address in the ASGI scope."""


class RecordPeer:
    """Keep the address the connection came from (a reverse proxy's, when there is one) before
    the proxy-headers middleware replaces the client with the one the proxy names: intake caps
    what one proxy may pass on, all its clients together."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client"):
            scope[PEER_KEY] = scope["client"][0]
        await self.app(scope, receive, send)


class TrustedHosts:
    """Answer 400 to a request whose Host header is not one of ours, before the app sees it:
    page links and redirects are built from that header. The probes answer any host (a load
    balancer asks by address)."""

    PROBES = ("/healthz", "/readyz")

    def __init__(self, app: ASGIApp, *, hosts: list[str]):
        self.app = app
        self.hosts = frozenset(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.PROBES:
            await self.app(scope, receive, send)
            return
        host = (_header(scope, b"host") or "").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name.strip("[]") in self.hosts:
            await self.app(scope, receive, send)
            return
        body = b"Unknown host."
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """CSP, nosniff, referrer policy and frame protection on every response, and HSTS when
    the service is reached over https.

    The public form may be framed by the hospital's own origins; nothing else may be framed.
    """

    def __init__(self, app: ASGIApp, *, frame_origins: list[str], https: bool = False):
        self.app = app
        ancestors = " ".join(["'self'", *frame_origins])
        self.public = self._headers(ancestors, frame_option=None, https=https)
        self.private = self._headers("'none'", frame_option=b"DENY", https=https)
        # staff pages hold patient data: never keep them in a shared computer's cache
        self.private_pages = [*self.private, (b"cache-control", b"no-store")]

    @staticmethod
    def _headers(
        ancestors: str, *, frame_option: bytes | None, https: bool
    ) -> list[tuple[bytes, bytes]]:
        csp = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
        )
        headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if frame_option:
            headers.append((b"x-frame-options", frame_option))
        if https:  # browsers then refuse plain http to this host for a year
            headers.append((b"strict-transport-security", b"max-age=31536000"))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/contact"):
            extra = self.public
        elif path.startswith("/static/"):
            extra = self.private
        else:
            extra = self.private_pages

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = {key.lower() for key, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (key, value) for key, value in extra if key not in existing
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AnswerWithin:
    """Every HTTP request gets an answer within `seconds`: a handler that has not started its
    response by then (stuck on a stalled database connection, say) is cancelled and the client
    gets a 503 with Retry-After, so no browser or proxy is left waiting. A handler blocked in
    a thread finishes there on its own; whatever it sends afterwards is dropped.

    `exempt` paths bound their own database wait and nothing else: the public form's first
    request in a process also reads the triage model, seconds of work that is no stall.
    """

    def __init__(self, app: ASGIApp, *, seconds: float, exempt: tuple[str, ...] = ()):
        self.app = app
        self.seconds = seconds
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        started = False
        late = False
        # the session dependency reads it: a handler past it rolls back instead of committing
        scope.setdefault("state", {})[ANSWER_BY] = time.monotonic() + self.seconds

        async def send_in_time(message: Message) -> None:
            nonlocal started
            if late:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        handler = asyncio.ensure_future(self.app(scope, receive, send_in_time))
        done, _ = await asyncio.wait({handler}, timeout=self.seconds)
        if done or started:
            await handler  # answered in time (or under way): its outcome, errors included
            return
        late = True
        handler.cancel()
        handler.add_done_callback(_forget)
        log.warning(
            "no answer within %.1f s on %s %s: 503", self.seconds, scope["method"], scope["path"]
        )
        fault = DatabaseUnavailable()
        response = error_response(
            Request(scope), fault.status, fault.message, headers=fault.headers
        )
        await response(scope, receive, send)


def _forget(task: asyncio.Future[None]) -> None:
    """Retrieve a late handler's outcome, so that asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()
