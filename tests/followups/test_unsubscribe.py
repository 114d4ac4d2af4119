"""The unsubscribe link: an opaque token that says nothing of the address (old signed links
still work); GET confirms and changes nothing, POST (one-click) suppresses the
address idempotently; a forged or altered token is refused; a suppressed address gets no
automatic mail, but staff-approved replies still go."""

from __future__ import annotations

import base64
import contextlib
import re
from datetime import timedelta

from sqlmodel import Session, select

from inbox.config import Settings
from inbox.followups.delivery import send_due_follow_ups
from inbox.followups.models import Suppression
from inbox.followups.unsubscribe import make_legacy_token, unsubscribe_headers, unsubscribe_url
from inbox.outbox.models import MailKind
from inbox.worker import draft_new_messages
from tests.followups.support import EMAIL, approve, deliver, follow_ups, mails, submit


def suppressions(runtime) -> list[Suppression]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(Suppression)))


def test_the_link_is_absolute_and_built_from_the_public_url(settings):
    url = unsubscribe_url(settings, "opaque-token")
    assert url == "http://testserver/unsubscribe/opaque-token"
    https = settings.model_copy(update={"public_url": "https://inbox.hospital.example/"})
    headers = unsubscribe_headers(https, "opaque-token")
    assert (
        headers["List-Unsubscribe"] == "<https://inbox.hospital.example/unsubscribe/opaque-token>"
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def _link_token(mail) -> str:
    found = re.search(r"/unsubscribe/([^>\s]+)>", mail["List-Unsubscribe"])
    assert found, mail["List-Unsubscribe"]
    return found.group(1)


def test_the_link_in_a_mail_tells_nothing_of_the_address_and_works(client, runtime, smtp_server):
    submit(client)
    submit(client, email="second.patient@example.org", message="Another question on cramps.")
    draft_new_messages(runtime)
    deliver(runtime)
    first, second = (item.parsed() for item in smtp_server.received)
    token = _link_token(first)
    assert token != _link_token(second)
    padded = token + "=" * (-len(token) % 4)
    readable = [token, base64.urlsafe_b64decode(padded).decode("latin-1")]
    for part in token.split("."):
        with contextlib.suppress(ValueError):
            readable.append(
                base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("latin-1")
            )
    assert not any("karim" in text.lower() or "example.com" in text for text in readable)
    assert "karim" not in first["List-Unsubscribe"].lower()

    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and EMAIL in page.text
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    assert [item.email for item in suppressions(runtime)] == [EMAIL]


def test_a_later_mail_carries_the_same_link(client, runtime, clock, smtp_server):
    submit(client)
    draft_new_messages(runtime)
    clock.advance(timedelta(hours=2))
    submit(client, message="A second question: is it the sodium?")
    draft_new_messages(runtime)
    deliver(runtime)
    first, second = (item.parsed() for item in smtp_server.received)
    assert _link_token(first) == _link_token(second)


def test_get_shows_a_confirmation_and_changes_nothing(client, runtime, settings):
    page = client.get(f"/unsubscribe/{make_legacy_token(settings, EMAIL)}")
    assert page.status_code == 200
    assert EMAIL in page.text and "<button" in page.text
    assert suppressions(runtime) == []


def test_one_click_post_needs_no_session_and_is_idempotent(client, runtime, settings):
    path = f"/unsubscribe/{make_legacy_token(settings, EMAIL)}"
    for _ in range(2):
        response = client.post(
            path,
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
        assert "You are unsubscribed" in response.text
    assert [(item.email, item.reason) for item in suppressions(runtime)] == [
        (EMAIL, "unsubscribed")
    ]
    assert "set-cookie" not in response.headers


def test_forged_and_altered_tokens_are_refused(client, runtime, settings):
    token = make_legacy_token(settings, EMAIL)
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    other_key = make_legacy_token(Settings(_env_file=None, secret_key="someone-else"), EMAIL)
    other_address = (
        make_legacy_token(settings, "victim@example.org").split(".")[0] + "." + token.split(".")[1]
    )
    for bad in (altered, other_key, other_address, "not-a-token", token[:10]):
        for method in (client.get, client.post):
            response = method(f"/unsubscribe/{bad}")
            assert response.status_code == 400, (bad, method)
            assert "This link does not work" in response.text
    assert suppressions(runtime) == []


def test_unsubscribed_address_gets_no_acknowledgement_or_follow_up(
    client, runtime, settings, smtp_server
):
    client.post(f"/unsubscribe/{make_legacy_token(settings, EMAIL)}")
    conversation_id = submit(client)["conversation_id"]
    draft_new_messages(runtime)
    assert mails(runtime, MailKind.ACKNOWLEDGEMENT) == []

    approve(runtime, conversation_id)
    deliver(runtime)
    send_due_follow_ups(runtime)
    [reply] = mails(runtime, MailKind.REPLY)
    assert reply.state == "sent"  # the human-approved reply still goes
    assert [item.recipients for item in smtp_server.received] == [[EMAIL]]
    assert follow_ups(runtime, conversation_id) == []


def test_staff_see_whether_an_address_is_suppressed(client, runtime, settings):
    from inbox.followups.service import is_suppressed

    with Session(runtime.engine) as session:
        assert not is_suppressed(session, EMAIL)
    client.post(f"/unsubscribe/{make_legacy_token(settings, EMAIL)}")
    with Session(runtime.engine) as session:
        assert is_suppressed(session, "Karim <KARIM.H@example.com>")


def test_unsubscribing_withdraws_an_acknowledgement_still_waiting_in_the_outbox(
    client, runtime, settings, smtp_server
):
    submit(client)
    draft_new_messages(runtime)
    [ack] = mails(runtime, MailKind.ACKNOWLEDGEMENT)
    assert ack.state == "queued"
    client.post(f"/unsubscribe/{make_legacy_token(settings, EMAIL)}")
    [ack] = mails(runtime, MailKind.ACKNOWLEDGEMENT)
    assert ack.state == "cancelled"
    deliver(runtime)
    assert smtp_server.received == []
