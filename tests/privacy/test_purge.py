"""Retention: `inbox purge` (and the worker's daily run) deletes spam and closed conversations
past their time with everything hanging off them, blanks old sent bodies, and reports counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from inbox.cli import app as cli
from inbox.conversations.models import Contact, Conversation, Message
from inbox.db import session_scope
from inbox.outbox.models import OutboxMail
from inbox.privacy.purge import purge, purge_job
from inbox.ratelimit import RateBucket
from inbox.review import actions, search
from inbox.staff.models import LoginGate
from inbox.worker import draft_new_messages
from tests.followups.support import reply_sent, staff_member
from tests.staff.factories import sign_in


def _spam(client) -> None:
    response = client.post(
        "/api/v1/messages",
        json={"name": "Bot", "email": "bot@example.net", "subject": "hi", "message": "cheap pills",
              "website": "http://spam.example"},
    )  # fmt: skip
    assert response.status_code == 201  # the API does not tell a bot it was caught
    runtime = client.app.state.runtime
    with Session(runtime.engine) as session:
        assert session.get(Message, response.json()["id"]).status == "spam"


def _close(runtime, conversation_id: int) -> None:
    with session_scope(runtime.engine) as session:
        actions.close_conversation(
            session, conversation_id=conversation_id, staff=staff_member(runtime),
            now=runtime.clock.now(),
        )  # fmt: skip


def _contacts(runtime) -> list[str]:
    with Session(runtime.engine) as session:
        return sorted(session.exec(select(Contact.email)).all())


def _run_cli(monkeypatch, runtime, *args: str):
    monkeypatch.setenv("INBOX_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("INBOX_SECRET_KEY", runtime.settings.secret_key)
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_purge_deletes_what_is_past_its_time_and_keeps_the_rest(
    client, runtime, clock, monkeypatch
):
    start = clock.now()
    closed_id = reply_sent(
        client, runtime, email="closed@example.org", message="Cramps at the end of dialysis, why?"
    )
    _close(runtime, closed_id)
    open_id = reply_sent(
        client,
        runtime,
        email="open@example.org",
        message="My calves cramp when they take off fluid.",
    )
    _spam(client)
    with session_scope(runtime.engine) as session:
        session.add(
            RateBucket(key="addr:old@example.org", window_start=int(start.timestamp()), count=3)
        )

    clock.advance(timedelta(days=31))
    output = _run_cli_with_clock(monkeypatch, runtime)
    assert "spam conversations: 1" in output and "closed conversations: 0" in output
    assert "rate limit windows: 2" in output  # the old address's and the hour's automatic mail
    assert _contacts(runtime) == ["closed@example.org", "open@example.org"]

    clock.set(start + timedelta(days=366))
    output = _run_cli_with_clock(monkeypatch, runtime)
    assert "closed conversations: 1" in output
    assert _contacts(runtime) == ["open@example.org"]
    with Session(runtime.engine) as session:
        assert session.get(Conversation, closed_id) is None
        assert session.exec(select(Message).where(Message.conversation_id == closed_id)).all() == []
        kept = session.exec(select(OutboxMail).where(OutboxMail.conversation_id == open_id)).all()
        assert kept and all(m.text_body == "" and m.html_body == "" and m.raw is None for m in kept)
        assert all(m.sent_at is not None for m in kept)  # the record of sending stays
        assert session.get(Conversation, open_id) is not None  # not closed: not purged


def _run_cli_with_clock(monkeypatch, runtime) -> str:
    """`inbox purge`, with the test's frozen clock standing in for the system clock."""
    from inbox import runtime as runtime_module

    original = runtime_module.build_runtime
    monkeypatch.setattr(
        "inbox.privacy.cli.build_runtime",
        lambda settings: original(settings, clock=runtime.clock),
    )
    return _run_cli(monkeypatch, runtime, "purge")


def _conversations(runtime) -> int:
    with Session(runtime.engine) as session:
        return len(session.exec(select(Conversation.id)).all())


def test_the_worker_purges_once_a_day(client, runtime, clock):
    start = clock.now()
    _spam(client)
    clock.advance(timedelta(hours=12))
    _spam(client)
    clock.set(start + timedelta(days=30, hours=6))
    assert purge_job(runtime) > 0
    assert _conversations(runtime) == 1  # the first spam went, the second is 29.75 days old
    clock.advance(timedelta(hours=13))  # the second is past its time too, but today's run is done
    assert purge_job(runtime) == 0
    assert _conversations(runtime) == 1
    clock.set(start + timedelta(days=31, hours=7))
    assert purge_job(runtime) > 0
    assert _conversations(runtime) == 0


def test_purge_leaves_a_conversation_whose_mail_is_being_sent_for_the_next_run(
    client, runtime, clock
):
    from inbox.outbox.claims import claim
    from inbox.privacy.purge import purge
    from tests.followups.support import submit

    conversation_id = submit(client)["conversation_id"]
    draft_new_messages(runtime)  # the acknowledgement is queued
    claim(runtime.engine, owner="busy", now=clock.now(), lease=timedelta(minutes=2), limit=5)
    _close(runtime, conversation_id)
    clock.advance(timedelta(days=400))
    with session_scope(runtime.engine) as session:
        assert (
            purge(session, settings=runtime.settings, now=clock.now())["closed_conversations"] == 0
        )
    with Session(runtime.engine) as session:
        assert session.get(Conversation, conversation_id) is not None


def _gates(runtime) -> int:
    with Session(runtime.engine) as session:
        return len(session.exec(select(LoginGate)).all())


def test_the_daily_purge_drops_sign_in_gates_nobody_used_for_a_day(client, runtime, clock):
    for guess in ("alice@hospital.example", "bob@hospital.example"):  # names tried at random
        sign_in(client, email=guess, password="wrong guess at a password")
    assert _gates(runtime) == 2
    clock.advance(timedelta(hours=20))
    sign_in(client, email="carol@hospital.example", password="another wrong guess")
    with session_scope(runtime.engine) as session:
        purge(session, settings=runtime.settings, now=clock.now())
    assert _gates(runtime) == 3  # none is a day old yet
    clock.advance(timedelta(hours=5))
    with session_scope(runtime.engine) as session:
        counts = purge(session, settings=runtime.settings, now=clock.now())
    assert counts["sign_in_gates"] == 2 and _gates(runtime) == 1  # carol's was tried 5 h ago


@pytest.mark.sqlite_only  # PostgreSQL keeps no word list
def test_purge_takes_the_words_only_purged_messages_had_out_of_the_search_word_list(
    client, runtime, clock
):
    start = clock.now()
    closed_id = reply_sent(
        client, runtime, email="quillfeather@example.org", message="Cramps and zebrafinch dreams."
    )
    _close(runtime, closed_id)
    reply_sent(client, runtime, email="open@example.org", message="Cramps again after dialysis.")

    def words() -> set[str]:
        with runtime.engine.begin() as connection:
            search.index_new_messages(connection)
            return set(connection.exec_driver_sql("SELECT term FROM message_term").scalars())

    assert {"zebrafinch", "quillfeather", "cramps"} <= words()
    with session_scope(runtime.engine) as session:
        purge(session, settings=runtime.settings, now=start + timedelta(days=366))
    left = words()
    assert "zebrafinch" not in left and "quillfeather" not in left
    assert {"cramps", "dialysis", "open"} <= left  # still another message's words
