"""What the mail benchmarks set up alike: a database of their own, and conversations that already
have a reply of ours in the outbox (built by the real enqueue path)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from inbox.config import Settings
from inbox.conversations.models import Contact, Conversation, ConversationState
from inbox.db import normalise_url, upgrade
from inbox.outbox.models import MailKind, OutboxMail
from inbox.outbox.service import enqueue_mail


@contextmanager
def temp_database(url: str | None, *, prefix: str) -> Iterator[str]:
    """A freshly migrated database: a SQLite file in a temp folder when `url` is empty, else a
    database created on that PostgreSQL server and dropped at the end."""
    if not url:
        target = f"sqlite:///{tempfile.mkdtemp(prefix=f'{prefix}-')}/inbox.db"
        upgrade(target)
        yield target
        return
    base = sa.engine.make_url(normalise_url(url))
    name = f"{prefix.replace('-', '_')}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        target = base.set(database=name).render_as_string(hide_password=False)
        upgrade(target)
        yield target
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def conversation_with_reply(
    session: Session,
    settings: Settings,
    *,
    email: str,
    name: str,
    state: ConversationState,
    subject: str,
    text: str,
    html: str,
    now: datetime,
    recipient: str | None = None,
) -> OutboxMail:
    """A contact, their conversation in `state`, and our reply to it queued in the outbox."""
    contact = Contact(email=email, name=name, created_at=now)
    session.add(contact)
    session.flush()
    conversation = Conversation(
        contact_id=contact.id,
        subject=subject,
        state=state,
        created_at=now,
        updated_at=now,
        last_message_at=now,
    )
    session.add(conversation)
    session.flush()
    return enqueue_mail(
        session,
        settings=settings,
        kind=MailKind.REPLY,
        recipient=recipient or email,
        subject=subject,
        text=text,
        html=html,
        conversation_id=conversation.id,
        automatic=False,
        send_after=now,
        now=now,
    )
