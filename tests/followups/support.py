"""Helpers of the follow-up and privacy tests: the whole path from the form to the patient's
mailbox, driven step by step (submit, triage, approve, deliver, follow-up job)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from inbox.conversations.models import Message
from inbox.db import session_scope
from inbox.drafting import edits
from inbox.drafting import service as drafting
from inbox.followups.models import FollowUp
from inbox.mails.render import STAFF_PLACEHOLDER
from inbox.outbox.models import OutboxMail
from inbox.outbox.sender import SmtpTarget
from inbox.review import approval
from inbox.runtime import Runtime
from inbox.staff.models import StaffUser
from inbox.worker import build_worker, draft_new_messages
from tests.factories import api_payload
from tests.smtp import Received, SmtpServer
from tests.staff.factories import make_staff

EMAIL = "karim.h@example.com"
CRAMPS = (
    "Near the end of every dialysis session my calf muscles cramp badly. "
    "They remove a lot of fluid. Why does it happen?"
)
URGENT = "Since dialysis I have crushing chest pain and I cannot breathe properly."


def submit(client: TestClient, **overrides: str) -> dict[str, Any]:
    """POST /api/v1/messages; returns the 201 body with the message's conversation_id added."""
    fields = {"email": EMAIL, "name": "Karim Haddad", "message": CRAMPS, "subject": "cramps"}
    fields.update(overrides)
    response = client.post("/api/v1/messages", json=api_payload(**fields))
    assert response.status_code == 201, response.text
    body = response.json()
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with Session(runtime.engine) as session:
        message = session.get(Message, body["id"])
        assert message is not None
        body["conversation_id"] = message.conversation_id
    return body


def deliver(runtime: Runtime) -> int:
    """Run one worker until nothing is due; returns the attempts made."""
    worker = build_worker(runtime, target=SmtpTarget.from_settings(runtime.settings), concurrency=1)
    with ThreadPoolExecutor(1) as pool:  # its own event loop, even beside Playwright's
        return pool.submit(lambda: asyncio.run(worker.drain())).result()


def staff_member(runtime: Runtime) -> StaffUser:
    with Session(runtime.engine) as session:
        found = session.exec(
            select(StaffUser).where(StaffUser.email == "nurse@hospital.example")
        ).first()
    return found or make_staff(runtime, email="nurse@hospital.example")


def approve(runtime: Runtime, conversation_id: int) -> int:
    """Approve the conversation's draft as staff would (filling in a placeholder); the mail id."""
    staff = staff_member(runtime)
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        draft = drafting.get_draft(session, conversation_id=conversation_id)
        assert draft is not None, "the message was not drafted"
        if STAFF_PLACEHOLDER in draft.text_body:
            draft = edits.save_draft(
                session, runtime=runtime, conversation_id=conversation_id, subject=draft.subject,
                text=draft.text_body.replace(STAFF_PLACEHOLDER, "Please talk to your team."),
                expected_version=draft.version, staff=staff, now=now,
            )  # fmt: skip
        mail = approval.approve_reply(
            session, runtime=runtime, conversation_id=conversation_id, staff=staff,
            expected_version=draft.version, now=now,
        )  # fmt: skip
        return int(mail.id or 0)


def reply_sent(client: TestClient, runtime: Runtime, **overrides: str) -> int:
    """A message submitted, triaged, answered and the reply delivered; its conversation id."""
    conversation_id = int(submit(client, **overrides)["conversation_id"])
    draft_new_messages(runtime)
    approve(runtime, conversation_id)
    deliver(runtime)  # its delivery schedules the follow-ups
    return conversation_id


def follow_ups(runtime: Runtime, conversation_id: int | None = None) -> list[FollowUp]:
    with Session(runtime.engine) as session:
        query = select(FollowUp).order_by(col(FollowUp.id))
        if conversation_id is not None:
            query = query.where(FollowUp.conversation_id == conversation_id)
        return list(session.exec(query))


def mails(runtime: Runtime, kind: str | None = None) -> list[OutboxMail]:
    with Session(runtime.engine) as session:
        query = select(OutboxMail).order_by(col(OutboxMail.id))
        if kind is not None:
            query = query.where(OutboxMail.kind == kind)
        return list(session.exec(query))


def received_of_kind(server: SmtpServer, subject_part: str) -> list[Received]:
    return [item for item in server.received if subject_part in str(item.parsed()["Subject"])]
