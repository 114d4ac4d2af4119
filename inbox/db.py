"""Database wiring: URL normalisation, engine factory, sessions, migrations.

One sync SQLAlchemy engine per process, built by `create_app` or the CLI from Settings.
SQLite runs in WAL mode with `BEGIN IMMEDIATE` so that concurrent writers queue instead of
failing, each waiting at most `SQLITE_BUSY_SECONDS` for the lock (then the request answers 503);
a page view reads without taking the write lock at all (`read_scope`). PostgreSQL uses psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from inbox.config import PACKAGE_DIR

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Constraint names must be stable for Alembic on both databases; set before any table is defined.
SQLModel.metadata.naming_convention = NAMING_CONVENTION

# How long a SQLite connection waits for another's write lock before giving up: long enough for
# any transaction of ours, well below the patience of a browser or a proxy (30 s and more).
SQLITE_BUSY_SECONDS = 5
# The execution option of `read_scope`'s sessions: on SQLite, no BEGIN (see read_scope).
READS_ONLY = "inbox_reads_only"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def table_of(model: type[SQLModel]) -> sa.Table:
    """The table of a model class, for Core statements (SQLModel does not declare `__table__`
    to type checkers)."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


def rows_changed(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE or DELETE run through `Session.execute` changed (the session
    types its result as a plain Result, which has no `rowcount`)."""
    return int(getattr(result, "rowcount", 0) or 0)


def normalise_url(url: str) -> str:
    """Accept URLs as users write them and pick our own driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(
    url: str,
    *,
    pool_size: int = 10,
    pooled: bool = True,
    bounded: bool = True,
    busy_seconds: float = SQLITE_BUSY_SECONDS,
) -> Engine:
    """An engine for `url`; SQLite files get their folder created, WAL and a busy timeout
    (`busy_seconds`). `bounded=False` (migrations, bulk loads) lifts PostgreSQL's statement and
    lock timeouts."""
    url = normalise_url(url)
    pooling: dict[str, Any] = (
        {"pool_size": pool_size, "max_overflow": pool_size} if pooled else {"poolclass": NullPool}
    )
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_seconds},
            hide_parameters=True,
            **pooling,
        )
        _configure_sqlite(engine, busy_seconds=busy_seconds)
        _strip_nul_characters(engine)
        return engine
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args=POSTGRESQL_CONNECT_ARGS if bounded else POSTGRESQL_UNBOUNDED_CONNECT_ARGS,
        **({"pool_timeout": POOL_TIMEOUT_SECONDS} if pooled else {}),
        **pooling,
    )
    _strip_nul_characters(engine)
    return engine


# A request never waits long for PostgreSQL: connecting, a statement, a transaction left open
# and a dead peer are all bounded (the keepalives notice a silent network within ~25 s).
POOL_TIMEOUT_SECONDS = 3  # well inside the request's deadline (INBOX_ANSWER_WITHIN_SECONDS)
POSTGRESQL_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": 5,
    "options": (
        "-c statement_timeout=30000 -c lock_timeout=10000"
        " -c idle_in_transaction_session_timeout=60000"
    ),
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,
}
POSTGRESQL_UNBOUNDED_CONNECT_ARGS = {
    key: value for key, value in POSTGRESQL_CONNECT_ARGS.items() if key != "options"
}


def _strip_nul_characters(engine: Engine) -> None:
    """PostgreSQL cannot store a NUL character in text (and it cuts SQLite text short in other
    tools): strip it from every text parameter, on both databases alike."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _without_nul(
        _connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> tuple[str, Any]:
        # one row, a list of rows, or (insertmanyvalues) one flat row of several rows' values
        if _has_nul(parameters):
            parameters = _strip_nul(parameters)
        return statement, parameters


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list | tuple):
        return False
    return any(_has_nul(item) for item in value)


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {key: _strip_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_strip_nul(item) for item in value)
    return value


def _configure_sqlite(engine: Engine, *, busy_seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed (privacy erase)
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READS_ONLY):
            return  # every statement its own transaction (read_scope)
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (worker and CLI use)."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session for work that reads (a page view). On SQLite it begins no transaction, so it
    never waits for the write lock: each statement is a transaction of its own, and the few
    writes of a page view (an audit entry, a sign-in's idle deadline) are each one statement
    committed at once. On PostgreSQL it is `session_scope`."""
    if engine.dialect.name != "sqlite":
        with session_scope(engine) as session:
            yield session
        return
    with session_scope(engine.execution_options(**{READS_ONLY: True})) as session:
        yield session


@contextmanager
def writing(session: Session) -> Iterator[sa.Connection]:
    """A connection to write several statements at once with: the session's own transaction, or
    beside a `read_scope` session on SQLite (which has none) a short one of its own, committed
    at once."""
    bind = session.get_bind()
    if not isinstance(bind, Engine) or not bind.get_execution_options().get(READS_ONLY):
        yield session.connection()
        return
    with bind.execution_options(**{READS_ONLY: False}).begin() as connection:
        yield connection


def end_transaction(session: Session) -> None:
    """Commit what `session` has done so far, before slow work that needs no database (password
    hashing): on SQLite a transaction holds the database's one write lock from its BEGIN on, so
    no other request, nor the worker, could write meanwhile. The session goes on in a new one."""
    session.commit()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
