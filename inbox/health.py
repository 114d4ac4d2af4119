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


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The database answers."""

    def ping() -> None:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await anyio.to_thread.run_sync(ping)
    except Exception as exc:  # noqa: BLE001 - any database failure means "not ready"
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})
