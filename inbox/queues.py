"""How workers take work from the database's queues, safe with any number of workers: the
outbox's mails, the follow-ups that are due, and the daily runs are claimed through `claim`;
a periodic job works through one `batch` per turn, and asks `waiting` first whether it has
anything to do (so that an idle worker loads nothing, and a busy one loads before it writes).

One statement per queue, in the caller's transaction:
    WITH due AS (SELECT key … WHERE <queue> ORDER BY … LIMIT n FOR UPDATE SKIP LOCKED)
    UPDATE … SET <claim> WHERE key = due.key RETURNING …
On PostgreSQL SKIP LOCKED lets workers claim side by side without waiting or taking the same row;
on SQLite (FOR UPDATE is not rendered) the engine's BEGIN IMMEDIATE makes the claim one writer's
turn. A claim usually sets a lease (owner, expiry): a queue of expired leases, asked first, is how
a dead worker's rows are taken over.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from inbox.config import Settings
from inbox.db import read_scope


@dataclass(frozen=True)
class Queue:
    """Which rows are waiting (`where`) and in which order they are taken."""

    where: sa.ColumnElement[bool]
    order_by: tuple[sa.ColumnElement[Any], ...]


def claim(
    connection: Connection,
    table: sa.Table,
    *,
    key: sa.Column[Any],
    queues: Sequence[Queue],
    limit: int,
    values: Mapping[str, Any],
    returning: Sequence[sa.ColumnElement[Any]],
) -> list[Any]:
    """Set `values` on up to `limit` rows, taken from each queue in turn; the `returning` columns
    of the rows claimed, in key order within each queue."""
    claimed: list[Any] = []
    for queue in queues:
        wanted = limit - len(claimed)
        if wanted <= 0:
            break
        due = (
            sa.select(key)
            .where(queue.where)
            .order_by(*queue.order_by)
            .limit(wanted)
            .with_for_update(skip_locked=True)
            .cte("due")
        )
        rows = connection.execute(
            sa.update(table).where(key == due.c[key.name]).values(**values).returning(*returning)
        ).all()
        claimed.extend(sorted(rows, key=lambda row: row[0]))
    return claimed


def waiting(engine: sa.Engine, where: sa.ColumnElement[bool]) -> bool:
    """Whether any row of a queue waits, read without the write lock: a job that finds one
    loads what it needs (rules, model, templates) before its first write transaction, where
    seconds of loading would keep every other writer of an SQLite database waiting."""
    with read_scope(engine) as session:
        return bool(session.execute(sa.select(sa.exists().where(where))).scalar())


def batch(settings: Settings) -> Iterator[int]:
    """The turns of one batch of a periodic job: at most `worker_batch_size` items, and no new
    one once `worker_batch_seconds` have passed (the item in hand is finished). The worker then
    rests before the next batch, so that a backlog never keeps the web side from its turn."""
    deadline = time.monotonic() + settings.worker_batch_seconds
    for turn in range(max(1, settings.worker_batch_size)):
        if turn and time.monotonic() >= deadline:
            return
        yield turn
