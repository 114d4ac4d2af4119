"""ASGI middleware: request-size limit, the trusted-host check and security headers."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inbox.errors import BodyTooLarge


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
