"""Database URLs as operators write them, and migrations through the `inbox` command."""

from __future__ import annotations

import os

import sqlalchemy as sa
from typer.testing import CliRunner

from inbox.cli import app
from inbox.db import create_db_engine, normalise_url


def test_plain_urls_get_our_drivers():
    assert normalise_url("postgresql://user@host/db") == "postgresql+psycopg://user@host/db"
    assert normalise_url("postgres://u:p@h:5433/db").startswith(
        "postgresql+psycopg://u:p@h:5433/db"
    )
    assert normalise_url("sqlite:///relative.db") == "sqlite:///relative.db"
    assert normalise_url("sqlite:////abs/path.db") == "sqlite:////abs/path.db"


def test_inbox_db_upgrade_creates_a_relative_sqlite_file_in_wal_mode(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INBOX_DATABASE_URL", "sqlite:///var/sub/inbox.db")
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "var/sub/inbox.db").exists()
    engine = create_db_engine("sqlite:///var/sub/inbox.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        tables = set(sa.inspect(connection).get_table_names())
    assert {"contact", "conversation", "message", "outbox_mail", "alembic_version"} <= tables
    again = CliRunner().invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0  # running it twice is safe


def test_inbox_db_upgrade_on_the_test_database(database_url, monkeypatch):
    monkeypatch.setenv("INBOX_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = create_db_engine(database_url, pooled=False)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    engine.dispose()
    assert os.environ["INBOX_DATABASE_URL"] == database_url
