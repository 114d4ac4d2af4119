"""Claiming rows for one worker, safe with any number of workers: the outbox's mails, the
follow-ups that are due, and the daily runs all take their work through `claim`.

One statement per queue, in the caller's transaction:
    WITH due AS (SELECT key … WHERE <queue> ORDER BY … LIMIT n FOR UPDATE SKIP LOCKED)
    UPDATE … SET <claim> WHERE key = due.key RETURNING …
On PostgreSQL SKIP LOCKED lets workers claim side by side without waiting or taking the same row;
on SQLite (FOR UPDATE is not rendered) the engine's BEGIN IMMEDIATE makes the claim one writer's
turn. A claim usually sets a lease (owner, expiry): a queue of expired leases, asked first, is how
a dead worker's rows are taken over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


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
