"""Fixed-window rate limits kept in the database, shared by every process (intake and sign-in).

A request is counted before the work it guards, in one `INSERT … ON CONFLICT … DO UPDATE …
RETURNING` statement, so parallel requests in any number of processes can never pass a limit
between a check and a count.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel

from inbox.config import parse_rate
from inbox.db import rows_changed, table_of


class RateBucket(SQLModel, table=True):
    """A fixed-window counter for one rate-limit key."""

    __tablename__ = "rate_bucket"
    key: str = Field(primary_key=True, max_length=200)
    window_start: int = Field(primary_key=True)  # epoch seconds
    count: int = 0


@dataclass(frozen=True)
class Rule:
    limit: int  # 0: no limit
    period: int  # seconds

    @staticmethod
    @cache  # every submission asks, with one of the few rates in the settings
    def parse(text: str) -> Rule:
        limit, period = parse_rate(text)
        return Rule(limit=limit, period=period)


class Runner(Protocol):
    """Runs `:name`-style SQL on a connection and returns every row (intake's `Statements`)."""

    def rows(self, connection: Any, sql: str, **params: Any) -> list[Any]: ...


class _SqlAlchemy:
    def rows(self, connection: Any, sql: str, **params: Any) -> list[Any]:
        return list(connection.execute(sa.text(sql), params))


@lru_cache(maxsize=4096)  # the same clients come back
def client_network(ip: str | None) -> str | None:
    """What one client is counted as: its IPv4 address, or its IPv6 /64 (one household or
    machine holds a whole /64 and can pick any address in it)."""
    if not ip:
        return ip
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return ip


@lru_cache(maxsize=4096)
def wide_network(ip: str | None) -> str | None:
    """The /48 of an IPv6 client (what one site is usually given: 65,536 /64s to rotate
    through), else None."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return None
    if not isinstance(address, ipaddress.IPv6Address) or address.ipv4_mapped is not None:
        return None
    return str(ipaddress.IPv6Network((address, 48), strict=False))


@cache
def rate_hits_sql(keys: int) -> str:
    """Count one request against each of `keys` counters (:key0, :window0, ...) at once."""
    rows = ", ".join(f"(:key{index}, :window{index}, 1)" for index in range(keys))
    return f"""
INSERT INTO rate_bucket (key, window_start, count) VALUES {rows}
ON CONFLICT (key, window_start) DO UPDATE SET count = rate_bucket.count + 1
RETURNING key, count"""


def _window(rule: Rule, epoch: int) -> int:
    return epoch - epoch % rule.period


def hit(db: Session | Connection, *, key: str, rule: Rule, now: datetime) -> int | None:
    """Count one request against `key`; seconds to wait when over the limit, else None."""
    return hit_all(db, [(key, rule)], now=now)


def hit_all(db: Session | Connection, hits: list[tuple[str, Rule]], *, now: datetime) -> int | None:
    """Count one request against each (key, rule) on a SQLAlchemy session or connection."""
    connection = db.connection() if isinstance(db, Session) else db
    return count_hits(connection, _SqlAlchemy(), hits, now=now)


def count_hits(
    connection: Any, runner: Runner, hits: list[tuple[str, Rule]], *, now: datetime
) -> int | None:
    """Count one request against each (key, rule), in one statement, on any connection the
    runner takes (SQLAlchemy or driver); seconds to wait for the first one over its limit."""
    epoch = int(now.timestamp())
    counted = [(key[:200], rule, _window(rule, epoch)) for key, rule in hits if rule.limit > 0]
    if not counted:
        return None
    params: dict[str, Any] = {}
    for index, (key, _, window) in enumerate(counted):
        params[f"key{index}"], params[f"window{index}"] = key, window
    counts = dict(runner.rows(connection, rate_hits_sql(len(counted)), **params))
    for key, rule, window in counted:
        if counts[key] > rule.limit:
            return window + rule.period - epoch
    return None


def forgive(session: Session, hits: list[tuple[str, Rule]], *, now: datetime) -> None:
    """Take back one counted request from each (key, rule) in the current window (a success
    that should not count against the client)."""
    table = table_of(RateBucket)
    epoch = int(now.timestamp())
    for key, rule in hits:
        if rule.limit <= 0:
            continue
        session.execute(
            sa.update(table)
            .where(table.c.key == key[:200], table.c.window_start == _window(rule, epoch))
            .where(table.c.count > 0)
            .values(count=table.c.count - 1)
        )


def purge_windows(session: Session, *, before: datetime) -> int:
    """Drop counters of windows that started before `before`."""
    table = table_of(RateBucket)
    result = session.execute(sa.delete(table).where(table.c.window_start < int(before.timestamp())))
    return rows_changed(result)
