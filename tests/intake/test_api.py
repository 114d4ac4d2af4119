"""The JSON API and CORS, as the site's JavaScript sees them."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from inbox.conversations.models import Message
from inbox.outbox.models import MailKind, OutboxMail
from inbox.worker import draft_new_messages
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


def test_a_text_plain_body_is_refused_even_when_it_holds_json(client, runtime):
    """`text/plain` is what any page may post cross-origin without a preflight (CORS)."""
    for content_type in ("text/plain;charset=json", "text/plain", "application/jsonp"):
        response = client.post(
            "/api/v1/messages",
            content=json.dumps(api_payload()).encode(),
            headers={"content-type": content_type, "origin": "https://hospital.example"},
        )
        assert response.status_code == 415, content_type
    assert stored(runtime) == []
    charset = client.post(
        "/api/v1/messages",
        content=json.dumps(api_payload()).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert charset.status_code == 201


def test_a_page_of_another_site_is_refused(client, runtime):
    refused = client.post(
        "/api/v1/messages", json=api_payload(), headers={"origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This site may not send messages here."
    assert stored(runtime) == []
    for origin in ("https://hospital.example", "http://testserver", None):
        headers = {"origin": origin} if origin else {}
        email = f"from-{len(stored(runtime))}@example.org"
        response = client.post("/api/v1/messages", json=api_payload(email=email), headers=headers)
        assert response.status_code == 201, origin
    assert len(stored(runtime)) == 3


def test_a_message_without_the_form_token_is_kept_as_spam_and_never_answered(
    client, runtime, clock
):
    untokened = {key: value for key, value in api_payload().items() if key != "form_token"}
    assert client.post("/api/v1/messages", json=untokened).status_code == 201
    forged = api_payload(email="forged@example.org", form_token="1700000000.forged")
    assert client.post("/api/v1/messages", json=forged).status_code == 201
    token = client.get("/api/v1/form-token").json()["form_token"]
    hasty = api_payload(email="hasty@example.org", form_token=token)
    assert client.post("/api/v1/messages", json=hasty).status_code == 201  # no time to read
    clock.advance(timedelta(seconds=20))
    person = api_payload(email="person@example.org", form_token=token)
    assert client.post("/api/v1/messages", json=person).status_code == 201
    reasons = {row["email"]: row["spam_reason"] for row in stored(runtime)}
    assert reasons == {
        "lmorales58@example.net": "no-form-token",
        "forged@example.org": "bad-form-token",
        "hasty@example.org": "too-fast",
        "person@example.org": None,
    }
    draft_new_messages(runtime)
    with Session(runtime.engine) as session:
        acknowledged = session.exec(
            select(OutboxMail.recipient).where(OutboxMail.kind == MailKind.ACKNOWLEDGEMENT)
        ).all()
    assert acknowledged == ["person@example.org"]
