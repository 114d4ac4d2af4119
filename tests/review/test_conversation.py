"""The conversation page through HTTP: what staff see, and every action on it."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from inbox.conversations.models import Conversation, ConversationState, Message
from inbox.db import session_scope
from inbox.drafting.models import Draft
from inbox.mails.render import STAFF_PLACEHOLDER
from inbox.outbox.models import MailState, OutboxMail
from inbox.outbox.service import enqueue_mail
from inbox.staff.models import AuditEntry
from inbox.worker import draft_new_messages
from tests.drafting.support import UNRELATED, URGENT, store_message
from tests.staff.factories import csrf_token, make_staff, sign_in

FLUID = "fluid-removal-too-fast"
SODIUM = "low-sodium-dialysate"
REPLIES = select(OutboxMail).where(OutboxMail.kind == "reply")  # not the acknowledgements


@pytest.fixture
def signed_in(client, runtime):
    staff = make_staff(runtime)
    assert sign_in(client, email=staff.email).status_code == 303
    return client


def stored(runtime, *, drafted: bool = True, **overrides: str) -> int:
    """A message stored through intake and, unless `drafted=False`, drafted by the worker's job."""
    with session_scope(runtime.engine) as session:
        now = runtime.clock.now()
        conversation_id = store_message(
            session, settings=runtime.settings, now=now, **overrides
        ).conversation_id
    if drafted:
        draft_new_messages(runtime)
    return conversation_id


def page_of(client, conversation_id: int) -> str:
    response = client.get(f"/inbox/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    return response.text


def version_in(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "the page has no draft version field"
    return found.group(1)


def post(client, conversation_id: int, action: str, html: str, **fields):
    """Post one of the page's forms as a browser would, with the page's CSRF token."""
    data = {"csrf_token": csrf_token(html), **fields}
    return client.post(f"/inbox/conversations/{conversation_id}/{action}", data=data)


def draft(runtime, conversation_id: int) -> Draft:
    with Session(runtime.engine) as session:
        found = session.exec(select(Draft).where(Draft.conversation_id == conversation_id)).one()
        return found


def audit_actions(runtime) -> list[str]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_signed_out_visitors_are_sent_to_login(client, runtime):
    conversation_id = stored(runtime)
    response = client.get(f"/inbox/conversations/{conversation_id}")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_page_opened_before_the_worker_drafted_says_the_draft_is_being_prepared(
    signed_in, runtime
):
    conversation_id = stored(runtime, drafted=False)

    html = page_of(signed_in, conversation_id)

    assert "Karim Haddad" in html and "The draft is being prepared" in html
    assert "Approve and send" not in html
    with Session(runtime.engine) as session:  # opening the page drafted nothing
        assert session.exec(select(Draft)).all() == []


def test_the_page_shows_the_workers_draft_with_triage_and_evidence(signed_in, runtime):
    conversation_id = stored(runtime)

    html = page_of(signed_in, conversation_id)

    assert "Karim Haddad" in html and "Draft reply" in html
    assert f'value="{FLUID}" id="section-{FLUID}" checked' in html
    assert "<mark>fluid removed too fast</mark>" in html  # the evidence in the patient's words
    assert runtime.knowledge.section(FLUID).url in html  # the text part of the draft
    assert f'src="/inbox/conversations/{conversation_id}/preview?v=1"' in html
    assert audit_actions(runtime)[-1] == "view"


def test_an_urgent_message_shows_why(signed_in, runtime):
    html = page_of(signed_in, stored(runtime, message=URGENT, subject="now"))
    assert "Urgent" in html and "chest pain" in html


def test_patient_text_is_escaped_everywhere(signed_in, runtime):
    hostile = "<script>alert('x')</script> my <b>cramps</b> {{ 7*7 }}"
    conversation_id = stored(runtime, name="<img src=x onerror=alert(1)>", message=hostile)

    html = page_of(signed_in, conversation_id)

    assert "<script>alert" not in html and "<b>cramps" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    # shown as written, never evaluated (a bare "49" could be part of the random CSRF token)
    assert "cramps&lt;/b&gt; {{ 7*7 }}" in html and "cramps&lt;/b&gt; 49" not in html


def test_the_preview_is_the_html_part_in_a_locked_down_frame(signed_in, runtime):
    conversation_id = stored(runtime, message="<script>alert(1)</script> leg cramps " * 2)
    page_of(signed_in, conversation_id)

    response = signed_in.get(f"/inbox/conversations/{conversation_id}/preview")

    assert response.status_code == 200
    assert response.text == draft(runtime, conversation_id).html_body
    assert "<script>" not in response.text
    policy = response.headers["content-security-policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "script-src" not in policy
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


def test_an_edit_can_be_previewed_without_saving(signed_in, runtime):
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)
    text = "Dear Karim,\n\n<b>Not bold</b>, see https://www.kidney-hospital.example/x."

    response = post(signed_in, conversation_id, "preview", html, subject="Re", text=text)

    assert response.status_code == 200
    assert "&lt;b&gt;Not bold&lt;/b&gt;" in response.text
    assert '<a href="https://www.kidney-hospital.example/x"' in response.text
    assert "sandbox" in response.headers["content-security-policy"]
    assert draft(runtime, conversation_id).version == 1  # nothing was saved
    refused = signed_in.post(
        f"/inbox/conversations/{conversation_id}/preview", data={"subject": "Re", "text": text}
    )
    assert refused.status_code == 403


def test_unticking_a_section_rebuilds_the_draft(signed_in, runtime):
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)

    response = post(
        signed_in, conversation_id, "sections", html, version=version_in(html), section_ids=[SODIUM]
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/inbox/conversations/{conversation_id}?done=rebuilt"
    rebuilt = draft(runtime, conversation_id)
    assert rebuilt.section_ids == [SODIUM] and rebuilt.version == 2
    assert runtime.knowledge.section(FLUID).url not in rebuilt.text_body
    after = signed_in.get(response.headers["location"]).text
    assert "rebuilt with the sections you chose" in after
    assert f'value="{FLUID}" id="section-{FLUID}" checked' not in after
    assert "redraft" in audit_actions(runtime)


def test_saving_the_text_updates_both_parts(signed_in, runtime):
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)

    response = post(
        signed_in,
        conversation_id,
        "draft",
        html,
        version=version_in(html),
        subject="About your cramps",
        text="Dear Karim,\r\n\r\nDrink less between sessions.",
    )

    assert response.status_code == 303
    saved = draft(runtime, conversation_id)
    assert saved.body == "Dear Karim,\n\nDrink less between sessions."
    assert "\nDear Karim,\n\nDrink less between sessions.\n" in saved.text_body
    assert "Drink less between sessions.</p>" in saved.html_body and saved.edited
    assert "edit" in audit_actions(runtime)


def test_a_second_save_of_the_same_version_is_refused_and_keeps_the_typed_text(signed_in, runtime):
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)
    first = post(
        signed_in, conversation_id, "draft", html, version="1", subject="Re", text="Nurse one."
    )
    assert first.status_code == 303

    second = post(
        signed_in, conversation_id, "draft", html, version="1", subject="Re", text="Nurse two."
    )

    assert second.status_code == 409
    assert "Someone else changed this draft" in second.text
    assert "Nurse two." in second.text  # what they typed is still in the form
    assert "Nurse one." in draft(runtime, conversation_id).text_body


def test_approving_queues_the_reply_and_shows_it(signed_in, runtime):
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)

    response = post(signed_in, conversation_id, "approve", html, version=version_in(html))

    assert response.status_code == 303
    with Session(runtime.engine) as session:
        (mail,) = session.exec(REPLIES).all()
        assert mail.state == MailState.QUEUED and mail.kind == "reply"
        assert session.get(Conversation, conversation_id).state == ConversationState.QUEUED
    after = signed_in.get(response.headers["location"]).text
    assert "queued for sending" in after and 'class="badge state-queued"' in after
    assert "Approve and send" not in after and "Save the draft" not in after
    assert "can no longer be changed" in after
    late_save = post(signed_in, conversation_id, "draft", html, version="1", subject="R", text="T")
    assert late_save.status_code == 409 and "can no longer be changed" in late_save.text
    assert "approve" in audit_actions(runtime)


def test_page_views_stay_out_of_the_timeline_so_the_approval_is_still_shown(signed_in, runtime):
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)
    post(signed_in, conversation_id, "approve", html, version=version_in(html))
    for _ in range(60):  # a busy conversation: more views than the timeline keeps entries
        html = page_of(signed_in, conversation_id)

    history = re.findall(r'<li class="timeline-history">(.*?)</li>', html, re.S)
    assert any("approve" in entry for entry in history), history
    assert not any("· view" in entry for entry in history), history
    assert audit_actions(runtime).count("view") == 61  # each view is still in the audit log


def test_a_draft_with_the_placeholder_cannot_be_approved(signed_in, runtime):
    conversation_id = stored(runtime, message=UNRELATED, subject="bill")
    html = page_of(signed_in, conversation_id)
    assert STAFF_PLACEHOLDER in html and "Write the answer in its place" in html

    response = post(signed_in, conversation_id, "approve", html, version=version_in(html))

    assert response.status_code == 409 and "Write the answer in its place" in response.text
    with Session(runtime.engine) as session:
        assert session.exec(REPLIES).all() == []


def test_a_post_without_the_csrf_token_changes_nothing(signed_in, runtime):
    conversation_id = stored(runtime)
    page_of(signed_in, conversation_id)
    response = signed_in.post(
        f"/inbox/conversations/{conversation_id}/approve", data={"version": 1}
    )
    assert response.status_code == 403
    with Session(runtime.engine) as session:
        assert session.get(Conversation, conversation_id).state == ConversationState.REVIEW


@pytest.mark.parametrize(
    ("action", "state", "audited"),
    [("spam", ConversationState.SPAM, "discard"), ("close", ConversationState.CLOSED, "close")],
)
def test_discard_and_close_then_reopen(signed_in, runtime, action, state, audited):
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)

    assert post(signed_in, conversation_id, action, html).status_code == 303
    with Session(runtime.engine) as session:
        assert session.get(Conversation, conversation_id).state == state
    assert post(signed_in, conversation_id, "reopen", html).status_code == 303
    with Session(runtime.engine) as session:
        assert session.get(Conversation, conversation_id).state == ConversationState.REVIEW
    assert [audited, "reopen"] == [a for a in audit_actions(runtime) if a in (audited, "reopen")]


def test_notes_are_added_and_an_empty_one_is_refused(signed_in, runtime):
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)

    assert (
        post(signed_in, conversation_id, "notes", html, note="Called her <b>back</b>.").status_code
        == 303
    )
    refused = post(signed_in, conversation_id, "notes", html, note="   ")

    assert refused.status_code == 422 and "Please write the note first." in refused.text
    after = page_of(signed_in, conversation_id)
    assert "Called her &lt;b&gt;back&lt;/b&gt;." in after and "nurse@hospital.example" in after


def test_a_failed_mail_shows_the_server_reason_and_can_be_retried(signed_in, runtime):
    conversation_id = stored(runtime)
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        mail = enqueue_mail(
            session,
            settings=runtime.settings,
            kind="reply",
            recipient="karim.h@example.com",
            subject="Re",
            text="Hello",
            html="<p>Hello</p>",
            conversation_id=conversation_id,
            automatic=False,
            send_after=now,
            now=now,
        )
        mail.state, mail.failed_at = MailState.FAILED, now
        mail.last_error = "550 5.1.1 mailbox unavailable"
        session.get(Conversation, conversation_id).state = ConversationState.FAILED
        mail_id = mail.id
    html = page_of(signed_in, conversation_id)
    assert "550 5.1.1 mailbox unavailable" in html and "Retry sending" in html

    response = post(signed_in, conversation_id, f"mails/{mail_id}/requeue", html)

    assert response.status_code == 303
    with Session(runtime.engine) as session:
        assert session.get(OutboxMail, mail_id).state == MailState.QUEUED
        assert session.get(Conversation, conversation_id).state == ConversationState.QUEUED
    assert "retry" in audit_actions(runtime)


def test_a_new_message_while_the_page_is_open_refuses_the_old_approval(signed_in, runtime):
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)
    assert stored(runtime, message="Also I feel dizzy after.", subject="more") == conversation_id

    response = post(signed_in, conversation_id, "approve", html, version=version_in(html))

    assert response.status_code == 409
    with Session(runtime.engine) as session:
        assert session.exec(REPLIES).all() == []
        assert len(session.exec(select(Message)).all()) == 2


def test_an_unknown_conversation_is_not_found(signed_in):
    assert signed_in.get("/inbox/conversations/999999").status_code == 404


def test_earlier_conversations_of_the_same_address_are_linked(signed_in, runtime):
    first = stored(runtime, subject="last spring")
    with session_scope(runtime.engine) as session:
        session.get(Conversation, first).state = ConversationState.CLOSED
    second = stored(runtime, subject="cramps again", message="The cramps are back since May.")
    assert second != first

    html = page_of(signed_in, second)

    assert f'<a href="/inbox/conversations/{first}">last spring</a>' in html


def test_reopening_a_message_the_spam_filter_caught_drafts_it(signed_in, runtime):
    with session_scope(runtime.engine) as session:
        receipt = store_message(session, settings=runtime.settings, now=runtime.clock.now())
        message = session.get(Message, receipt.message_id)
        message.status, message.spam_reason = "spam", "honeypot"  # as the filter marks it
        session.get(Conversation, receipt.conversation_id).state = ConversationState.SPAM
    html = page_of(signed_in, receipt.conversation_id)
    assert "There is no draft" in html and "Not spam: reopen" in html

    assert post(signed_in, receipt.conversation_id, "reopen", html).status_code == 303
    assert "The draft is being prepared" in page_of(signed_in, receipt.conversation_id)

    draft_new_messages(runtime)
    after = page_of(signed_in, receipt.conversation_id)
    assert "Approve and send" in after
    assert draft(runtime, receipt.conversation_id).message_id == receipt.message_id


def test_conversation_page_shows_upcoming_follow_ups_and_the_suppression_note(signed_in, runtime):
    """Staff see the scheduled follow-up and that the address unsubscribed (replies still go)."""
    from datetime import timedelta

    from inbox.followups.models import FollowUp, Suppression

    conversation_id = stored(runtime)
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        recipient = session.exec(
            select(Message.email).where(Message.conversation_id == conversation_id)
        ).first()
        session.add(
            FollowUp(
                conversation_id=conversation_id,
                recipient=recipient,
                due_at=now + timedelta(days=7),
                state="scheduled",
            )
        )
        session.add(Suppression(email=recipient, reason="unsubscribed", created_at=now))
    html = page_of(signed_in, conversation_id)
    assert "Follow-ups" in html and "scheduled" in html and "Send now" in html
    assert "the person unsubscribed" in html and "Replies you approve are still sent" in html
