"""Fixed-window rate limits kept in the database, so every web process sees the same counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
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

    @staticmethod
    @cache  # every submission asks, with one of the few rates in the settings
    def parse(text: str) -> Rule:
        limit, period = parse_rate(text)
        return Rule(limit=limit, period=period)


def hit(db: Session | Connection, *, key: str, rule: Rule, now: datetime) -> int | None:
    """Count one request against `key`; seconds to wait when over the limit, else None."""
    connection = db.connection() if isinstance(db, Session) else db
    statements = sql.Statements(connection.dialect.name)
    return count_hits(connection, statements, [(key, rule)], now=now)


def count_hits(
    connection: Any, statements: sql.Statements, hits: list[tuple[str, Rule]], *, now: datetime
) -> int | None:
    """Count one request against each (key, rule), in one statement, on any connection the
    statements take (SQLAlchemy or driver); seconds to wait for the first one over its limit."""
    epoch = int(now.timestamp())
    counted = [
        (key[:200], rule, epoch - epoch % rule.period) for key, rule in hits if rule.limit > 0
    ]
    if not counted:
        return None
    params: dict[str, Any] = {}
    for index, (key, _, window) in enumerate(counted):
        params[f"key{index}"], params[f"window{index}"] = key, window
    counts = dict(statements.rows(connection, sql.rate_hits(len(counted)), **params))
    for key, rule, window in counted:
        if counts[key] > rule.limit:
            return window + rule.period - epoch
    return None


def purge_windows(session: Session, *, before: datetime) -> int:
    """Drop counters of windows that started before `before`."""
    table = RateBucket.__table__
    result = session.execute(sa.delete(table).where(table.c.window_start < int(before.timestamp())))
    return result.rowcount or 0
