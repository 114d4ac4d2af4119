"""The list of failed mail: reasons, attempts, pending counts, and re-queueing (CSRF, audited)."""

from __future__ import annotations

import sqlalchemy as sa

from inbox.conversations.models import Conversation, ConversationState
from inbox.db import session_scope
from inbox.outbox.models import MailKind, MailState, OutboxMail
from inbox.outbox.service import enqueue_mail
from inbox.staff.models import AuditEntry
from tests.review.test_list import add_conversation, signed_in  # noqa: F401
from tests.staff.factories import csrf_token

MAIL = OutboxMail.__table__


def add_mail(
    runtime,
    *,
    conversation_id=None,
    failed=True,
    kind=MailKind.REPLY,
    recipient="annabel@example.org",
    reason="550 5.1.1 mailbox unavailable",
) -> int:
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        mail = enqueue_mail(
            session,
            settings=runtime.settings,
            kind=kind,
            recipient=recipient,
            subject="Your message to the hospital",
            text="Dear Ann",
            html="<p>Dear Ann</p>",
            conversation_id=conversation_id,
            send_after=now,
            now=now,
        )
        if failed:
            session.execute(
                sa.update(MAIL)
                .where(MAIL.c.id == mail.id)
                .values(state=MailState.FAILED, attempts=3, failed_at=now, last_error=reason)
            )
        return mail.id


def test_failed_mails_are_listed_with_reason_attempts_and_pending_count(signed_in, runtime):  # noqa: F811
    conversation_id = add_conversation(runtime, state=ConversationState.FAILED)
    failed = add_mail(runtime, conversation_id=conversation_id)
    add_mail(runtime, failed=False)
    add_mail(runtime, failed=False)

    page = signed_in.get("/outbox/failures")

    assert page.status_code == 200
    assert f"#{failed}" in page.text
    assert "550 5.1.1 mailbox unavailable" in page.text
    assert "an…@example.org" in page.text and "annabel@" not in page.text
    assert f'href="/inbox/conversations/{conversation_id}"' in page.text
    assert "<strong>2</strong> waiting to be sent" in page.text
    assert "<strong>1</strong> failed" in page.text


def test_server_reason_is_escaped(signed_in, runtime):  # noqa: F811
    add_mail(runtime, reason="554 <script>alert(1)</script>")
    page = signed_in.get("/outbox/failures").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_requeue_needs_the_csrf_token(signed_in, runtime):  # noqa: F811
    mail_id = add_mail(runtime)
    response = signed_in.post(f"/outbox/mails/{mail_id}/retry", data={})
    assert response.status_code == 403
    with session_scope(runtime.engine) as session:
        assert session.get(OutboxMail, mail_id).state == MailState.FAILED


def test_requeue_puts_the_mail_back_and_the_conversation_in_queued(signed_in, runtime):  # noqa: F811
    conversation_id = add_conversation(runtime, state=ConversationState.FAILED)
    mail_id = add_mail(runtime, conversation_id=conversation_id)
    token = csrf_token(signed_in.get("/outbox/failures").text)

    response = signed_in.post(f"/outbox/mails/{mail_id}/retry", data={"csrf_token": token})

    assert response.status_code == 303
    assert response.headers["location"] == f"/outbox/failures?requeued={mail_id}"
    with session_scope(runtime.engine) as session:
        assert session.get(OutboxMail, mail_id).state == MailState.QUEUED
        assert session.get(Conversation, conversation_id).state == ConversationState.QUEUED
        actions = session.execute(sa.select(AuditEntry.action)).scalars().all()
    assert "retry" in actions
    after = signed_in.get(response.headers["location"]).text
    assert f"Mail {mail_id} was queued again." in after
    assert f"#{mail_id}" not in after


def test_requeue_of_a_mail_without_conversation_is_audited(signed_in, runtime):  # noqa: F811
    mail_id = add_mail(runtime, kind=MailKind.STAFF_ALERT)
    token = csrf_token(signed_in.get("/outbox/failures").text)
    assert (
        signed_in.post(f"/outbox/mails/{mail_id}/retry", data={"csrf_token": token}).status_code
        == 303
    )
    with session_scope(runtime.engine) as session:
        entry = session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "retry")
        ).scalar_one()
    assert (entry.target_type, entry.target_id) == ("outbox_mail", str(mail_id))


def test_requeue_of_a_mail_that_did_not_fail_is_refused(signed_in, runtime):  # noqa: F811
    mail_id = add_mail(runtime, failed=False)
    token = csrf_token(signed_in.get("/outbox/failures").text)
    response = signed_in.post(f"/outbox/mails/{mail_id}/retry", data={"csrf_token": token})
    assert response.status_code == 409
    assert (
        signed_in.post("/outbox/mails/99999/retry", data={"csrf_token": token}).status_code == 404
    )
