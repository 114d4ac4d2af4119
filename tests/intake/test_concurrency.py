"""Many patients at once: every accepted submission is stored exactly once."""

from __future__ import annotations

import asyncio

import httpx
import sqlalchemy as sa

from inbox.conversations.models import Message
from tests.factories import form_fields


async def test_500_submissions_from_50_concurrent_clients_are_each_stored_once(
    live_server, runtime, settings, clock
):
    semaphore = asyncio.Semaphore(50)
    results: dict[str, int] = {}

    async def submit(client: httpx.AsyncClient, index: int) -> None:
        marker = f"patient-{index:03d}"
        fields = form_fields(
            settings,
            clock,
            email=f"{marker}@example.com",
            message=f"Question from {marker}: cramps.",
        )
        async with semaphore:
            response = await client.post("/contact", data=fields)
        results[marker] = response.status_code

    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=live_server.url, limits=limits, timeout=60) as client:
        await asyncio.gather(*(submit(client, index) for index in range(500)))

    assert set(results.values()) == {303}
    with runtime.engine.connect() as connection:
        emails = connection.execute(sa.select(Message.__table__.c.email)).scalars().all()
    assert len(emails) == 500
    assert sorted(emails) == sorted(f"{marker}@example.com" for marker in results)
