"""Group commit for the public form: submissions that arrive together share one transaction.

Each request hands its validated submission to the writer and waits. The writer takes every
submission queued at that moment and stores them in one transaction on one driver connection,
and should one fail unexpectedly, again one by one: it is refused alone, the others committed.
The batches run on a thread of the writer's own, never on the event loop: while a batch waits
for a lock (SQLite's one write lock, held by a staff action or the worker), the loop goes on
serving every other request. On SQLite the writer keeps a connection of its own, whose WAL
checkpoints run in another thread (inbox.intake.wal), and it asks for the write lock every
`LOCK_POLL_SECONDS` while another connection holds it: SQLite's own busy handler sleeps longer
and longer between tries (up to 100 ms), and the worker's many short transactions kept taking
the lock in between, so a form post could wait 600 ms for a lock nobody held longer than 60 ms.

A request that cannot wait any longer (the database stalls) is answered 503 only once its
submission is sure not to be committed: under the writer's gate it is marked given up, and a
batch holding a given-up submission is rolled back before its COMMIT and stored again without
it. Should its batch's COMMIT already be under way, the request waits a little longer for that
answer; only a stall that begins during the COMMIT itself leaves its outcome unknown (then a
retry is folded into it as a duplicate: nothing is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox.errors import DatabaseUnavailable, InboxError
from inbox.intake import sql
from inbox.intake.service import Client, Receipt, receive_submission
from inbox.intake.validation import Submission
from inbox.intake.wal import WalCheckpoints
from inbox.runtime import Runtime

log = logging.getLogger(__name__)

LOCK_POLL_SECONDS = 0.002  # SQLite: between two tries for the write lock (module docstring)


@dataclass
class _Pending:
    submission: Submission
    client: Client
    urgent: bool
    now: datetime
    future: asyncio.Future[Receipt]
    outcome: Receipt | BaseException | None = None
    abandoned: bool = False  # its request was answered 503: it must never be committed
    committing: bool = False  # its batch's COMMIT is under way: too late to give it up


class IntakeWriter:
    """Stores submissions in batches; `store` answers each caller with its own receipt."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.statements = sql.Statements("sqlite" if runtime.sqlite else "postgresql")
        self._queue: list[_Pending] = []
        self._busy = False
        self._drainer: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake-writer")
        self._held: Any = None  # SQLite: the writer's own connection, kept between batches
        self._gate = threading.Lock()  # between giving a submission up and committing it
        self.checkpoints = WalCheckpoints(runtime.engine) if runtime.sqlite else None

    def close(self) -> None:
        """Wait for the batch in progress, then close the writer's thread and own connection."""
        self._thread.shutdown(wait=True)
        self._release()

    def _release(self) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

    async def store(self, submission: Submission, client: Client, *, urgent: bool) -> Receipt:
        """Queue one submission and wait until it is committed (or refused)."""
        loop = asyncio.get_running_loop()
        pending = _Pending(
            submission, client, urgent, self.runtime.clock.now(), loop.create_future()
        )
        self._queue.append(pending)
        if not self._busy:
            self._busy = True
            self._drainer = loop.create_task(self._drain())
        # a stalled database must not keep the patient waiting: answer before the request's
        # deadline (the form is shown again, input kept), once the submission is sure not to
        # be stored behind the patient's back (see the module's docstring)
        within = self.runtime.settings.answer_within_seconds
        wait = max(0.5, within - 1)
        try:
            return await asyncio.wait_for(asyncio.shield(pending.future), timeout=wait)
        except TimeoutError:
            if not self._give_up(pending):
                with contextlib.suppress(TimeoutError):
                    grace = max(0.25, within - wait - 0.25)
                    return await asyncio.wait_for(asyncio.shield(pending.future), timeout=grace)
            pending.future.add_done_callback(_retrieved)
            raise DatabaseUnavailable() from None

    def _give_up(self, pending: _Pending) -> bool:
        """Mark `pending` given up unless its batch is committing; whether it was."""
        with self._gate:
            if not pending.committing:
                pending.abandoned = True
            return pending.abandoned

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            # one turn of the event loop first: requests already being handled join this batch
            # (in bench/intake.py's load batches grow from ~11 to ~25 submissions, throughput ~10%)
            await asyncio.sleep(0)
            while self._queue:
                batch = [item for item in self._queue if not item.abandoned]
                self._queue = []
                if not batch:
                    continue
                try:
                    await loop.run_in_executor(self._thread, self._write, batch)
                    if self.checkpoints is not None:
                        self.checkpoints.after_commit()
                except Exception as exc:  # noqa: BLE001 - the database itself failed: tell everyone
                    log.exception("intake batch of %d failed", len(batch))
                    for item in batch:
                        item.outcome = item.outcome or exc
                for item in batch:
                    if item.future.done():
                        continue
                    if isinstance(item.outcome, BaseException):
                        item.future.set_exception(item.outcome)
                    elif item.outcome is None:  # neither stored nor refused: never a silent loss
                        item.future.set_exception(RuntimeError("the submission was not stored"))
                    else:
                        item.future.set_result(item.outcome)
        finally:
            self._busy = False

    def _write(self, batch: list[_Pending]) -> None:
        """One transaction for the whole batch; if one submission fails unexpectedly, the batch is
        rolled back and stored again one transaction per submission, so it is refused alone.
        (Optimistic: savepoints around each one cost about 5% of storing, to guard a rare case.)
        """
        raw = self._connection()
        broken = False
        try:
            connection: Any = raw.dbapi_connection
            try:
                while batch:
                    self._begin(connection)
                    for item in batch:
                        self._store(connection, item)
                    if self._commit_unless_given_up(connection, raw, batch):
                        break
                    batch = [item for item in batch if not item.abandoned]
            except _Unexpected:
                if not _rollback(connection_or_none=raw):
                    raise  # a broken connection: the whole batch fails, the connection is replaced
                for item in batch:
                    self._store_alone(connection, raw, item)
        except BaseException:
            for item in batch:
                if isinstance(item.outcome, Receipt):
                    item.outcome = None  # not committed after all
            broken = not _rollback(connection_or_none=raw)
            raise
        finally:
            if raw is not self._held:
                raw.close()
            elif broken:
                self._release()

    def _connection(self) -> Any:
        if not self.runtime.sqlite:
            return self.runtime.engine.raw_connection()
        if self._held is None:
            raw = self.runtime.engine.raw_connection()
            raw.detach()  # never back to the pool, where others would inherit the setting below
            assert raw.dbapi_connection is not None  # a fresh connection from the pool
            raw.dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")  # self.checkpoints
            self._held = raw
        return self._held

    def _store(self, connection: Any, item: _Pending) -> None:
        try:
            item.outcome = receive_submission(
                connection,
                submission=item.submission,
                client=item.client,
                settings=self.runtime.settings,
                now=item.now,
                urgent=item.urgent,
                statements=self.statements,
            )
        except InboxError as exc:  # refused (rate limit): its counters stay
            item.outcome = exc
        except Exception as exc:
            raise _Unexpected from exc

    def _store_alone(self, connection: Any, raw: Any, item: _Pending) -> None:
        """Store one submission in its own transaction; whatever fails is its outcome alone."""
        item.outcome = None
        try:
            self._begin(connection)
            self._store(connection, item)
            self._commit_unless_given_up(connection, raw, [item])
        except Exception as exc:  # noqa: BLE001 - the others, already committed, stay so
            cause = exc.__cause__ if isinstance(exc, _Unexpected) else exc
            log.error("storing one submission failed", exc_info=cause)
            _rollback(connection_or_none=raw)
            item.outcome = cause

    def _begin(self, connection: Any) -> None:
        if not self.runtime.sqlite:
            return  # psycopg opens its transaction by itself
        (patience_ms,) = connection.execute("PRAGMA busy_timeout").fetchone()
        deadline = time.monotonic() + patience_ms / 1000
        connection.execute("PRAGMA busy_timeout=0")  # tries below, not SQLite's sleeps
        try:
            while True:
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not _locked(exc) or time.monotonic() >= deadline:
                        raise
                time.sleep(LOCK_POLL_SECONDS)
        finally:  # statements in the transaction wait as every connection's do
            connection.execute(f"PRAGMA busy_timeout={int(patience_ms)}")

    def _commit_unless_given_up(self, connection: Any, raw: Any, items: list[_Pending]) -> bool:
        """Commit, unless one of `items` was given up meanwhile (its request answered 503):
        then roll back, and return False (the given-up ones are no longer stored)."""
        with self._gate:
            given_up = [item for item in items if item.abandoned]
            for item in items:
                item.committing = not given_up
        if given_up:
            if not _rollback(connection_or_none=raw):
                raise DatabaseUnavailable()  # a broken connection: the others fail with it
            for item in items:
                if isinstance(item.outcome, Receipt):
                    item.outcome = None
            return False
        connection.execute("COMMIT") if self.runtime.sqlite else connection.commit()
        return True


def _locked(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused because another connection holds the lock."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _retrieved(future: asyncio.Future[Receipt]) -> None:
    """Take the outcome nobody waits for any more, so that asyncio does not report it."""
    if not future.cancelled():
        future.exception()


class _Unexpected(Exception):
    """One submission failed for a reason other than a refusal (its cause says which)."""


def _rollback(*, connection_or_none: Any) -> bool:
    """Roll back; False when even that failed (the connection is broken: replace it)."""
    try:
        connection_or_none.rollback()
    except Exception:  # noqa: BLE001 - the connection is broken anyway; the pool replaces it
        log.warning("rollback after a failed intake batch failed")
        return False
    return True
