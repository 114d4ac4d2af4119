"""The embedded mode shows the loop: the built-in catcher hands mail for the service's own
addresses to the inbound path, and `inbox mail reply ID --text …` answers a caught mail as the
patient would."""

from __future__ import annotations

import asyncio
import smtplib

from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from inbox.cli import app as cli
from inbox.conversations.models import ConversationState
from inbox.drafting.service import get_draft
from inbox.inbound.models import InboundSource
from inbox.main import create_app
from inbox.outbox.catcher import list_caught
from inbox.runtime import build_runtime
from inbox.worker import start_background
from tests.followups.support import approve, submit
from tests.inbound.support import conversation, inbound_mails, plain_mail


async def _caught_reply(runtime, client: TestClient) -> int:
    """Submit, let the in-process worker draft, approve, and let it deliver to the catcher."""
    background = await start_background(runtime)
    try:
        conversation_id = int(submit(client)["conversation_id"])
        await _until(lambda: _drafted(runtime, conversation_id))
        await asyncio.to_thread(approve, runtime, conversation_id)
        await _until(lambda: _caught_replies(runtime))
        return conversation_id
    finally:
        await background.stop()


def _drafted(runtime, conversation_id: int) -> bool:
    with Session(runtime.engine) as session:
        return get_draft(session, conversation_id=conversation_id) is not None


def _caught_replies(runtime) -> list:
    with Session(runtime.engine) as session:
        return [m for m in list_caught(session) if m.subject.startswith("Re: ")]


async def _until(condition) -> None:
    for _ in range(200):
        if await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not get there in 10 s")


def embedded(settings):
    return settings.model_copy(
        update={"smtp_host": "", "mail_catcher": True, "mail_catcher_port": 0,
                "inbound": "off", "worker_poll_seconds": 0.05}
    )  # fmt: skip


async def test_inbox_mail_reply_reopens_the_conversation(settings, clock, monkeypatch):
    runtime = build_runtime(embedded(settings), clock=clock)
    with TestClient(create_app(runtime=runtime), follow_redirects=False) as client:
        conversation_id = await _caught_reply(runtime, client)
    [reply] = _caught_replies(runtime)
    assert conversation(runtime, conversation_id).state == ConversationState.SENT
    monkeypatch.setenv("INBOX_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("INBOX_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("INBOX_SMTP_HOST", "")
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["mail", "reply", str(reply.id), "--text", "Worse, chest pain now."],
    )
    assert result.exit_code == 0, result.output
    assert f"conversation #{conversation_id} is review" in result.output
    assert conversation(runtime, conversation_id).state == ConversationState.REVIEW
    assert conversation(runtime, conversation_id).urgent
    runtime.engine.dispose()


async def test_the_catcher_hands_mail_for_our_own_addresses_to_the_inbound_path(settings, clock):
    runtime = build_runtime(embedded(settings), clock=clock)
    background = await start_background(runtime)
    try:
        assert background.catcher is not None
        raw = plain_mail(sender="p@example.net", to="patient-service@kidney-hospital.example")

        def send() -> None:
            with smtplib.SMTP(background.catcher.host, background.catcher.port) as smtp:
                smtp.sendmail("p@example.net", ["patient-service@kidney-hospital.example"], raw)
                smtp.sendmail("p@example.net", ["someone@example.org"], raw)

        await asyncio.to_thread(send)
    finally:
        await background.stop()
    [inbound] = inbound_mails(runtime)
    assert inbound.source == InboundSource.CATCHER
    with Session(runtime.engine) as session:
        assert [m.recipients for m in list_caught(session)] == ["someone@example.org"]
    runtime.engine.dispose()
