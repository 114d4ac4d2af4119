"""Once-a-day jobs shared by every worker (digest, purge), without cron or in-memory timers.

Each job has a row in `daily_run` saying when it is next due. A worker runs the job only if it
claimed the row (`inbox.queues.claim`: next_run_at moved on to tomorrow, where next_run_at <=
now): of several workers, exactly one wins each day. A run that fails is tried again
`RETRY_AFTER` later.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from inbox import queues
from inbox.db import session_scope
from inbox.followups.models import DailyRun

if TYPE_CHECKING:
    from inbox.runtime import Runtime

log = logging.getLogger(__name__)
_table = DailyRun.__table__  # type: ignore[attr-defined]
RETRY_AFTER = timedelta(minutes=10)


# When each job is next due, as last read from the database, per engine: lets a worker's tick
# skip the database until then. Only a shortcut: the row stays the one truth for every process.
_next_due: weakref.WeakKeyDictionary[Engine, dict[str, datetime]] = weakref.WeakKeyDictionary()


def claim_run(
    engine: Engine, *, name: str, now: datetime, first_due: datetime, next_due: datetime
) -> bool:
    """Whether this caller won today's run of `name` (the row is moved on to `next_due`)."""
    known = _next_due.setdefault(engine, {})
    if name in known and known[name] > now:
        return False
    insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert
    with engine.begin() as connection:
        connection.execute(
            insert(_table)
            .values(name=name, next_run_at=first_due)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        won = bool(
            queues.claim(
                connection,
                _table,
                key=_table.c.name,
                queues=[queues.Queue((_table.c.name == name) & (_table.c.next_run_at <= now), ())],
                limit=1,
                values={"next_run_at": next_due, "last_run_at": now},
                returning=(_table.c.name,),
            )
        )
        known[name] = (
            next_due
            if won
            else connection.execute(
                sa.select(_table.c.next_run_at).where(_table.c.name == name)
            ).scalar_one()
        )
    return won


def run_daily(
    runtime: Runtime,
    *,
    name: str,
    action: Callable[[Session, datetime], int],
    first_due: datetime,
    next_due: datetime,
) -> int:
    """Run `action(session, now)` if the run is due and this worker won it; returns its count."""
    now = runtime.clock.now()
    if not claim_run(runtime.engine, name=name, now=now, first_due=first_due, next_due=next_due):
        return 0
    try:
        with session_scope(runtime.engine) as session:
            done = action(session, now)
    except Exception:
        log.exception("daily job %s failed; trying again in %s", name, RETRY_AFTER)
        with runtime.engine.begin() as connection:
            connection.execute(
                sa.update(_table).where(_table.c.name == name)
                .values(next_run_at=now + RETRY_AFTER, last_result="failed")
            )  # fmt: skip
        _next_due.get(runtime.engine, {}).pop(name, None)
        return 0
    with runtime.engine.begin() as connection:
        connection.execute(
            sa.update(_table).where(_table.c.name == name).values(last_result=f"done: {done}")
        )
    return done
