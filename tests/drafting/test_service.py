"""Drafting service: drafts made from stored messages, staff changes, approval into the outbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from inbox.conversations.models import Conversation, ConversationState, Message
from inbox.db import READS_ONLY, SQLITE_BUSY_SECONDS, session_scope
from inbox.drafting import edits, service
from inbox.drafting.jobs import draft_pending
from inbox.drafting.labels import staff_labels
from inbox.drafting.models import Draft, Note
from inbox.errors import Conflict, InvalidInput
from inbox.mails.render import STAFF_PLACEHOLDER
from inbox.outbox.models import MailState, OutboxMail
from inbox.review.approval import approve_reply
from inbox.runtime import Runtime
from inbox.staff.models import AuditEntry, StaffUser
from tests.drafting.support import CRAMPS, UNRELATED, URGENT, store_message
from tests.staff.factories import make_staff

T = TypeVar("T")
SODIUM = "low-sodium-dialysate"
REPLIES = select(OutboxMail).where(OutboxMail.kind == "reply")  # not the acknowledgements
FLUID = "fluid-removal-too-fast"


@dataclass
class Desk:
    """One staff member calling the draft functions on a conversation, as the pages do."""

    runtime: Runtime
    staff: StaffUser

    def do(
        self, action: Callable[..., T], draft: Draft, *, session: Session | None = None,
        version: int | None = None, **values: Any,
    ) -> T:  # fmt: skip
        """`action` on the draft's conversation; committed unless a session is given."""
        arguments = {
            "runtime": self.runtime,
            "conversation_id": draft.conversation_id,
            "staff": self.staff,
            "expected_version": draft.version if version is None else version,
            "now": self.runtime.clock.now(),
            **values,
        }
        if session is not None:
            return action(session, **arguments)
        with session_scope(self.runtime.engine) as own:
            return action(own, **arguments)


@pytest.fixture
def staff(runtime) -> StaffUser:
    return make_staff(runtime)


@pytest.fixture
def desk(runtime, staff) -> Desk:
    return Desk(runtime, staff)


def stored(runtime, **overrides: str):
    with session_scope(runtime.engine) as session:
        now = runtime.clock.now()
        return store_message(session, settings=runtime.settings, now=now, **overrides)


def draft_of(runtime, conversation_id: int) -> Draft:
    with Session(runtime.engine) as session:
        draft = service.get_draft(session, conversation_id=conversation_id)
        assert draft is not None
        return draft


def drafted(runtime, **overrides: str) -> Draft:
    receipt = stored(runtime, **overrides)
    assert draft_pending(runtime) == 1
    return draft_of(runtime, receipt.conversation_id)


def test_worker_job_drafts_a_stored_message_with_sections_and_evidence(runtime):
    receipt = stored(runtime)

    assert draft_pending(runtime) == 1
    assert draft_pending(runtime) == 0  # nothing left to draft

    draft = draft_of(runtime, receipt.conversation_id)
    assert draft.message_id == receipt.message_id
    assert draft.section_ids[0] == FLUID
    assert draft.suggested[0]["section_id"] == FLUID
    assert draft.suggested[0]["evidence"], "each suggestion carries the words that led to it"
    assert runtime.knowledge.section(FLUID).url in draft.text_body
    assert "Dear Karim Haddad" in draft.text_body
    assert f'href="{runtime.knowledge.section(FLUID).url}"' in draft.html_body
    assert not draft.urgent
    with Session(runtime.engine) as session:
        assert session.get(Message, receipt.message_id).drafted_at == runtime.clock.now()


def test_drafting_a_message_twice_gives_the_same_draft(runtime):
    receipt = stored(runtime)
    with session_scope(runtime.engine) as session:
        first = service.draft_message(session, runtime=runtime, message_id=receipt.message_id)
        before = first.model_dump()
    runtime.clock.advance(timedelta(minutes=5))
    with session_scope(runtime.engine) as session:
        again = service.draft_message(session, runtime=runtime, message_id=receipt.message_id)
        assert again.model_dump() == before  # same text, same sections, same version


def test_urgent_message_gets_emergency_guidance_and_an_urgent_conversation(runtime):
    draft = drafted(runtime, message=URGENT, subject="help please")

    assert draft.urgent and draft.urgency_reasons
    with Session(runtime.engine) as session:
        assert session.get(Conversation, draft.conversation_id).urgent
    assert draft.text_body.index("emergency") < draft.text_body.index("Dear Karim")


def test_unrelated_message_gets_a_general_draft_marked_for_staff(runtime):
    draft = drafted(runtime, message=UNRELATED, subject="invoice")
    assert draft.section_ids == [] and draft.suggested == []
    assert STAFF_PLACEHOLDER in draft.text_body


def test_redraft_builds_the_reply_from_the_sections_staff_chose(runtime, desk):
    draft = drafted(runtime)
    rebuilt = desk.do(edits.redraft, draft, section_ids=[SODIUM])
    assert rebuilt.section_ids == [SODIUM]
    assert rebuilt.version == draft.version + 1
    assert runtime.knowledge.section(SODIUM).url in rebuilt.text_body
    assert runtime.knowledge.section(FLUID).url not in rebuilt.text_body
    assert rebuilt.suggested == draft.suggested  # the matcher's evidence stays visible
    with Session(runtime.engine) as session:
        actions = session.exec(select(AuditEntry.action)).all()
    assert "redraft" in actions


def test_redraft_with_no_section_gives_the_general_reply(runtime, desk):
    draft = drafted(runtime)
    rebuilt = desk.do(edits.redraft, draft, section_ids=[])
    assert STAFF_PLACEHOLDER in rebuilt.text_body


def test_redraft_refuses_an_unknown_section(runtime, desk):
    draft = drafted(runtime)
    with pytest.raises(InvalidInput):
        desk.do(edits.redraft, draft, section_ids=["no-such-section"])


def test_a_second_save_from_an_older_version_is_refused_not_overwritten(runtime, staff, desk):
    draft = drafted(runtime)

    def save(text: str) -> Draft:
        return desk.do(edits.save_draft, draft, subject="Re: you", text=text)

    first = save("Dear Karim,\n\nFirst nurse's answer.")
    with pytest.raises(Conflict, match="changed this draft"):
        save("Dear Karim,\n\nSecond nurse's answer.")

    stored_draft = draft_of(runtime, draft.conversation_id)
    assert "First nurse" in stored_draft.text_body and "Second nurse" not in stored_draft.text_body
    assert stored_draft.version == first.version == draft.version + 1
    assert stored_draft.edited and stored_draft.updated_by_id == staff.id


def test_saved_text_becomes_escaped_html_with_only_web_links_clickable(runtime, desk):
    draft = drafted(runtime)
    text = (
        "Dear Karim,\n\nSee https://www.kidney-hospital.example/a.html#x. It helps.\n"
        "<b>bold?</b> javascript:alert(1) {{ settings }}\n\nBest wishes"
    )
    saved = desk.do(edits.save_draft, draft, subject="Your cramps", text=text)
    html = saved.html_body
    assert '<a href="https://www.kidney-hospital.example/a.html#x"' in html
    assert "#x</a>. It helps." in html  # the full stop is not part of the link
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html and "<b>" not in html
    assert 'href="javascript' not in html and "{{ settings }}" in html
    assert "Best wishes</p>" in html and "Kind regards" in html  # the reply's design is kept
    assert saved.body == text  # the text box keeps what was typed, unwrapped
    assert "\nDear Karim,\n\nSee https://" in saved.text_body
    assert saved.subject == "Your cramps"


def test_save_refuses_an_empty_subject_or_text(runtime, desk):
    draft = drafted(runtime)
    with pytest.raises(InvalidInput) as refused:
        desk.do(edits.save_draft, draft, subject="  ", text=" \n ")
    assert set(refused.value.errors) == {"subject", "text"}


def test_approval_writes_the_outbox_row_in_the_same_transaction_and_sends_nothing(
    runtime, desk, smtp_server
):
    draft = drafted(runtime)
    runtime.settings.smtp_port = smtp_server.port

    with Session(runtime.engine) as session:
        mail = desk.do(approve_reply, draft, session=session)
        assert mail.id is not None and mail.state == MailState.QUEUED
        session.rollback()  # the request failed after approving: nothing of it may remain
    with Session(runtime.engine) as session:
        assert session.exec(REPLIES).all() == []
        assert session.get(Conversation, draft.conversation_id).state == ConversationState.REVIEW
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "approve")).all() == []

    desk.do(approve_reply, draft)
    with Session(runtime.engine) as session:
        (mail,) = session.exec(REPLIES).all()
        assert (mail.kind, mail.state, mail.automatic) == ("reply", MailState.QUEUED, False)
        assert mail.recipient == "karim.h@example.com" and mail.text_body == draft.text_body
        assert session.get(Conversation, draft.conversation_id).state == ConversationState.QUEUED
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "approve")).all()
    assert smtp_server.received == []  # the worker sends it, never the approval


def test_approving_twice_is_refused(runtime, desk):
    draft = drafted(runtime)
    desk.do(approve_reply, draft)
    with pytest.raises(Conflict, match="queued: its reply can no longer be changed"):
        desk.do(approve_reply, draft)
    with Session(runtime.engine) as session:
        assert len(session.exec(REPLIES).all()) == 1


def test_the_staff_placeholder_blocks_approval_until_replaced(runtime, desk):
    draft = drafted(runtime, message=UNRELATED, subject="invoice")
    with pytest.raises(Conflict, match=r"STAFF"):
        desk.do(approve_reply, draft)
    text = draft.text_body.replace(STAFF_PLACEHOLDER, "The billing office opens at 9.")
    with session_scope(runtime.engine) as session:
        saved = desk.do(edits.save_draft, draft, session=session, subject=draft.subject, text=text)
        mail = desk.do(approve_reply, draft, session=session, version=saved.version)
        assert "billing office opens at 9" in mail.text_body


def test_a_new_message_redrafts_and_keeps_the_staff_edit_as_a_note(runtime, desk):
    draft = drafted(runtime)
    desk.do(edits.save_draft, draft, subject="Re", text="Hand-written answer about cramps.")
    runtime.clock.advance(timedelta(hours=1))
    second = stored(runtime, message=URGENT, subject="worse now")
    assert second.conversation_id == draft.conversation_id

    assert draft_pending(runtime) == 1
    redone = draft_of(runtime, draft.conversation_id)
    assert redone.message_id == second.message_id and redone.urgent and not redone.edited
    with Session(runtime.engine) as session:
        (note,) = session.exec(select(Note)).all()
    assert "Hand-written answer about cramps." in note.body


def test_approval_is_refused_while_a_newer_message_waits_for_drafting(runtime, desk):
    draft = drafted(runtime)
    stored(runtime, message="Also, is it normal to feel dizzy afterwards?", subject="and")
    with pytest.raises(Conflict, match="wrote again"):
        desk.do(approve_reply, draft)


def test_a_message_that_cannot_be_drafted_does_not_block_the_others(runtime, monkeypatch):
    bad = stored(runtime, email="first@example.com")
    good = stored(runtime, email="second@example.com", message=CRAMPS + " Thanks.")
    real = service.draft_message

    def failing(session, *, runtime, message_id, **prepared):
        if message_id == bad.message_id:
            raise RuntimeError("broken article file")
        return real(session, runtime=runtime, message_id=message_id, **prepared)

    monkeypatch.setattr("inbox.drafting.jobs.draft_message", failing)
    assert draft_pending(runtime) == 1
    with Session(runtime.engine) as session:
        pending = session.exec(select(Message.id).where(Message.drafted_at.is_(None))).all()
    assert pending == [bad.message_id]
    assert draft_of(runtime, good.conversation_id).message_id == good.message_id


def write_transactions(engine: sa.Engine) -> list[float]:
    """The length in seconds of each write transaction on `engine` from now on (on SQLite, how
    long it held the write lock every form post and staff action waits for)."""
    lengths: list[float] = []

    @sa.event.listens_for(engine, "begin")
    def began(connection: sa.Connection) -> None:
        if not connection.get_execution_options().get(READS_ONLY):
            connection.info["began"] = time.perf_counter()

    @sa.event.listens_for(engine, "commit")
    @sa.event.listens_for(engine, "rollback")
    def ended(connection: sa.Connection) -> None:
        began = connection.info.pop("began", None)
        if began is not None:
            lengths.append(time.perf_counter() - began)

    return lengths


def test_two_workers_drafting_at_once_draft_each_message_once(runtime):
    receipts = [
        stored(runtime, email=f"patient{index % 5}@example.com", message=f"{CRAMPS} ({index})")
        for index in range(20)
    ]
    held = write_transactions(runtime.engine)  # the drafters start cold: nothing loaded yet
    done: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while count := draft_pending(runtime):
                done.append(count)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == [] and sum(done) == len(receipts)
    # the articles, rules and model load before any write: a form post meanwhile waits little
    assert max(held) < SQLITE_BUSY_SECONDS / 5
    with Session(runtime.engine) as session:
        assert session.exec(select(Message.id).where(Message.drafted_at.is_(None))).all() == []
        drafts = session.exec(select(Draft)).all()
    conversations = {receipt.conversation_id for receipt in receipts}
    assert len(drafts) == len(conversations) == 5
    newest = {receipt.conversation_id: receipt.message_id for receipt in receipts}
    assert {draft.conversation_id: draft.message_id for draft in drafts} == newest


def test_drafting_the_same_message_again_keeps_the_sections_staff_chose(runtime, desk):
    draft = drafted(runtime)
    rebuilt = desk.do(edits.redraft, draft, section_ids=[SODIUM])
    with session_scope(runtime.engine) as session:
        again = service.draft_message(session, runtime=runtime, message_id=draft.message_id)
        assert (again.section_ids, again.version) == ([SODIUM], rebuilt.version)


def test_an_approved_reply_becomes_a_training_label_with_the_sections_staff_chose(runtime, desk):
    draft = drafted(runtime)
    assert staff_labels(runtime.settings) == []  # not decided yet
    rebuilt = desk.do(edits.redraft, draft, section_ids=[SODIUM])
    desk.do(approve_reply, rebuilt)
    [label] = staff_labels(runtime.settings)
    with Session(runtime.engine) as session:
        message = session.get(Message, draft.message_id)
    assert label.sections == frozenset({SODIUM})
    assert (label.subject, label.text) == (message.subject, message.body)
    assert label.urgent is False


def test_a_possible_emergency_opens_the_reply_with_care_today_not_a_sure_emergency(runtime):
    draft = drafted(
        runtime,
        message="There is a bit of blood on the dressing over my fistula this morning. Worry?",
        subject="dressing",
    )
    assert draft.urgent and draft.urgency == "possible"
    text = draft.text_body
    assert text.index("PLEASE READ THIS FIRST") < text.index("Dear Karim")
    assert "may need a doctor's or nurse's attention today" in text
    assert "This can be a sign of an emergency" not in text
    assert "attention today" in draft.html_body


def test_the_patient_never_reads_the_learned_models_reasons(runtime):
    # no red-flag word the rules know: the learned layer flags it, with a reason for staff
    message = "He is grey and his hands are cold and he only grunts when I shake him"
    draft = drafted(runtime, message=message, subject="dad")
    assert draft.urgent
    assert any("learned model" in reason for reason in draft.urgency_reasons)  # staff see it
    assert "learned model" not in draft.text_body and "learned model" not in draft.html_body
