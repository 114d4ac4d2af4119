"""`inbox inbound deliver < message.eml`, as an MTA's pipe runs it: 0 stored, 75 when the
database cannot take the mail (the MTA keeps it and tries again), 65 for bytes that are no mail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from inbox.conversations.models import ConversationState
from inbox.inbound.models import InboundSource, InboundState
from inbox.inbound.process import process_pending
from inbox.inbound.replies import build_reply
from inbox.runtime import Runtime
from tests.conftest import TEST_SECRET_KEY
from tests.followups.support import EMAIL, reply_sent
from tests.inbound.support import conversation, inbound_mails, mail_to, plain_mail
from tests.smtp import SmtpServer


def deliver(raw: bytes, database_url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = Path(sys.executable).with_name("inbox")
    env = {
        **os.environ,
        "INBOX_DATABASE_URL": database_url,
        "INBOX_SECRET_KEY": TEST_SECRET_KEY,
    }
    return subprocess.run(
        [str(command), "inbound", "deliver", *args],
        input=raw, capture_output=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def test_a_piped_reply_is_stored_and_reopens_its_conversation(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, database_url: str
):
    conversation_id = reply_sent(client, runtime)
    raw, patient, answer_to = build_reply(
        mail_to(smtp_server, EMAIL, "Re: ").data, text="It happened again yesterday."
    )
    done = deliver(raw, database_url, "--sender", patient, "--recipient", answer_to)
    assert done.returncode == 0, done.stderr
    [inbound] = inbound_mails(runtime)
    assert inbound.source == InboundSource.PIPE and inbound.raw == raw
    process_pending(runtime)
    assert conversation(runtime, conversation_id).state == ConversationState.REVIEW


def test_the_pipe_answers_75_when_the_database_is_unavailable(tmp_path: Path):
    raw = plain_mail(sender="a@example.net", to="patient-service@kidney-hospital.example")
    done = deliver(raw, "postgresql://postgres@127.0.0.1:1/nothing")
    assert done.returncode == 75
    done = deliver(raw, f"sqlite:///{tmp_path}/never-migrated.db")
    assert done.returncode == 75


def test_the_pipe_answers_65_for_bytes_that_are_no_mail_and_keeps_them(
    runtime: Runtime, database_url: str
):
    done = deliver(b"\x00\x01 this is not a mail at all\n", database_url)
    assert done.returncode == 65
    [inbound] = inbound_mails(runtime)
    assert inbound.state == InboundState.FAILED and "header" in (inbound.error or "")
    assert deliver(b"", database_url).returncode == 65
