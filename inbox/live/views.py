"""Live pages: server-sent event streams for the inbox list and a conversation page, and the
page's presence report. The pages work without them (plain HTML, reload); with JavaScript the
list refreshes itself and a conversation page says who else is on it and that it changed.

Bounded: a process keeps at most `live_max_streams` streams (past that, 503 and the page tries
again later), each ends after `live_stream_seconds` (the browser reconnects, signed in or not),
and each reads a few indexed values every `live_poll_seconds`. The streams only read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

import anyio
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sse_starlette import EventSourceResponse, ServerSentEvent

from inbox.conversations.models import Conversation
from inbox.deps import RuntimeDep, SessionDep
from inbox.errors import NotFound
from inbox.live import changes
from inbox.live.presence import Seen, report_presence
from inbox.staff.deps import CsrfProtected, CurrentStaff

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

RECONNECT_MS = 3000
PING_SECONDS = 15
EVENT_STREAM = "text/event-stream"


class StreamSlots:
    """How many event streams this process has open, against its cap."""

    def __init__(self, limit: int):
        self.limit, self.open = limit, 0

    def take(self) -> bool:
        if self.open >= self.limit:
            return False
        self.open += 1
        return True

    def give_back(self) -> None:
        self.open = max(0, self.open - 1)


Read = Callable[[], tuple[str, list[Seen] | None]]


def _refused(request: Request) -> Response | None:
    """Why this request gets no stream: it does not ask for one, or the process is full."""
    if EVENT_STREAM not in request.headers.get("accept", ""):
        return PlainTextResponse(
            "This address sends server-sent events to the inbox pages.", status_code=406
        )
    slots: StreamSlots = request.app.state.live_streams
    if not slots.take():
        return PlainTextResponse(
            "Too many live pages are open; this page tries again shortly.",
            status_code=503,
            headers={"Retry-After": "30"},
        )
    return None


def _respond(request: Request, read: Read, *, since: str | None, me: int | None) -> Response:
    settings = request.app.state.runtime.settings
    slots: StreamSlots = request.app.state.live_streams

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            async for event in _watch(
                request, read, since=since, me=me, interval=settings.live_poll_seconds,
                lifetime=settings.live_stream_seconds,
            ):  # fmt: skip
                yield event
        finally:
            slots.give_back()

    return EventSourceResponse(
        events(), ping=PING_SECONDS, send_timeout=10, headers={"Cache-Control": "no-store"}
    )


async def _watch(
    request: Request, read: Read, *, since: str | None, me: int | None, interval: float,
    lifetime: float,
) -> AsyncIterator[ServerSentEvent]:  # fmt: skip
    """`ready` once, then `changed` whenever the token moves and `presence` whenever the people
    on the page change, until the lifetime ends or the browser goes."""
    yield ServerSentEvent(comment="live", retry=RECONNECT_MS)
    ends = time.monotonic() + lifetime
    token, people = since, None
    ready = False
    while time.monotonic() < ends and not await request.is_disconnected():
        try:
            now_token, seen = await anyio.to_thread.run_sync(read)
        except SQLAlchemyError as error:  # busy or down: the page keeps what it shows
            log.info("a live stream could not read the database: %s", type(error).__name__)
        else:
            if not ready:
                ready = True
                yield ServerSentEvent(event="ready", id=now_token, data="")
            if token is not None and now_token != token:
                yield ServerSentEvent(event="changed", id=now_token, data="")
            token = now_token
            if seen is not None:
                others = [
                    {"who": item.who, "activity": item.activity, "text": item.sentence}
                    for item in seen
                    if item.staff_id != me
                ]
                if others != people:
                    people = others
                    yield ServerSentEvent(event="presence", data=json.dumps(others))
        await anyio.sleep(interval)


@router.get("/inbox/events")
async def list_events(request: Request, staff: CurrentStaff, runtime: RuntimeDep) -> Response:
    """The inbox list's stream: `changed` when a conversation could have moved."""
    refused = _refused(request)
    if refused is not None:
        return refused
    since = request.headers.get("last-event-id") or None
    return _respond(
        request, lambda: (changes.list_token(runtime.engine), None), since=since, me=staff.id
    )


@router.get("/inbox/conversations/{conversation_id}/events")
async def conversation_events(
    request: Request, conversation_id: int, staff: CurrentStaff, runtime: RuntimeDep,
    since: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:  # fmt: skip
    """A conversation page's stream: `changed` when it has news, `presence` with who else is
    on it (`since`: the token the page was rendered with)."""
    refused = _refused(request)
    if refused is not None:
        return refused
    settings = runtime.settings

    def read() -> tuple[str, list[Seen] | None]:
        return changes.conversation_news(
            runtime.engine, conversation_id=conversation_id, now=runtime.clock.now(),
            window=settings.presence_seconds,
        )  # fmt: skip

    since = request.headers.get("last-event-id") or since
    return _respond(request, read, since=since, me=staff.id)


@router.post("/inbox/conversations/{conversation_id}/presence", status_code=204)
def post_presence(
    conversation_id: int, session: SessionDep, runtime: RuntimeDep, staff: CurrentStaff,
    _csrf: CsrfProtected, activity: Annotated[str, Form(max_length=16)] = "viewing",
    page: Annotated[str, Form(max_length=32)] = "",
) -> Response:  # fmt: skip
    """The page reports what its staff member is doing on it ("viewing", "editing", "left");
    `page` is the id that page load chose for itself."""
    if session.get(Conversation, conversation_id) is None:
        raise NotFound("This conversation does not exist.")
    report_presence(
        session, conversation_id=conversation_id, staff=staff, activity=activity,
        now=runtime.clock.now(), page=page,
    )  # fmt: skip
    return Response(status_code=204)
