"""Hostile and odd input: a clear answer every time, never a 500, nothing legitimate lost."""

from __future__ import annotations

import sqlalchemy as sa

from inbox.conversations.models import Message
from inbox.ratelimit import RateBucket
from tests.factories import api_payload, form_fields


def messages(runtime) -> list:
    with runtime.engine.connect() as connection:
        return list(
            connection.execute(sa.select(Message.__table__).order_by(Message.id)).mappings()
        )


def test_one_megabyte_body_is_413_before_being_read(client, runtime, settings, clock):
    big = form_fields(settings, clock, message="a" * 1_000_000)
    response = client.post("/contact", data=big)
    assert response.status_code == 413
    response = client.post("/api/v1/messages", json=api_payload(message="b" * 1_000_000))
    assert response.status_code == 413
    assert "larger than 64 KiB" in response.json()["detail"]
    assert messages(runtime) == []


def test_body_without_content_length_is_cut_off_at_the_limit(client):
    def chunks():
        for _ in range(200):
            yield b"x" * 1024

    response = client.post(
        "/api/v1/messages", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_invalid_utf8_and_broken_percent_encoding_do_not_500(client, runtime, settings, clock):
    fields = form_fields(settings, clock)
    body = "&".join(f"{k}={v}" for k, v in fields.items() if k != "message").encode()
    for raw in [b"%ff%fe%zz bad", b"\xff\xfe\xfd", b"%", b"%%%%41"]:
        response = client.post(
            "/contact",
            content=body + b"&message=" + raw,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code in (303, 422), raw


def test_garbage_multipart_is_a_clear_error(client):
    response = client.post(
        "/contact",
        content=b"--xx\r\nnot really multipart",
        headers={"content-type": "multipart/form-data; boundary=xx"},
    )
    assert response.status_code in (400, 422)
    assert "<form" in response.text


def test_missing_and_duplicated_fields(client, runtime, settings, clock):
    response = client.post("/contact", data={"name": "Only a name"})
    assert response.status_code == 422
    fields = form_fields(settings, clock)
    body = "&".join(f"{k}={v}" for k, v in fields.items()) + "&email=other%40example.com"
    response = client.post(
        "/contact",
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert "more than once" in response.text


def test_wrong_content_types_on_the_form(client):
    for kind, body in [
        ("text/plain", b"hello"),
        ("application/json", b'{"name": "x"}'),
        ("application/xml", b"<a/>"),
    ]:
        response = client.post("/contact", content=body, headers={"content-type": kind})
        assert response.status_code == 422, kind


def test_emoji_and_right_to_left_text_are_kept(client, runtime):
    payload = api_payload(
        name="مريم حداد", subject="تقلصات 😖", message="تشنج في الساق بعد الغسيل الكلوي 🙏🏽 שלום"
    )
    assert client.post("/api/v1/messages", json=payload).status_code == 201
    [stored] = messages(runtime)
    assert stored["name"] == "مريم حداد"
    assert "🙏🏽" in stored["body"] and "שלום" in stored["body"]


def test_unicode_is_nfc_normalised_and_control_characters_stripped(client, runtime):
    payload = api_payload(
        name="Jose\u0301 Nun\u0303ez\x07", message="line one\x00\x1b[31m\nline two"
    )
    assert client.post("/api/v1/messages", json=payload).status_code == 201
    [stored] = messages(runtime)
    assert stored["name"] == "José Nuñez"
    assert stored["body"] == "line one[31m\nline two"


def test_thousand_character_email_is_a_field_error(client, runtime):
    response = client.post("/api/v1/messages", json=api_payload(email="a" * 990 + "@example.com"))
    assert response.status_code == 422
    assert "too long" in response.json()["errors"]["email"]


def test_rate_limit_per_address_answers_429_with_retry_after_and_keeps_input(
    runtime, settings, clock
):
    from fastapi.testclient import TestClient

    from inbox.main import create_app

    limited = settings.model_copy(update={"rate_limit_address": "2/hour"})
    runtime.settings = limited
    with TestClient(create_app(runtime=runtime), follow_redirects=False) as client:
        for index in range(2):
            assert (
                client.post(
                    "/contact", data=form_fields(limited, clock, message=f"question {index}")
                ).status_code
                == 303
            )
        response = client.post(
            "/contact", data=form_fields(limited, clock, message="third question kept")
        )
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) > 0
        assert "third question kept" in response.text
        api = client.post("/api/v1/messages", json=api_payload(email="karim.h@example.com"))
        assert api.status_code == 429 and "retry-after" in api.headers
    assert len(messages(runtime)) == 2
    with runtime.engine.connect() as connection:
        counts = connection.execute(sa.select(RateBucket.__table__.c.count)).scalars().all()
    assert max(counts) >= 3  # refused attempts are counted too


def test_rate_limit_per_ip(runtime, settings, clock):
    from fastapi.testclient import TestClient

    from inbox.main import create_app

    runtime.settings = settings.model_copy(update={"rate_limit_ip": "3/minute"})
    with TestClient(create_app(runtime=runtime), follow_redirects=False) as client:
        codes = [
            client.post("/api/v1/messages", json=api_payload(email=f"p{i}@example.com")).status_code
            for i in range(5)
        ]
    assert codes == [201, 201, 201, 429, 429]


def test_both_rate_limits_count_every_attempt_and_the_tighter_one_refuses(runtime, settings, clock):
    from fastapi.testclient import TestClient

    from inbox.main import create_app

    runtime.settings = settings.model_copy(
        update={"rate_limit_ip": "4/minute", "rate_limit_address": "2/hour"}
    )
    with TestClient(create_app(runtime=runtime), follow_redirects=False) as client:
        answers = [
            client.post("/api/v1/messages", json=api_payload(email=f"{who}@example.com"))
            for who in ("ann", "ann", "ann", "bob", "cat")
        ]
    assert [answer.status_code for answer in answers] == [201, 201, 429, 201, 429]
    # Ann's third is over her address's hourly limit; Cat's is over the client's minute limit
    assert int(answers[2].headers["retry-after"]) > 60
    assert 0 < int(answers[4].headers["retry-after"]) <= 60
    assert len(messages(runtime)) == 3
