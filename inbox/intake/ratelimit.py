"""Fixed-window rate limits kept in the database, so every web process sees the same counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from inbox.config import parse_rate
from inbox.intake.models import RateBucket


@dataclass(frozen=True)
class Rule:
    limit: int  # 0: no limit
    period: int  # seconds

    @classmethod
    def parse(cls, text: str) -> Rule:
        limit, period = parse_rate(text)
        return cls(limit=limit, period=period)


def hit(session: Session, *, key: str, rule: Rule, now: datetime) -> int | None:
    """Count one request against `key`; seconds to wait when over the limit, else None."""
    if rule.limit <= 0:
        return None
    epoch = int(now.timestamp())
    window = epoch - epoch % rule.period
    table = RateBucket.__table__
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(table)
        .values(key=key, window_start=window, count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"count": table.c.count + 1}
        )
        .returning(table.c.count)
    )
    count = session.execute(statement).scalar_one()
    if count > rule.limit:
        return window + rule.period - epoch
    return None


def purge_windows(session: Session, *, before: datetime) -> int:
    """Drop counters of windows that started before `before`."""
    table = RateBucket.__table__
    result = session.execute(sa.delete(table).where(table.c.window_start < int(before.timestamp())))
    return result.rowcount or 0
