"""Operations: liveness and readiness probes, and `/metrics` (behind a bearer token)."""

from __future__ import annotations

import hmac

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from inbox.deps import RuntimeDep
from inbox.outbox.metrics import metrics_for
from inbox.staff.refusals import refusal_metrics

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


READY_TIMEOUT_SECONDS = 3  # an answer well within a probe's usual 5 s


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The database takes a write: a no-op update in a transaction that is rolled back, so a
    read-only, full or missing database, or one that does not answer within 3 s, is not ready."""

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


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus scrape endpoint: delivery counters and queue depth (from the database), and
    refused requests. It wants `Authorization: Bearer <INBOX_METRICS_TOKEN>`; without a token
    configured it stays closed."""
    expected = runtime.settings.metrics_token
    sent = request.headers.get("authorization", "")
    scheme, _, token = sent.partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.strip().encode(), expected.encode())
    ):
        return Response(
            "A bearer token is needed (INBOX_METRICS_TOKEN).\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            media_type="text/plain",
        )

    def render() -> bytes:
        return metrics_for(runtime).render() + refusal_metrics(runtime).render()

    body = await anyio.to_thread.run_sync(render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
