"""Export, erase and purge cover inbound mail, raw bytes included."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from inbox.cli import app as cli
from inbox.db import session_scope
from inbox.inbound.models import InboundSource
from inbox.inbound.process import process_pending
from inbox.inbound.replies import build_reply
from inbox.inbound.store import store_inbound
from inbox.privacy.purge import purge
from inbox.privacy.rights import erase_address
from inbox.runtime import Runtime
from tests.followups.support import EMAIL, reply_sent
from tests.inbound.support import inbound_mails, mail_to
from tests.smtp import SmtpServer


def _reply_taken_in(client: TestClient, runtime: Runtime, smtp_server: SmtpServer) -> bytes:
    reply_sent(client, runtime)
    raw, patient, answer_to = build_reply(mail_to(smtp_server, EMAIL, "Re: ").data, text="Better.")
    store_inbound(runtime.engine, raw=raw, source=InboundSource.PIPE, envelope_from=patient,
                  recipients=[answer_to], now=runtime.clock.now())  # fmt: skip
    process_pending(runtime)
    return raw


def test_inbox_export_lists_the_email_message_and_the_raw_mail(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, settings, monkeypatch
):
    raw = _reply_taken_in(client, runtime, smtp_server)
    monkeypatch.setenv("INBOX_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("INBOX_SECRET_KEY", settings.secret_key)
    result = CliRunner().invoke(cli, ["export", EMAIL])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    [conversation] = data["conversations"]
    assert [m["channel"] for m in conversation["messages"]][-1] == "email"
    [inbound] = conversation["inbound_mails"]
    assert base64.b64decode(inbound["raw_base64"]) == raw


def test_erase_deletes_inbound_mail_with_its_conversation(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer
):
    _reply_taken_in(client, runtime, smtp_server)
    with session_scope(runtime.engine) as session:
        counts = erase_address(session, email=EMAIL, actor="test", now=runtime.clock.now(),
                               secret_key=runtime.settings.secret_key)  # fmt: skip
    assert counts["inbound_mails"] == 1
    assert inbound_mails(runtime) == []


def test_purge_drops_raw_bytes_after_their_retention_and_keeps_the_text(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, clock
):
    _reply_taken_in(client, runtime, smtp_server)
    with session_scope(runtime.engine) as session:
        assert (
            purge(session, settings=runtime.settings, now=clock.now())["inbound_raw_blanked"] == 0
        )
    later = clock.now() + timedelta(days=runtime.settings.inbound_raw_retention_days + 1)
    with session_scope(runtime.engine) as session:
        assert purge(session, settings=runtime.settings, now=later)["inbound_raw_blanked"] == 1
    [inbound] = inbound_mails(runtime)
    assert inbound.raw is None and "Better." in (inbound.text or "")
