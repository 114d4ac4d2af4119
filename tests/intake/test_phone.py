"""The optional phone number: on the form with its consent wording and in the JSON API,
checked and stored in the international format; shown to staff, prominently when urgent."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from inbox.conversations.models import Message
from inbox.worker import draft_new_messages
from tests.factories import api_payload, form_fields
from tests.staff.factories import csrf_token, make_staff, sign_in

URGENT = "Since dialysis I have crushing chest pain and I cannot breathe properly."


def _phones(runtime) -> list[str | None]:
    with Session(runtime.engine) as session:
        return [message.phone for message in session.exec(select(Message).order_by(Message.id))]


def test_the_form_asks_for_a_phone_with_consent_wording(client):
    page = client.get("/contact").text
    assert 'type="tel"' in page and "Phone number (optional)" in page
    assert "you agree that our staff may phone you about this message" in page


def test_a_phone_number_is_stored_in_the_international_format(client, runtime, settings, clock):
    response = client.post("/contact", data=form_fields(settings, clock, phone="020 7946 0018"))
    assert response.status_code == 303
    assert _phones(runtime) == ["+44 20 7946 0018"]


def test_the_phone_is_optional(client, runtime, settings, clock):
    assert client.post("/contact", data=form_fields(settings, clock)).status_code == 303
    assert _phones(runtime) == [None]


def test_a_wrong_phone_number_is_shown_on_the_form_with_what_was_typed(
    client, runtime, settings, clock
):
    for wrong in ("12", "call me maybe", "+" + "9" * 45):
        response = client.post("/contact", data=form_fields(settings, clock, phone=wrong))
        assert response.status_code == 422, wrong
        assert "This phone number does not look right" in response.text
        assert 'aria-invalid="true"' in response.text
    assert _phones(runtime) == []


def test_the_json_api_takes_a_phone_number(client, runtime):
    created = client.post("/api/v1/messages", json=api_payload(phone="+1 415 555 2671"))
    assert created.status_code == 201
    refused = client.post("/api/v1/messages", json=api_payload(email="b@example.org", phone="x"))
    assert refused.status_code == 422 and "phone" in refused.json()["errors"]
    assert _phones(runtime) == ["+1 415-555-2671"]


def test_an_urgent_conversation_shows_the_number_to_call_at_the_top(client, runtime):
    created = client.post(
        "/api/v1/messages", json=api_payload(message=URGENT, phone="07700 900123")
    )
    assert created.status_code == 201
    draft_new_messages(runtime)
    staff = make_staff(runtime)
    sign_in(client, email=staff.email)
    with Session(runtime.engine) as session:
        [message] = session.exec(select(Message))
    page = client.get(f"/inbox/conversations/{message.conversation_id}").text
    banner = page.split('data-testid="phone-banner"')[1].split("</div>")[0]
    assert 'href="tel:+447700900123"' in banner and "+44 7700 900123" in banner
    assert page.index("phone-banner") < page.index("Messages from the patient")
    logged = client.post(
        f"/inbox/conversations/{message.conversation_id}/calls",
        data={"outcome": "reached", "csrf_token": csrf_token(page)},
    )
    assert logged.status_code == 303
    assert "<strong>Spoke to the patient</strong>" in client.get(logged.headers["location"]).text


def test_a_routine_conversation_shows_the_number_without_the_banner(client, runtime):
    client.post("/api/v1/messages", json=api_payload(phone="020 7946 0018"))
    draft_new_messages(runtime)
    staff = make_staff(runtime)
    sign_in(client, email=staff.email)
    with Session(runtime.engine) as session:
        [message] = session.exec(select(Message))
    page = client.get(f"/inbox/conversations/{message.conversation_id}").text
    assert 'data-testid="phone-banner"' not in page
    assert 'href="tel:+442079460018"' in page


def test_staff_see_the_number_of_the_newest_message_that_gave_one(client, runtime, clock):
    first = client.post("/api/v1/messages", json=api_payload(phone="020 7946 0018"))
    assert first.status_code == 201
    clock.advance(timedelta(minutes=5))
    again = api_payload(message="The cramps came back tonight, worse than before.")
    assert client.post("/api/v1/messages", json=again).status_code == 201  # no number this time
    draft_new_messages(runtime)
    sign_in(client, email=make_staff(runtime).email)
    with Session(runtime.engine) as session:
        conversation_id = session.exec(select(Message.conversation_id)).first()
    page = client.get(f"/inbox/conversations/{conversation_id}").text
    assert 'href="tel:+442079460018"' in page  # the first message's number still stands
    clock.advance(timedelta(minutes=5))
    newer = api_payload(message="Please call my mobile instead.", phone="07700 900123")
    assert client.post("/api/v1/messages", json=newer).status_code == 201
    page = client.get(f"/inbox/conversations/{conversation_id}").text
    assert 'href="tel:+447700900123"' in page and 'href="tel:+442079460018"' not in page
