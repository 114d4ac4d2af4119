"""Requests being answered now, so that background work in the same process can step aside.

In the embedded mode the worker drafts on a thread of the web process, and one interpreter lock
serves both: a draft's few milliseconds of triage and rendering, taken while a form post or a
staff page is being answered, are milliseconds that answer waits. `ForegroundCount` counts the
requests in flight; between the steps of its work a background job calls `step_aside`, which
returns at once when none is, and otherwise when they are answered or after `most_seconds`,
so that background work slows down under load but never stops.
"""

from __future__ import annotations

import threading

from starlette.types import ASGIApp, Receive, Scope, Send


class Foreground:
    """How many requests the process is answering; counted on the event loop's thread."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._idle = threading.Event()
        self._idle.set()

    def enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self._in_flight -= 1
        if not self._in_flight:
            self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def step_aside(self, most_seconds: float) -> bool:
        """Wait until no request is in flight, for at most `most_seconds`; whether none is."""
        return self._idle.wait(most_seconds)


class ForegroundCount:
    """Counts each HTTP request from its first byte to its last (the live streams excepted:
    one open for hours would keep background work stepping aside all that time)."""

    def __init__(self, app: ASGIApp, *, foreground: Foreground, streams_suffix: str = "/events"):
        self.app = app
        self.foreground = foreground
        self.streams_suffix = streams_suffix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].endswith(self.streams_suffix):
            await self.app(scope, receive, send)
            return
        self.foreground.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.foreground.leave()
