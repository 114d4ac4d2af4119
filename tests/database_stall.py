"""The database stops answering, on either backend: PostgreSQL behind a paused TCP proxy (the
connection open, no bytes), SQLite with its write lock held by another connection."""

from __future__ import annotations

import sqlite3
import threading

import sqlalchemy as sa

from inbox.db import is_sqlite
from tests.stall_proxy import StallingProxy


class DatabaseStall:
    """Give the app `url`; `pause()` stalls the database, `resume()` lets it answer again."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.sqlite = is_sqlite(database_url)
        self.proxy: StallingProxy | None = None
        self._holder: threading.Thread | None = None
        self._locked, self._released = threading.Event(), threading.Event()
        if not self.sqlite:
            parsed = sa.engine.make_url(database_url)
            self.proxy = StallingProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()

    @property
    def url(self) -> str:
        return self.database_url if self.proxy is None else self.proxy.url_for(self.database_url)

    def pause(self) -> None:
        if self.proxy is not None:
            self.proxy.pause()
            return
        self._locked.clear()
        self._released.clear()
        self._holder = threading.Thread(target=self._hold_write_lock, daemon=True)
        self._holder.start()
        assert self._locked.wait(5), "the write lock was not taken"

    def resume(self) -> None:
        if self.proxy is not None:
            self.proxy.resume()
        elif self._holder is not None:
            self._released.set()
            self._holder.join(timeout=10)
            self._holder = None

    def stop(self) -> None:
        self.resume()
        if self.proxy is not None:
            self.proxy.stop()

    def _hold_write_lock(self) -> None:
        other = sqlite3.connect(
            sa.engine.make_url(self.database_url).database, isolation_level=None
        )
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE alembic_version SET version_num = version_num")
        self._locked.set()
        self._released.wait(60)  # bounded: a test that forgets to resume does not hang
        other.execute("COMMIT")
        other.close()
