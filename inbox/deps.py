"""Request dependencies: the runtime, and a session that commits when the handler succeeds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

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


def get_session(request: Request, runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, before the response is
    sent (scope="function"), so a 303 is only followed once the change is visible; rolled back
    on error, and when the handler took so long (a stalled database) that the client was already
    answered 503. The same scope as the worker's and the CLI's (inbox.db.session_scope). A GET
    only reads, and on SQLite never waits for the write lock (inbox.db.read_scope)."""
    scope = read_scope if request.method in READING_METHODS else session_scope
    with scope(runtime.engine) as session:
        yield session
        if answered_late(request):
            raise DatabaseUnavailable()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
