"""The same submission sent to two web processes at the same moment is stored once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import sqlalchemy as sa

from inbox.conversations.models import Message
from inbox.main import create_app
from inbox.runtime import build_runtime
from tests.conftest import LiveServer, free_port
from tests.factories import api_payload


@pytest.fixture
def second_live_server(settings, clock):
    """Another web process on the same database (its own engine, writer and event loop)."""
    runtime = build_runtime(settings, clock=clock)
    server = LiveServer(create_app(runtime=runtime), free_port())
    server.start()
    yield server
    server.stop()
    runtime.engine.dispose()


async def test_a_submission_sent_to_two_processes_at_once_is_stored_once(
    live_server, second_live_server, runtime
):
    pairs = 20
    async with httpx.AsyncClient(timeout=30) as http:
        for index in range(pairs):
            payload = api_payload(
                email=f"relative{index}@example.net", message=f"Question {index}: cramps again."
            )
            responses = await asyncio.gather(
                *(
                    http.post(f"{server.url}/api/v1/messages", json=payload)
                    for server in (live_server, second_live_server)
                )
            )
            assert [response.status_code for response in responses] == [201, 201]

    table = Message.__table__
    with runtime.engine.connect() as connection:
        statuses = connection.execute(
            sa.select(table.c.email, table.c.status).order_by(table.c.id)
        ).all()
    accepted = sorted(email for email, status in statuses if status == "accepted")
    assert accepted == sorted(f"relative{index}@example.net" for index in range(pairs))
    assert sorted(status for _, status in statuses).count("duplicate") == pairs
