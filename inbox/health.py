"""Liveness and readiness probes."""

from __future__ import annotations

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from inbox.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


READY_TIMEOUT_SECONDS = 5


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The database takes a write: a no-op update in a transaction that is rolled back, so a
    read-only, full or missing database, or one that does not answer within 5 s, is not ready."""

    def try_a_write() -> None:
        with runtime.engine.connect() as connection, connection.begin() as transaction:
            connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            transaction.rollback()

    try:
        with anyio.fail_after(READY_TIMEOUT_SECONDS):
            await anyio.to_thread.run_sync(try_a_write, abandon_on_cancel=True)
    except Exception as exc:  # noqa: BLE001 - any database failure means "not ready"
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})
