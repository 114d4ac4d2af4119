"""What the service shows to whoever asks: HSTS on https, only its own host names, /metrics
behind a token, only the public API in /openapi.json, no search terms in next=, and every
refused access-control or CSRF decision logged and counted."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from inbox.logs import JsonFormatter
from inbox.main import create_app
from inbox.runtime import build_runtime
from tests.conftest import TEST_METRICS_TOKEN
from tests.staff.factories import make_staff, sign_in

BEARER = {"authorization": f"Bearer {TEST_METRICS_TOKEN}"}


def _client(settings, clock, **changes) -> TestClient:
    runtime = build_runtime(settings.model_copy(update=changes), clock=clock)
    return TestClient(create_app(runtime=runtime), follow_redirects=False)


def test_hsts_is_sent_when_the_public_url_is_https(settings, clock):
    with _client(settings, clock, public_url="https://inbox.hospital.example") as https:
        response = https.get("/login", headers={"host": "inbox.hospital.example"})
    assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_no_hsts_over_plain_http(client):
    assert "strict-transport-security" not in client.get("/login").headers


def test_a_foreign_host_header_is_refused_not_reflected(client):
    response = client.get("/contact", headers={"host": "evil.example"})

    assert response.status_code == 400
    assert "evil.example" not in response.text


def test_the_service_answers_its_own_host_and_probes_answer_any(client):
    assert client.get("/contact").status_code == 200
    assert client.get("/healthz", headers={"host": "10.0.0.7:8000"}).status_code == 200


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer wrong"}, {"authorization": TEST_METRICS_TOKEN}]
)
def test_metrics_need_the_bearer_token(client, headers):
    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert "inbox_outbox" not in response.text


def test_metrics_stay_closed_without_a_configured_token(settings, clock):
    with _client(settings, clock, metrics_token="") as open_client:
        assert open_client.get("/metrics", headers={"authorization": "Bearer "}).status_code == 401


def test_openapi_lists_only_the_public_api(client):
    paths = client.get("/openapi.json").json()["paths"]

    assert paths and all(path.startswith("/api/") for path in paths), sorted(paths)


def test_next_carries_the_page_without_the_search_terms(client):
    response = client.get("/inbox?tab=sent&q=Jane+Doe+jane%40example.org")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Finbox%3Ftab%3Dsent"


def _refusals(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "inbox.security"
    ]


def test_a_failed_csrf_check_is_logged_and_counted(client, runtime, caplog):
    staff = make_staff(runtime, email="nurse@hospital.example")
    sign_in(client, email=staff.email)
    caplog.set_level(logging.INFO, logger="inbox.security")

    refused = client.post("/logout?secret=abc", data={"csrf_token": "wrong"})

    assert refused.status_code == 403
    [entry] = _refusals(caplog)
    assert entry["reason"] == "csrf" and entry["user"] == staff.email
    assert entry["route"] == "/logout" and entry["method"] == "POST" and entry["time"]
    assert "secret" not in json.dumps(entry)  # never the query string
    metrics = client.get("/metrics", headers=BEARER).text
    assert 'inbox_refused_requests_total{reason="csrf"} 1.0' in metrics


def test_a_staff_member_on_an_admin_page_is_logged_and_counted(client, runtime, caplog):
    nurse = make_staff(runtime, email="nurse@hospital.example")
    sign_in(client, email=nurse.email)
    caplog.set_level(logging.INFO, logger="inbox.security")

    refused = client.get("/admin/audit")

    assert refused.status_code == 403
    entries = [entry for entry in _refusals(caplog) if entry["reason"] == "not_admin"]
    assert entries and entries[-1]["user"] == nurse.email
    assert entries[-1]["route"] == "/admin/audit"
    metrics = client.get("/metrics", headers=BEARER).text
    assert 'inbox_refused_requests_total{reason="not_admin"}' in metrics
    assert 'inbox_refused_requests_total{reason="not_admin"} 0.0' not in metrics


def test_a_forged_login_form_is_logged_as_a_csrf_refusal(client, caplog):
    caplog.set_level(logging.INFO, logger="inbox.security")
    client.get("/login")

    response = client.post(
        "/login", data={"email": "a@b.example", "password": "x", "csrf_token": "no"}
    )

    assert response.status_code == 403
    assert [entry["route"] for entry in _refusals(caplog)] == ["/login"]
