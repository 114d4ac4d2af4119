"""Request dependencies: the runtime, and a session that commits when the handler succeeds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from sqlmodel import Session

from inbox.config import Settings
from inbox.db import read_scope, session_scope
from inbox.errors import DatabaseUnavailable, NotFound
from inbox.middleware import answered_late
from inbox.runtime import Runtime

LARGEST_ROW_ID = 2**63 - 1  # a signed 64-bit integer: the widest id either database stores


async def row_ids_in_range(request: Request) -> None:
    """An integer in the path past any row id finds nothing: 404 before a handler binds it to a
    query (SQLite cannot bind it at all). Every route of the app depends on it."""
    for value in request.path_params.values():
        digits = value.removeprefix("-") if isinstance(value, str) else ""
        if digits.isdigit() and (len(digits) > 19 or int(digits) > LARGEST_ROW_ID):
            raise NotFound("There is nothing with this number.")


async def get_runtime(request: Request) -> Runtime:
    """The process's runtime (async: a plain function would cost a thread hop per request)."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


READING_METHODS = frozenset({"GET", "HEAD"})


async def get_session(request: Request, runtime: RuntimeDep) -> AsyncIterator[Session]:
    """One transaction per request: committed when the handler returns, before the response is
    sent (scope="function"), so a 303 is only followed once the change is visible; rolled back
    on error, and when the handler took so long (a stalled database) that the client was already
    answered 503. The same scope as the worker's and the CLI's (inbox.db.session_scope). A GET
    only reads, and on SQLite never waits for the write lock (inbox.db.read_scope).

    Async, with its end on a thread: opening a session does no I/O (it connects at its first
    statement), so only the commit or rollback needs a thread, as FastAPI runs a plain generator's
    end (shielded from cancellation, outside the pool's capacity limit): one hop to a thread and
    back fewer per request."""
    scope = read_scope if request.method in READING_METHODS else session_scope
    manager = scope(runtime.engine)
    session = manager.__enter__()

    async def end(*exc_info: Any) -> bool | None:
        with anyio.CancelScope(shield=True):
            ended = await anyio.to_thread.run_sync(
                manager.__exit__, *exc_info, limiter=anyio.CapacityLimiter(1)
            )
        return ended

    try:
        yield session
        if answered_late(request):
            raise DatabaseUnavailable()
    except BaseException as exc:
        if not await end(type(exc), exc, exc.__traceback__):
            raise
    else:
        await end(None, None, None)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
