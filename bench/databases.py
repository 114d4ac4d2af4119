"""A database of a benchmark's own: a SQLite file in a temp folder, or a database made on a
PostgreSQL server for the run and dropped at its end (or kept by name, for bench/inbox.py's
reuse of a filled one)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from inbox.db import normalise_url, upgrade


@contextmanager
def postgres_database(
    base: str, *, prefix: str, kept: str | None = None
) -> Iterator[tuple[str | None, str | None]]:
    """A new database on the PostgreSQL server at `base`, dropped afterwards; with `kept`, the
    database of that name, made if missing and never dropped. Yields its URL and None, or None
    and why the server could not be reached (the caller reports the skip)."""
    server = sa.engine.make_url(normalise_url(base))
    name = kept or f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        server.set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if not (kept and exists):
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL here
        admin.dispose()
        yield None, f"PostgreSQL unreachable at {server.render_as_string()}: {exc}".splitlines()[0]
        return
    try:
        yield server.set(database=name).render_as_string(hide_password=False), None
    finally:
        if not kept:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def temp_database(url: str | None, *, prefix: str) -> Iterator[str]:
    """A freshly migrated database: a SQLite file in a temp folder when `url` is empty, else one
    made on that PostgreSQL server (the run stops, saying why, when it cannot be reached) and
    dropped at the end."""
    if not url:
        target = f"sqlite:///{tempfile.mkdtemp(prefix=f'{prefix}-')}/inbox.db"
        upgrade(target)
        yield target
        return
    with postgres_database(url, prefix=prefix.replace("-", "_")) as (made, reason):
        if made is None:
            raise SystemExit(reason)
        upgrade(made)
        yield made
