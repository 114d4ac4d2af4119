"""Fixed-window rate limits kept in the database, so every web process sees the same counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from inbox.config import parse_rate
from inbox.intake import sql
from inbox.intake.models import RateBucket


@dataclass(frozen=True)
class Rule:
    limit: int  # 0: no limit
    period: int  # seconds

    @classmethod
    def parse(cls, text: str) -> Rule:
        limit, period = parse_rate(text)
        return cls(limit=limit, period=period)


def hit(db: Session | Connection, *, key: str, rule: Rule, now: datetime) -> int | None:
    """Count one request against `key`; seconds to wait when over the limit, else None."""
    connection = db.connection() if isinstance(db, Session) else db
    statements = sql.Statements(connection.dialect.name)
    return count_hit(connection, statements.run, key=key, rule=rule, now=now)


def count_hit(
    connection: Any, run: Callable[..., sql.Rows], *, key: str, rule: Rule, now: datetime
) -> int | None:
    """`hit` on any connection the statement runner `run` takes (SQLAlchemy or driver)."""
    if rule.limit <= 0:
        return None
    epoch = int(now.timestamp())
    window = epoch - epoch % rule.period
    count = run(connection, sql.RATE_HIT, key=key[:200], window=window).scalar_one()
    if count > rule.limit:
        return window + rule.period - epoch
    return None


def purge_windows(session: Session, *, before: datetime) -> int:
    """Drop counters of windows that started before `before`."""
    table = RateBucket.__table__
    result = session.execute(sa.delete(table).where(table.c.window_start < int(before.timestamp())))
    return result.rowcount or 0
