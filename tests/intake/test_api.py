"""The JSON API and CORS, as the site's JavaScript sees them."""

from __future__ import annotations

import sqlalchemy as sa

from inbox.conversations.models import Message
from tests.factories import api_payload


def stored(runtime) -> list:
    with runtime.engine.connect() as connection:
        return list(connection.execute(sa.select(Message.__table__)).mappings())


def test_valid_json_gives_201_with_id_and_status(client, runtime):
    response = client.post("/api/v1/messages", json=api_payload())
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "accepted"
    assert body["id"] == stored(runtime)[0]["id"]
    assert stored(runtime)[0]["channel"] == "api"
    # the site's own thank-you page gets the emergency line to show, whatever the triage said
    assert body["urgent"] is False
    assert "call 999 or your local emergency number now" in body["emergency_instruction"]


def test_invalid_json_fields_give_422_per_field(client, runtime):
    response = client.post("/api/v1/messages", json=api_payload(email="nope", message=""))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"email", "message"}
    assert stored(runtime) == []


def test_wrong_types_missing_fields_and_broken_json_are_422_not_500(client):
    cases = [
        {"json": {"name": 5, "email": ["a"], "subject": None, "message": {"x": 1}}},
        {"json": []},
        {"json": "just a string"},
        {"content": b'{"name": "a", ', "headers": {"content-type": "application/json"}},
        {"content": b"\xff\xfe\x00garbage", "headers": {"content-type": "application/json"}},
    ]
    for case in cases:
        response = client.post("/api/v1/messages", **case)
        assert response.status_code == 422, case
        assert "errors" in response.json()


def test_wrong_content_type_is_415(client):
    response = client.post(
        "/api/v1/messages", content=b"name=a", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert "JSON" in response.json()["detail"]


def test_duplicate_json_submission_returns_the_first_id(client):
    first = client.post("/api/v1/messages", json=api_payload()).json()
    second = client.post("/api/v1/messages", json=api_payload()).json()
    assert second == {**first, "status": "duplicate"}


def test_cors_allows_only_the_hospital_origins(client):
    allowed = client.options(
        "/api/v1/messages",
        headers={
            "origin": "https://hospital.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://hospital.example"
    other = client.options(
        "/api/v1/messages",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in other.headers
    posted = client.post(
        "/api/v1/messages", json=api_payload(), headers={"origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in posted.headers


def test_openapi_describes_the_message_endpoint(client):
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/messages"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"name", "email", "subject", "message"}
    assert {"page", "form_token", "website"} <= set(schema["properties"])
    assert {"201", "422", "429", "413"} <= set(operation["responses"])
    created = operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["$ref"].endswith("MessageOut")


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "ok"
