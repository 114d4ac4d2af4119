"""The staff list of upcoming follow-ups: signed-in only; cancel, move and send now are POSTs
with the CSRF token, and audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from inbox.followups.models import FollowUpState
from inbox.followups.service import follow_ups_for_conversation
from inbox.outbox.models import MailKind
from inbox.staff.models import AuditEntry
from tests.followups.support import follow_ups, mails, reply_sent, staff_member
from tests.staff.factories import csrf_token, sign_in


@pytest.fixture
def scheduled(client, runtime) -> int:
    """A conversation whose reply was delivered: one follow-up scheduled; its id."""
    conversation_id = reply_sent(client, runtime)
    [follow_up] = follow_ups(runtime, conversation_id)
    return int(follow_up.id)


@pytest.fixture
def signed_in(client, runtime) -> str:
    staff_member(runtime)  # the nurse who approved the reply, or a new account
    assert sign_in(client, email="nurse@hospital.example").status_code == 303
    return csrf_token(client.get("/follow-ups").text)


def audit_actions(runtime) -> list[str]:
    with Session(runtime.engine) as session:
        return [entry.action for entry in session.exec(select(AuditEntry))]


def test_signed_out_visitors_are_sent_to_login(client, scheduled):
    assert client.get("/follow-ups").status_code == 303
    for action in ("cancel", "send", "move"):
        response = client.post(f"/follow-ups/{scheduled}/{action}")
        assert response.status_code in (303, 401, 403)
    assert follow_ups(client.app.state.runtime)[0].state == FollowUpState.SCHEDULED


def test_the_list_shows_upcoming_follow_ups_in_local_time(client, scheduled, signed_in):
    page = client.get("/follow-ups")
    assert page.status_code == 200
    assert "Upcoming follow-ups" in page.text
    assert "karim.h@example.com" in page.text
    assert "9 Mar 2026, 10:00 GMT" in page.text  # Europe/London = UTC in March
    assert "(in 7 days)" in page.text
    assert f'action="/follow-ups/{scheduled}/cancel"' in page.text


def test_actions_need_the_csrf_token(client, runtime, scheduled, signed_in):
    response = client.post(f"/follow-ups/{scheduled}/cancel", data={})
    assert response.status_code == 403
    assert follow_ups(runtime)[0].state == FollowUpState.SCHEDULED


def test_cancel(client, runtime, scheduled, signed_in):
    response = client.post(f"/follow-ups/{scheduled}/cancel", data={"csrf_token": signed_in})
    assert (
        response.status_code == 303 and response.headers["location"] == "/follow-ups?done=cancelled"
    )
    assert follow_ups(runtime)[0].state == FollowUpState.CANCELLED
    assert "follow-up cancel" in audit_actions(runtime)
    again = client.post(f"/follow-ups/{scheduled}/cancel", data={"csrf_token": signed_in})
    assert again.status_code == 409


def test_move_to_a_new_local_time(client, runtime, scheduled, signed_in):
    response = client.post(
        f"/follow-ups/{scheduled}/move",
        data={"csrf_token": signed_in, "due_at": "2026-03-20T09:30"},
    )
    assert response.status_code == 303
    assert follow_ups(runtime)[0].due_at == datetime(2026, 3, 20, 9, 30, tzinfo=UTC)
    assert "follow-up move" in audit_actions(runtime)
    for bad in ("next week", "2020-01-01T09:00"):
        refused = client.post(
            f"/follow-ups/{scheduled}/move", data={"csrf_token": signed_in, "due_at": bad}
        )
        assert refused.status_code == 422


def test_a_date_out_of_range_is_a_clear_422(client, runtime, scheduled, signed_in):
    for bad in ("0001-01-01T00:00+05:00", "9999-12-31T23:59-05:00", "9999-12-31T20:00"):
        refused = client.post(
            f"/follow-ups/{scheduled}/move", data={"csrf_token": signed_in, "due_at": bad}
        )
        assert refused.status_code == 422, bad
    assert follow_ups(runtime)[0].due_at.year == 2026


def test_send_now_queues_it_at_once(client, runtime, scheduled, signed_in):
    response = client.post(
        f"/follow-ups/{scheduled}/send",
        data={"csrf_token": signed_in, "next": "/inbox/conversations/1"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/inbox/conversations/1?done=sent"
    [mail] = mails(runtime, MailKind.FOLLOW_UP)
    assert mail.state == "queued" and "List-Unsubscribe" in mail.raw.decode()
    assert follow_ups(runtime)[0].state == FollowUpState.SENT
    assert "follow-up send" in audit_actions(runtime)


def test_next_cannot_redirect_elsewhere(client, scheduled, signed_in):
    response = client.post(
        f"/follow-ups/{scheduled}/cancel",
        data={"csrf_token": signed_in, "next": "https://evil.example/inbox/conversations/1"},
    )
    assert response.headers["location"] == "/follow-ups?done=cancelled"


def test_the_conversation_page_can_list_its_follow_ups(runtime, scheduled, clock):
    with Session(runtime.engine) as session:
        [item] = follow_ups_for_conversation(session, 1)
    assert item.id == scheduled and item.due_at == clock.now() + timedelta(days=7)


def test_the_conversation_box_shows_follow_ups_and_the_suppression_note(runtime, scheduled, app):
    from inbox.followups.service import suppress
    from inbox.followups.views import conversation_context

    with Session(runtime.engine) as session:
        suppress(
            session, email="karim.h@example.com", reason="unsubscribed", now=runtime.clock.now()
        )
        session.commit()
        context = conversation_context(session, conversation_id=1, email="karim.h@example.com")
    html = app.state.templates.get_template("followups/_conversation.html").render(
        **context, csrf_token="t"
    )
    assert "the person unsubscribed" in html and "Replies you approve are still sent" in html
    assert "cancelled (unsubscribed)" in html
