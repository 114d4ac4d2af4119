"""`/metrics`: delivery counters, send latency and queue depth in the Prometheus text format."""

from __future__ import annotations

import anyio
from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from inbox.deps import RuntimeDep
from inbox.outbox.metrics import metrics_for

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus scrape endpoint (the queue gauges query the database)."""
    body = await anyio.to_thread.run_sync(metrics_for(runtime).render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
