"""Fixtures of the outbox tests: settings pointed at the real test SMTP server, a worker, and
factories for conversations and queued mails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from inbox.clock import FrozenClock
from inbox.config import Settings
from inbox.conversations.models import Contact, Conversation, ConversationState
from inbox.db import session_scope
from inbox.outbox import service
from inbox.outbox.compose import MailParts, build_message
from inbox.outbox.models import MailKind, OutboxMail
from inbox.outbox.sender import SmtpTarget
from inbox.outbox.worker import Worker
from inbox.runtime import Runtime, build_runtime
from inbox.worker import build_worker
from tests.smtp import SmtpServer

TEXT = (
    "Dear Ms Example,\n\nThank you for your question about cramps at the end of dialysis. "
    "The section below explains the most common causes.\n\n"
    "https://www.kidney-hospital.example/articles/leg-cramps#fluid-removal\n\n"
    "With kind regards,\nThe Patient Service Team\n"
)
HTML = (
    "<html><body><p>Dear Ms Example,</p><p>Thank you for your question about cramps at the end "
    'of dialysis. <a href="https://www.kidney-hospital.example/articles/leg-cramps#fluid-removal"'
    ">The section on fluid removal</a> explains the most common causes.</p>"
    '<p style="color:#333">With kind regards,<br>The Patient Service Team</p></body></html>'
)


@pytest.fixture
def outbox_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    """The shared test settings, sending to the real test SMTP server, with short timeouts."""
    return settings.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_timeout": 2.0,
            "smtp_send_timeout": 3.0,
            "worker_poll_seconds": 0.05,
            "worker_concurrency": 2,
            "retry_base_seconds": 60.0,
            "retry_max_seconds": 3600.0,
        }
    )


@pytest.fixture
def outbox_runtime(outbox_settings: Settings, clock: FrozenClock) -> Iterator[Runtime]:
    runtime = build_runtime(outbox_settings, clock=clock)
    yield runtime
    runtime.engine.dispose()


def make_worker(runtime: Runtime, **overrides: Any) -> Worker:
    """A worker sending to the runtime's SMTP settings, with the service's delivery listeners."""
    target = overrides.pop("target", None) or SmtpTarget.from_settings(runtime.settings)
    return build_worker(runtime, target=target, **overrides)


@pytest.fixture
def worker(outbox_runtime: Runtime) -> Worker:
    return make_worker(outbox_runtime)


def make_conversation(
    session: Session,
    *,
    now: datetime,
    email: str = "patient@example.org",
    state: str = ConversationState.QUEUED,
) -> Conversation:
    contact = Contact(email=email, name="Pat Example", created_at=now)
    session.add(contact)
    session.flush()
    conversation = Conversation(
        contact_id=contact.id,
        subject="Leg cramps",
        state=state,
        created_at=now,
        updated_at=now,
        last_message_at=now,
    )
    session.add(conversation)
    session.flush()
    return conversation


def enqueue(session: Session, runtime: Runtime, **overrides: Any) -> OutboxMail:
    """enqueue_mail with sensible defaults, due now."""
    now = runtime.clock.now()
    fields: dict[str, Any] = {
        "kind": MailKind.REPLY,
        "recipient": "Pat Example <patient@example.org>",
        "subject": "Your question to the Kidney Disease Hospital",
        "text": TEXT,
        "html": HTML,
        "automatic": False,
        "send_after": now,
        "now": now,
    }
    fields.update(overrides)
    return service.enqueue_mail(session, settings=runtime.settings, **fields)


def enqueue_committed(runtime: Runtime, **overrides: Any) -> int:
    with session_scope(runtime.engine) as session:
        return enqueue(session, runtime, **overrides).id  # type: ignore[return-value]


def load_mail(runtime: Runtime, mail_id: int) -> OutboxMail:
    with Session(runtime.engine) as session:
        mail = session.get(OutboxMail, mail_id)
        assert mail is not None
        session.expunge(mail)
        return mail


def bulk_queue(runtime: Runtime, count: int, *, domain: str = "example.org") -> list[str]:
    """Queue `count` reply mails fast (one message built, its Message-ID swapped per row): test
    set-up for load tests, where building 2,000 messages one by one would dominate the run."""
    now = runtime.clock.now()
    template_id = "<TEMPLATE-ID@kidney-hospital.example>"
    template = build_message(
        MailParts(
            sender=runtime.settings.mail_from,
            recipient=f"patient@{domain}",
            subject="Your question",
            text=TEXT,
            html=HTML,
            message_id=template_id,
            date=now,
        )
    )
    rows, ids = [], []
    for number in range(count):
        message_id = f"<load-{number:06d}@kidney-hospital.example>"
        ids.append(message_id)
        rows.append(
            {
                "kind": MailKind.REPLY,
                "recipient": f"patient{number}@{domain}",
                "subject": "Your question",
                "text_body": TEXT,
                "html_body": HTML,
                "raw": template.replace(template_id.encode(), message_id.encode()),
                "message_id": message_id,
                "automatic": False,
                "state": "queued",
                "send_after": now,
                "attempts": 0,
                "created_at": now,
            }
        )
    with runtime.engine.begin() as connection:
        connection.execute(sa.insert(OutboxMail.__table__), rows)  # type: ignore[attr-defined]
    return ids
