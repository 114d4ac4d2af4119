"""SQLite: the intake writer's WAL checkpoints run in a thread, not inside its commits.

By default SQLite copies the write-ahead log back into the database file (a checkpoint, ending
in an fsync) inside whichever commit takes the log past 1,000 pages. The group-commit writer
commits on the event loop, so under load every ~50th batch stalled every request for several
milliseconds. The writer's own connection therefore turns automatic checkpoints off, and after
its commits this class runs a PASSIVE checkpoint (it never blocks a writer) on another
connection in a thread: SQLite releases the GIL while it copies and syncs. One at a time, at
most every `every` seconds; the log rewinds to its start once a checkpoint has caught up.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


class WalCheckpoints:
    def __init__(self, engine: Engine, *, every: float = 0.25):
        self.engine = engine
        self.every = every
        self._started = float("-inf")
        self._running: asyncio.Future[None] | None = None

    def after_commit(self) -> None:
        """Start a checkpoint unless one is running or the last one started under `every` ago."""
        loop = asyncio.get_running_loop()
        if self._running is not None and self._running.get_loop() is not loop:
            self._running = None  # started on an event loop that has since closed (tests)
        now = time.monotonic()
        if self._running is not None or now - self._started < self.every:
            return
        self._started = now
        self._running = loop.run_in_executor(None, self._checkpoint)
        self._running.add_done_callback(self._finished)

    async def wait(self) -> None:
        """Until the running checkpoint (if any) has finished."""
        if self._running is not None:
            await asyncio.wait([self._running])

    def _checkpoint(self) -> None:
        raw = self.engine.raw_connection()
        try:
            assert raw.driver_connection is not None  # a fresh connection from the pool
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            raw.close()

    def _finished(self, future: asyncio.Future[None]) -> None:
        self._running = None
        if not future.cancelled() and future.exception() is not None:
            log.warning("WAL checkpoint failed: %s", future.exception())
