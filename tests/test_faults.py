"""A clear answer under faults and odd input: never a 500, never a lost input."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from inbox.config import Settings
from inbox.conversations.models import Message
from inbox.intake.spam import issue_form_token
from inbox.main import create_app
from inbox.runtime import build_runtime
from tests.conftest import LiveServer, free_port
from tests.factories import api_payload, form_fields


def stored(runtime) -> list:
    with runtime.engine.connect() as connection:
        return list(connection.execute(sa.select(Message.__table__)).mappings())


def test_json_nested_thirty_thousand_deep_is_a_clear_422(client, runtime):
    deep = "[" * 30_000 + "]" * 30_000
    response = client.post(
        "/api/v1/messages", content=deep, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"]["body"] == "The body is not valid JSON."
    assert stored(runtime) == []


def test_chunked_form_body_over_the_limit_is_413(client):
    def chunks():
        for _ in range(200):
            yield b"message=" + b"x" * 1024

    response = client.post(
        "/contact", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
    assert "larger than 64 KiB" in response.text


def test_form_shown_again_keeps_its_first_token(client, settings, clock):
    first = issue_form_token(settings.secret_key, now=clock.now() - timedelta(seconds=1))
    fields = form_fields(settings, clock, email="not-an-address", form_token=first)
    response = client.post("/contact", data=fields)
    assert response.status_code == 422
    assert f'name="form_token" value="{first}"' in response.text


def test_a_forged_token_is_not_echoed_back(client, settings, clock):
    fields = form_fields(settings, clock, email="not-an-address", form_token="forged.token")
    response = client.post("/contact", data=fields)
    assert response.status_code == 422
    token = re.search(r'name="form_token" value="([^"]+)"', response.text).group(1)
    assert token != "forged.token"


@pytest.fixture
def unreachable_server(tmp_path, settings):
    """A live server whose database cannot be opened (SQLite in a folder that does not exist)
    or reached (PostgreSQL on a port where nothing listens)."""
    if settings.database_url.startswith("postgresql"):
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    else:
        url = f"sqlite:///{tmp_path / 'missing' / 'inbox.db'}"
    broken = Settings(**{**settings.model_dump(), "database_url": url, "_env_file": None})
    runtime = build_runtime(broken)
    server = LiveServer(create_app(runtime=runtime), free_port())
    server.start()
    yield server
    server.stop()
    runtime.engine.dispose()


def test_database_outage_answers_503_keeps_the_input_and_the_connection(
    unreachable_server, settings, clock, caplog
):
    fields = form_fields(settings, clock, message="My fistula is bleeding through the dressing")
    with httpx.Client(base_url=unreachable_server.url, timeout=10) as http:
        first = http.post("/contact", data=fields)
        assert first.status_code == 503
        assert first.headers["retry-after"] == "60"
        assert "try again in a minute" in first.text
        assert "My fistula is bleeding through the dressing" in first.text
        assert first.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" in first.headers
        assert first.headers.get("connection") != "close"
        api = http.post("/api/v1/messages", json=api_payload())
        assert api.status_code == 503
        assert api.headers["retry-after"] == "60"
        assert "try again in a minute" in api.json()["detail"]
        ready = http.get("/readyz")
        assert ready.status_code == 503
    assert "fistula" not in caplog.text


def test_client_that_disconnects_mid_upload_is_one_info_line(live_server, caplog):
    import socket

    caplog.set_level(logging.INFO)
    host, port = live_server.url.removeprefix("http://").split(":")
    for _ in range(5):
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            head = b"POST /api/v1/messages HTTP/1.1\r\nHost: %s\r\n" % host.encode()  # ours
            raw.sendall(
                head + b'Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"name": '
            )
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert http.get("/healthz").status_code == 200  # and the server still answers
    records = [record for record in caplog.records if "disconnect" in record.getMessage()]
    assert records, "the aborted uploads were not logged"
    assert all(record.levelno == logging.INFO for record in records)
    assert not [record for record in caplog.records if record.exc_info]


def test_readyz_is_ok_when_the_database_takes_writes(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.sqlite_only  # a read-only file; PostgreSQL outages are tested above
def test_readyz_says_no_when_the_database_is_read_only(settings, tmp_path):
    path = settings.database_url.removeprefix("sqlite:///")
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    runtime = build_runtime(Settings(**{**settings.model_dump(), "database_url": read_only}))
    from fastapi.testclient import TestClient

    with TestClient(create_app(runtime=runtime)) as http:
        response = http.get("/readyz")
    runtime.engine.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
