"""IMAP polling against a real Dovecot: the reading position is UIDVALIDITY + last UID in the
database, never the \\Seen flag; nothing is deleted; a backlog found on first connect is left
alone; a patient's reply fetched from the mailbox reopens its conversation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from inbox.config import Settings
from inbox.conversations.models import ConversationState
from inbox.inbound.imap import mailbox_key, poll_once
from inbox.inbound.models import ImapCursor, InboundSource
from inbox.inbound.process import process_pending
from inbox.inbound.replies import build_reply
from inbox.runtime import Runtime
from tests.conftest import free_port
from tests.followups.support import EMAIL, reply_sent
from tests.inbound import dovecot as dovecot_server
from tests.inbound.support import conversation, inbound_mails, mail_to, plain_mail
from tests.smtp import SmtpServer

SERVICE = "patient-service@kidney-hospital.example"


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[dovecot_server.Dovecot]:
    if not dovecot_server.available():
        pytest.skip("Dovecot is not installed: `make imap` installs Debian's dovecot-imapd")
    server = dovecot_server.Dovecot(tmp_path / "dovecot", free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings: Settings, dovecot: dovecot_server.Dovecot) -> Settings:
    return settings.model_copy(
        update={
            "inbound": "imap",
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_tls": False,
            "imap_username": dovecot_server.USER,
            "imap_password": dovecot_server.PASSWORD,
        }
    )


def test_a_backlog_found_on_first_connect_is_never_answered(
    runtime: Runtime, dovecot: dovecot_server.Dovecot
):
    for number in range(2):
        dovecot.deliver(plain_mail(sender=f"old{number}@example.net", to=SERVICE))
    first = poll_once(runtime)
    assert (first.stored, first.skipped_backlog) == (0, 2)
    assert inbound_mails(runtime) == []

    dovecot.deliver(plain_mail(sender="new@example.net", to=SERVICE, text="A new question."))
    assert poll_once(runtime).stored == 1
    [inbound] = inbound_mails(runtime)
    assert inbound.source == InboundSource.IMAP and b"A new question." in (inbound.raw or b"")


def test_polling_leaves_the_mailbox_as_it_was_and_reads_by_uid_not_by_seen_flag(
    runtime: Runtime, dovecot: dovecot_server.Dovecot
):
    poll_once(runtime)  # the first connection sets the position
    dovecot.deliver(plain_mail(sender="a@example.net", to=SERVICE))
    assert poll_once(runtime).stored == 1
    with dovecot.mailbox() as box:
        [message] = list(box.fetch(mark_seen=False))
        assert "\\Seen" not in message.flags  # a person reading the mailbox still sees it as new
        box.flag(box.uids(), "\\Seen", True)  # and marking it read changes nothing for us
    assert poll_once(runtime).stored == 0
    dovecot.deliver(plain_mail(sender="b@example.net", to=SERVICE))
    assert poll_once(runtime).stored == 1
    with dovecot.mailbox() as box:
        assert len(box.uids()) == 2  # nothing deleted
    with Session(runtime.engine) as session:
        cursor = session.get(ImapCursor, mailbox_key(runtime.settings))
        assert cursor is not None and cursor.last_uid == 2


def test_a_new_uidvalidity_starts_again_after_what_is_there(
    runtime: Runtime, dovecot: dovecot_server.Dovecot
):
    poll_once(runtime)
    dovecot.deliver(plain_mail(sender="a@example.net", to=SERVICE))
    with Session(runtime.engine) as session:
        cursor = session.get(ImapCursor, mailbox_key(runtime.settings))
        assert cursor is not None
        cursor.uidvalidity += 1  # as if the mailbox had been rebuilt
        session.commit()
    assert poll_once(runtime).stored == 0  # UIDs of another UIDVALIDITY mean nothing
    assert inbound_mails(runtime) == []


def test_a_reply_fetched_over_imap_reopens_its_conversation(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, dovecot: dovecot_server.Dovecot
):
    poll_once(runtime)
    conversation_id = reply_sent(client, runtime)
    raw, _, _ = build_reply(mail_to(smtp_server, EMAIL, "Re: ").data, text="Worse since Monday.")
    dovecot.deliver(raw)
    assert poll_once(runtime).stored == 1
    process_pending(runtime)
    assert conversation(runtime, conversation_id).state == ConversationState.REVIEW
