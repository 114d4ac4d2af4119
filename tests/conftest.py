"""Shared fixtures: a fresh migrated database per test (SQLite or PostgreSQL), the app, a clock,
a real SMTP server and a live server.

Select the backend with INBOX_TEST_DATABASE_URL (default: SQLite files in a temp folder).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from inbox.clock import FrozenClock
from inbox.config import Settings
from inbox.db import create_db_engine, normalise_url, upgrade
from inbox.runtime import Runtime, build_runtime
from inbox.schema import metadata

# Playwright + Chromium fixtures, defined once for every folder (one browser per session)
from tests.browser_fixtures import *  # noqa: E402, F403
from tests.smtp import SmtpServer

TEST_DATABASE_URL = os.environ.get("INBOX_TEST_DATABASE_URL", "")
TEST_SECRET_KEY = "tests-only-0c1d2e3f4a5b6c7d8e9fA1B2C3D4E5F6a7b8c9d0"
TEST_METRICS_TOKEN = "tests-only-metrics-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per test session: a template file (SQLite) or a fresh database."""
    if not TEST_DATABASE_URL or TEST_DATABASE_URL.startswith("sqlite"):
        template = tmp_path_factory.mktemp("db") / "template.db"
        upgrade(f"sqlite:///{template}")
        yield str(template)
        return
    base = sa.engine.make_url(normalise_url(TEST_DATABASE_URL))
    name = f"inbox_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> str:
    """A database in its freshly migrated state, for this test only."""
    if not migrated_database.startswith("postgresql"):
        target = tmp_path / "inbox.db"
        shutil.copyfile(migrated_database, target)
        return f"sqlite:///{target}"
    engine = create_db_engine(migrated_database, pooled=False)
    tables = ", ".join(f'"{table.name}"' for table in metadata().sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    return migrated_database


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        allowed_hosts=["127.0.0.1"],  # the live server
        metrics_token=TEST_METRICS_TOKEN,
        allowed_origins=["https://hospital.example"],
        public_url="http://testserver",
        rate_limit_ip="0",
        rate_limit_address="0",
        run_worker=False,
        mail_catcher=False,
        smtp_host="127.0.0.1",
        smtp_port=1,
        smtp_timeout=5,
        retry_base_seconds=1,
        # tests call a job once and expect every waiting item done, however slow the machine
        # (tests/test_worker_backlog.py sets its own bound)
        worker_batch_seconds=600,
        # a crowded CI machine can take seconds over a page; the stall tests set 4.5 s again
        answer_within_seconds=30,
    )


@pytest.fixture
def runtime(settings: Settings, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = build_runtime(settings, clock=clock)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def app(runtime: Runtime):
    from inbox.main import create_app

    return create_app(runtime=runtime)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free port, recording what it receives."""
    server = SmtpServer(port=free_port())
    server.start()
    yield server
    server.stop()


class LiveServer:
    def __init__(self, app, port: int):
        import uvicorn

        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
                # a browser still holding a live page's event stream must not keep the server
                # (and its worker) alive into the next test
                timeout_graceful_shutdown=1,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        if self.thread.is_alive():
            raise RuntimeError("live server did not stop within 20 s")


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    """The app served by uvicorn on a free port in a background thread."""
    server = LiveServer(app, free_port())
    server.start()
    yield server
    server.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests about the other database (`sqlite_only`, `postgresql_only`): they run
    in that database's suite. Run browser tests last: Playwright's sync API keeps an event loop
    running for as long as the session-scoped browser lives, which would break later tests that
    start their own loop."""
    other = "sqlite_only" if TEST_DATABASE_URL.startswith("postgresql") else "postgresql_only"
    elsewhere = [item for item in items if item.get_closest_marker(other)]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if not item.get_closest_marker(other)]
    uses_browser = [item for item in items if "browser" in getattr(item, "fixturenames", ())]
    for item in uses_browser:
        item.add_marker(pytest.mark.browser)
    others = [item for item in items if item not in uses_browser]
    items[:] = others + uses_browser
