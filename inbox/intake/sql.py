"""Plain SQL for the intake hot path, run with `exec_driver_sql` (no statement compilation).

Written once with `:name` parameters; PostgreSQL's driver gets them as `%(name)s`. Values are
bound as the drivers expect them: on SQLite, timestamps in SQLAlchemy's own text format.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

_PARAM = re.compile(r"(?<!:):([a-z_0-9]+)")


# PostgreSQL: makes the duplicate check and the insert below one step across processes. The
# second of two identical submissions waits here until the first one's transaction ends, then
# finds it. (On SQLite, BEGIN IMMEDIATE already gives each writer the database to itself.)
LOCK_FINGERPRINT = "SELECT pg_advisory_xact_lock(:space, :key)"
FINGERPRINT_LOCK_SPACE = 0x1A7A  # the first key of intake's advisory locks

RECENT_ORIGINAL = """
SELECT id, conversation_id, contact_id, urgent FROM message
WHERE fingerprint = :fingerprint AND received_at >= :since AND status = :accepted
ORDER BY id LIMIT 1"""

COUNT_DUPLICATE = "UPDATE message SET duplicate_count = duplicate_count + 1 WHERE id = :id"

UPSERT_CONTACT = """
INSERT INTO contact (email, name, created_at) VALUES (:email, :name, :now)
ON CONFLICT (email) DO UPDATE SET email = excluded.email
RETURNING id"""
"""The contact of an address, created with the name of its first message and never renamed by a
later one (anyone may type any name beside a known address); `DO UPDATE` with the same value so
that `RETURNING` gives the id on both databases."""

INSERT_MESSAGE = """
INSERT INTO message (conversation_id, contact_id, name, email, subject, body, source_page, channel,
  client_ip, user_agent, received_at, status, spam_reason, duplicate_of_id, duplicate_count,
  fingerprint, urgent, drafted_at, phone)
VALUES (:conversation_id, :contact_id, :name, :email, :subject, :body, :source_page, :channel,
  :client_ip, :user_agent, :received_at, :status, :spam_reason, :duplicate_of_id, 0,
  :fingerprint, :urgent, :drafted_at, :phone)
RETURNING id"""


class Rows:
    """The first row of a result, from SQLAlchemy or straight from a driver's cursor."""

    def __init__(self, row: Any):
        self.row = row

    def first(self) -> Any:
        return self.row

    def scalar(self) -> Any:
        return None if self.row is None else self.row[0]

    def scalar_one(self) -> Any:
        if self.row is None:
            raise LookupError("the statement returned no row")
        return self.row[0]


class Statements:
    """The statements above in the paramstyle of one database, with matching value binding.

    `run` takes a SQLAlchemy Connection or a driver connection (sqlite3 / psycopg) itself: the
    intake writer uses the latter to skip SQLAlchemy's per-statement work on the hot path.
    """

    def __init__(self, dialect_name: str):
        self.sqlite = dialect_name == "sqlite"
        self._cache: dict[str, str] = {}
        self._last_time: tuple[datetime | None, str] = (None, "")

    def run(self, connection: Connection | Any, sql: str, **params: Any) -> Rows:
        """Execute `sql` with `params`; the first row of the result (if any) is kept."""
        if isinstance(connection, Connection):
            result = connection.exec_driver_sql(self._text(sql), self._values(params))
            return Rows(result.first() if result.returns_rows else None)
        cursor = connection.execute(self._text(sql), self._values(params))
        return Rows(cursor.fetchone() if cursor.description else None)

    def rows(self, connection: Connection | Any, sql: str, **params: Any) -> list[Any]:
        """Execute `sql` with `params`; every row of the result."""
        if isinstance(connection, Connection):
            return list(connection.exec_driver_sql(self._text(sql), self._values(params)))
        return connection.execute(self._text(sql), self._values(params)).fetchall()

    def _text(self, sql: str) -> str:
        text = self._cache.get(sql)
        if text is None:
            text = sql if self.sqlite else _PARAM.sub(r"%(\1)s", sql)
            self._cache[sql] = text
        return text

    def _values(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.sqlite:
            for key, value in params.items():
                if isinstance(value, datetime):
                    params[key] = self._sqlite_time(value)
        return params

    def _sqlite_time(self, value: datetime) -> str:
        """SQLAlchemy's text form of a UTC timestamp; one submission binds its time 3-4 times."""
        last, text = self._last_time  # one read: safe should threads ever share the cache
        if value != last:
            text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            self._last_time = (value, text)
        return text
