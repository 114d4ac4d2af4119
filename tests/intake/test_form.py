"""The public form: what a patient and the site's developer see."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from inbox.conversations.models import Contact, Conversation, Message
from inbox.intake.spam import issue_form_token
from tests.factories import form_fields
from tests.staff.factories import make_staff, sign_in


def rows(runtime, table) -> list:
    with runtime.engine.connect() as connection:
        columns = table.__table__.c
        query = sa.select(table.__table__).order_by(columns.id if "id" in columns else sa.text("1"))
        return list(connection.execute(query).mappings())


def test_form_has_labelled_fields_token_and_honeypot(client):
    response = client.get("/contact?page=https://hospital.example/a.html")
    assert response.status_code == 200
    html = response.text
    for field, label in [
        ("name", "Name"),
        ("email", "E-mail"),
        ("subject", "Subject"),
        ("message", "Your message"),
    ]:
        assert f'<label for="{field}">{label}</label>' in html
    assert 'name="form_token" value="' in html
    assert 'name="website"' in html
    assert 'value="https://hospital.example/a.html"' in html
    assert 'name="viewport"' in html


def test_valid_post_redirects_to_thank_you_and_stores_everything(client, runtime, settings, clock):
    response = client.post(
        "/contact", data=form_fields(settings, clock), headers={"user-agent": "PhoneBrowser/1"}
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/contact/thanks")
    thanks = client.get(response.headers["location"])
    assert "we have your message" in thanks.text
    [message] = rows(runtime, Message)
    assert message["status"] == "accepted"
    assert message["email"] == "karim.h@example.com"
    assert message["source_page"] == "https://hospital.example/leg-cramps.html"
    assert message["user_agent"] == "PhoneBrowser/1"
    assert message["client_ip"] and message["client_ip"] != "testclient"  # a keyed hash, not the IP
    assert message["received_at"] is not None
    [conversation] = rows(runtime, Conversation)
    assert conversation["state"] == "review"
    assert [c["email"] for c in rows(runtime, Contact)] == ["karim.h@example.com"]


def test_multipart_post_is_accepted(client, runtime, settings, clock):
    fields = form_fields(settings, clock)
    response = client.post("/contact", files={key: (None, value) for key, value in fields.items()})
    assert response.status_code == 303
    assert len(rows(runtime, Message)) == 1


def test_url_encoded_and_multipart_posts_store_the_same_text(client, runtime, settings, clock):
    text = "1+1 = 2 & 50% less?\r\nتشنج 😖 a=b;c"
    encoded = form_fields(settings, clock, subject="same text", message=text)
    multipart = form_fields(settings, clock, subject="same text", message="[multipart] " + text)
    multipart["email"] = "other@example.com"
    assert client.post("/contact", data=encoded).status_code == 303
    response = client.post(
        "/contact", files={key: (None, value) for key, value in multipart.items()}
    )
    assert response.status_code == 303
    first, second = (row["body"] for row in rows(runtime, Message))
    assert first == text.replace("\r\n", "\n")
    assert second == "[multipart] " + first


def test_next_on_an_allowed_origin_is_linked_from_our_thank_you_page(client, settings, clock):
    fields = form_fields(settings, clock, next="https://hospital.example/thanks.html")
    response = client.post("/contact", data=fields)
    assert response.status_code == 303
    # our page first, so the emergency line is seen whatever the triage said
    assert response.headers["location"].startswith("/contact/thanks")
    page = client.get(response.headers["location"]).text
    assert 'href="https://hospital.example/thanks.html"' in page


def test_next_elsewhere_is_ignored_no_open_redirect(client, settings, clock):
    for target in [
        "https://evil.example/",
        "//evil.example/x",
        "javascript:alert(1)",
        "https://hospital.example.evil.example/",
    ]:
        response = client.post(
            "/contact", data=form_fields(settings, clock, next=target, message=f"about {target}")
        )
        assert response.status_code == 303
        assert response.headers["location"].startswith("/contact/thanks"), target


def test_invalid_input_shows_the_form_again_with_input_kept_and_field_errors(
    client, runtime, settings, clock
):
    fields = form_fields(
        settings, clock, email="not-an-address", name="", message="my question stays"
    )
    response = client.post("/contact", data=fields)
    assert response.status_code == 422
    html = response.text
    assert 'id="email-error"' in html and "does not look right" in html
    assert 'id="name-error"' in html and "tell us your name" in html
    assert "my question stays" in html
    assert 'value="not-an-address"' in html
    assert rows(runtime, Message) == []


def test_header_injection_in_name_or_subject_is_refused(client, runtime, settings, clock):
    for field in ("name", "subject"):
        fields = form_fields(settings, clock, **{field: "Hi\r\nBcc: victim@example.com"})
        response = client.post("/contact", data=fields)
        assert response.status_code == 422
        assert "single line" in response.text
    assert rows(runtime, Message) == []


def test_too_long_fields_are_refused_with_the_limit(client, settings, clock):
    response = client.post("/contact", data=form_fields(settings, clock, subject="x" * 201))
    assert response.status_code == 422
    assert "under 200 characters" in response.text


def test_honeypot_is_accepted_like_normal_but_stored_as_spam(client, runtime, settings, clock):
    response = client.post(
        "/contact", data=form_fields(settings, clock, website="http://spam.example")
    )
    assert response.status_code == 303
    [message] = rows(runtime, Message)
    assert (message["status"], message["spam_reason"]) == ("spam", "honeypot")
    [conversation] = rows(runtime, Conversation)
    assert conversation["state"] == "spam"


def test_too_fast_submission_is_stored_as_spam(client, runtime, settings, clock):
    from inbox.intake.spam import issue_form_token

    fields = form_fields(
        settings, clock, form_token=issue_form_token(settings.secret_key, now=clock.now())
    )
    assert client.post("/contact", data=fields).status_code == 303
    [message] = rows(runtime, Message)
    assert (message["status"], message["spam_reason"]) == ("spam", "too-fast")


def test_forged_token_is_spam(client, runtime, settings, clock):
    assert (
        client.post(
            "/contact", data=form_fields(settings, clock, form_token="123.forged")
        ).status_code
        == 303
    )
    assert rows(runtime, Message)[0]["spam_reason"] == "bad-form-token"


def test_identical_submission_within_ten_minutes_is_folded(client, runtime, settings, clock):
    from datetime import timedelta

    assert client.post("/contact", data=form_fields(settings, clock)).status_code == 303
    clock.advance(timedelta(minutes=5))
    assert (
        client.post(
            "/contact",
            data=form_fields(
                settings, clock, message="Near the END of every session   my calf goes hard. Why?"
            ),
        ).status_code
        == 303
    )
    messages = rows(runtime, Message)
    assert [m["status"] for m in messages] == ["accepted", "duplicate"]
    assert messages[1]["duplicate_of_id"] == messages[0]["id"]
    assert messages[0]["duplicate_count"] == 1
    assert len(rows(runtime, Conversation)) == 1
    clock.advance(timedelta(minutes=11))
    client.post("/contact", data=form_fields(settings, clock))
    assert rows(runtime, Message)[-1]["status"] == "accepted"


def test_second_message_from_same_address_joins_the_open_conversation(
    client, runtime, settings, clock
):
    client.post("/contact", data=form_fields(settings, clock))
    client.post(
        "/contact", data=form_fields(settings, clock, message="One more thing: I also feel dizzy.")
    )
    assert len(rows(runtime, Conversation)) == 1
    assert len(rows(runtime, Message)) == 2


def test_address_is_normalised_for_the_contact(client, runtime, settings, clock):
    client.post("/contact", data=form_fields(settings, clock, email="Karim.H@EXAMPLE.com"))
    assert [c["email"] for c in rows(runtime, Contact)] == ["karim.h@example.com"]


def test_embed_page_gives_a_snippet(client):
    response = client.get("/contact/embed.html")
    assert response.status_code == 200
    assert "&lt;iframe" in response.text and "/contact?page=" in response.text


def test_urgent_message_gets_emergency_advice_on_the_thank_you_page(client, settings, clock):
    fields = form_fields(
        settings,
        clock,
        next="https://hospital.example/thanks.html",
        subject="help",
        message="Right now I have crushing chest pain and I cannot breathe properly.",
    )
    response = client.post("/contact", data=fields)
    assert response.status_code == 303
    # even with an allowed `next`, an urgent message sees our page with the emergency advice first
    assert response.headers["location"].startswith("/contact/thanks")
    page = client.get(response.headers["location"]).text
    assert "may describe an emergency" in page and "emergency number" in page
    assert 'href="https://hospital.example/thanks.html"' in page


def test_routine_message_still_sees_the_emergency_line_on_the_thank_you_page(
    client, settings, clock
):
    settings.emergency_number = "112"
    response = client.post("/contact", data=form_fields(settings, clock))
    page = client.get(response.headers["location"]).text
    assert "may describe an emergency" not in page  # no fuller advice for a routine question
    line = page.split('data-testid="emergency-line">', 1)[1].split("</p>", 1)[0]
    assert "chest pain" in line and "struggling to breathe" in line and "heavy bleeding" in line
    assert "call 112 or your local emergency number now" in line
    assert "Do not wait for our reply" in line


def test_a_forged_ticket_still_sees_the_emergency_line(client):
    page = client.get("/contact/thanks?t=forged.ticket").text
    assert 'data-testid="emergency-line"' in page


def test_tampered_thank_you_ticket_shows_the_plain_page(client):
    page = client.get("/contact/thanks?t=forged.ticket")
    assert page.status_code == 200 and "we have your message" in page.text


def test_urgent_message_sent_within_a_second_reaches_review_marked_sent_very_fast(
    client, runtime, settings, clock
):
    """The time trap alone never bins a possible emergency: a pasted message sent at once is
    stored for review (marked), and its writer sees the emergency advice."""
    fields = form_fields(
        settings,
        clock,
        subject="help",
        message="Chest pain and he can't breathe, he is grey and sweating.",
        form_token=issue_form_token(settings.secret_key, now=clock.now()),  # 0 s to fill in
    )
    response = client.post("/contact", data=fields)
    assert response.status_code == 303
    assert "may describe an emergency" in client.get(response.headers["location"]).text
    with Session(runtime.engine) as session:
        [message] = session.exec(select(Message)).all()
        conversation = session.get(Conversation, message.conversation_id)
        assert (message.status, message.urgent) == ("accepted", True)
        assert (conversation.state, conversation.urgent) == ("review", True)
    sign_in(client, email=make_staff(runtime).email)
    page = client.get(f"/inbox/conversations/{message.conversation_id}").text
    assert "sent very fast" in page
    assert "marked as spam" not in page


def test_routine_message_sent_within_a_second_is_still_spam(client, runtime, settings, clock):
    fields = form_fields(
        settings, clock, form_token=issue_form_token(settings.secret_key, now=clock.now())
    )
    assert client.post("/contact", data=fields).status_code == 303
    with Session(runtime.engine) as session:
        [message] = session.exec(select(Message)).all()
    assert (message.status, message.spam_reason) == ("spam", "too-fast")
