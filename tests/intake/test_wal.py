"""SQLite: the intake writer checkpoints its write-ahead log off the event loop; it stays small."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from inbox.config import Settings
from inbox.conversations.models import Message
from inbox.db import upgrade
from inbox.intake.service import Client
from inbox.intake.writer import IntakeWriter
from inbox.runtime import build_runtime
from tests.intake.test_writer import submission


async def test_the_log_rewinds_under_sustained_intake(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    upgrade(url)
    runtime = build_runtime(
        Settings(
            database_url=url,
            secret_key="k" * 40,
            rate_limit_ip="0",
            rate_limit_address="0",
        )
    )
    writer = IntakeWriter(runtime)
    writer.checkpoints.every = 0  # a checkpoint whenever none is running
    client = Client(ip="10.0.0.1", user_agent="t", channel="api")
    wal = tmp_path / "wal.db-wal"
    try:
        for start in range(0, 3000, 20):
            await asyncio.gather(
                *(
                    writer.store(submission(i), client, urgent=False)
                    for i in range(start, start + 20)
                )
            )
            await writer.checkpoints.wait()
        with runtime.engine.connect() as connection:
            stored = connection.execute(sa.select(sa.func.count()).select_from(Message)).scalar()
            # the writer's own commits never checkpoint; without the thread the log would hold
            # every page of all 150 batches (28 MB when measured)
            auto = writer._held.dbapi_connection.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert stored == 3000
        assert auto == (0,)
        assert wal.stat().st_size < 2 * 1024 * 1024
    finally:
        writer.close()
        runtime.close()
