"""A message that joins a patient's open conversation never renames the contact, and staff see
on the conversation page which message came with a name or address the earlier ones did not."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from inbox.conversations.models import Contact, Conversation
from inbox.worker import draft_new_messages
from tests.followups.support import submit
from tests.staff.factories import make_staff, sign_in

EMAIL = "karim.h@example.com"
FLAG = "name or sender differs from earlier messages"


def staff_page(client, runtime, conversation_id: int) -> str:
    """The conversation page as a nurse signed in now sees it."""
    make_staff(runtime)
    assert sign_in(client, email="nurse@hospital.example").status_code == 303
    return client.get(f"/inbox/conversations/{conversation_id}").text


def _contact_name(runtime, conversation_id: int) -> str:
    with Session(runtime.engine) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        contact = session.get(Contact, conversation.contact_id)
        assert contact is not None
        return contact.name


def test_a_joining_message_with_another_name_keeps_the_contact_and_is_flagged(
    client, runtime, clock
):
    first = submit(client, name="Karim Haddad", email=EMAIL)["conversation_id"]
    clock.advance(timedelta(minutes=30))
    again = submit(client, name="Karim Haddad", email=EMAIL, message="And my feet cramp too.")
    clock.advance(timedelta(minutes=30))
    other = submit(
        client, name="Prize Office", email=EMAIL, message="Your prize waits, reply with details."
    )
    assert again["conversation_id"] == other["conversation_id"] == first
    assert _contact_name(runtime, first) == "Karim Haddad"
    draft_new_messages(runtime)

    page = staff_page(client, runtime, first)
    assert "From Karim Haddad &lt;karim.h@example.com&gt;" in page
    assert page.count(FLAG) == 1  # on the third message only
    flagged = page.split('data-testid="sender-differs"', 1)[0].rsplit("<article", 1)[1]
    assert f'id="message-{other["id"]}-title"' in flagged


def test_the_same_writer_is_not_flagged(client, runtime, clock):
    first = submit(client, name="Karim  Haddad", email=EMAIL)["conversation_id"]
    clock.advance(timedelta(minutes=30))
    submit(client, name="karim haddad", email=EMAIL, message="One more question on the cramps.")
    page = staff_page(client, runtime, first)
    assert FLAG not in page


def test_a_new_conversation_of_a_known_address_keeps_the_first_name(client, runtime):
    first = submit(client, name="Karim Haddad", email=EMAIL)["conversation_id"]
    spam = client.post(
        "/api/v1/messages",
        json={"name": "Renamed By A Bot", "email": EMAIL, "subject": "hi", "message": "pills",
              "website": "http://spam.example"},
    )  # fmt: skip
    assert spam.status_code == 201
    assert _contact_name(runtime, first) == "Karim Haddad"
