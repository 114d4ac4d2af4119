"""Export then erase: the JSON holds everything about the address; afterwards nothing about it is
left but the audit line (the address by a keyed hash). The same for admins in the web inbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from inbox.cli import app as cli
from inbox.conversations.models import ConversationTag, PhoneCall
from inbox.db import session_scope
from inbox.drafting.models import Note
from inbox.followups.delivery import send_due_follow_ups
from inbox.privacy.rights import address_key
from inbox.schema import metadata
from inbox.staff.models import AuditEntry
from inbox.worker import draft_new_messages
from tests.followups.support import CRAMPS, EMAIL, deliver, reply_sent, staff_member
from tests.staff.factories import csrf_token, make_staff, sign_in

OTHER = "linda@example.net"
NAME = "Karim Haddad"


def a_whole_history(client, runtime, clock) -> int:
    """Karim: message (with his phone number), acknowledgement, reply, follow-up sent, a staff
    note, a logged call and a tag; and Linda's message."""
    conversation_id = reply_sent(client, runtime, phone="020 7946 0018")
    with session_scope(runtime.engine) as session:
        note = "Called Karim back about his cramps."
        author = staff_member(runtime).id
        session.add(
            Note(
                conversation_id=conversation_id, staff_id=author, body=note, created_at=clock.now()
            )
        )
        session.add(
            PhoneCall(
                conversation_id=conversation_id, staff_id=author, at=clock.now(),
                outcome="reached", note="Karim's calves are better since the new dry weight.",
            )
        )  # fmt: skip
        session.add(ConversationTag(conversation_id=conversation_id, tag="karims-tag"))
    clock.advance(timedelta(days=7))
    send_due_follow_ups(runtime)
    deliver(runtime)
    reply_sent(
        client, runtime, email=OTHER, name="Linda Morales", message="Mum cramps at the end too."
    )
    return conversation_id


def everything_in_the_database(runtime) -> str:
    """Every row of every table (and SQLite's search index), as one lower-case text."""
    rows = []
    with runtime.engine.connect() as connection:
        for table in metadata().sorted_tables:
            if table.name == "audit_entry":
                continue
            rows += [repr(tuple(row)) for row in connection.execute(sa.select(table))]
        if connection.dialect.name == "sqlite":
            rows += [
                repr(tuple(r)) for r in connection.exec_driver_sql("SELECT * FROM message_fts")
            ]
    return "\n".join(rows).lower()


def _cli(monkeypatch, runtime, *args: str, input: str | None = None):  # noqa: A002
    monkeypatch.setenv("INBOX_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("INBOX_SECRET_KEY", runtime.settings.secret_key)
    return CliRunner().invoke(cli, list(args), input=input)


def test_export_then_erase_leaves_nothing_but_the_audit_line(
    client, runtime, clock, monkeypatch, tmp_path
):
    a_whole_history(client, runtime, clock)
    output = tmp_path / "karim.json"
    result = _cli(monkeypatch, runtime, "export", EMAIL.upper(), "--output", str(output))
    assert result.exit_code == 0, result.output
    data = json.loads(output.read_text())
    assert data["email"] == EMAIL and data["contact"]["name"] == NAME
    [conversation] = data["conversations"]
    assert conversation["messages"][0]["body"] == CRAMPS
    assert {mail["kind"] for mail in conversation["mails"]} == {
        "acknowledgement",
        "reply",
        "follow_up",
    }
    assert all(mail["attempts"] for mail in conversation["mails"])
    assert conversation["drafts"] and conversation["notes"][0]["body"].startswith("Called Karim")
    assert conversation["follow_ups"][0]["state"] == "sent"
    assert conversation["messages"][0]["phone"] == "+44 20 7946 0018"
    assert [call["outcome"] for call in conversation["phone_calls"]] == ["reached"]
    assert conversation["tags"] == ["karims-tag"]
    assert OTHER not in output.read_text()

    assert _cli(monkeypatch, runtime, "erase", EMAIL, input="n\n").exit_code != 0  # asks first
    assert "karim" in everything_in_the_database(runtime)
    result = _cli(monkeypatch, runtime, "erase", EMAIL, input="y\n")
    assert result.exit_code == 0, result.output
    assert "messages: 1" in result.output

    held = everything_in_the_database(runtime)
    for trace in (EMAIL, "karim", "calf muscles cramp", "called karim back", "7946", "dry weight"):
        assert trace not in held
    assert OTHER in held  # nobody else's data went
    with Session(runtime.engine) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.target_type == "address")).all()
    assert [(e.action, e.actor) for e in entries] == [
        ("privacy export", "cli"),
        ("privacy erase", "cli"),
    ]
    assert entries[1].target_id == address_key(runtime.settings.secret_key, EMAIL)
    assert all("karim" not in f"{e.target_id} {e.detail}".lower() for e in entries)

    again = _cli(monkeypatch, runtime, "export", EMAIL)
    assert json.loads(again.output)["conversations"] == []


def test_an_unsubscribed_address_stays_suppressed_after_erase(
    client, runtime, clock, monkeypatch, settings
):
    from inbox.followups.service import is_suppressed
    from inbox.followups.unsubscribe import make_legacy_token

    a_whole_history(client, runtime, clock)
    client.post(f"/unsubscribe/{make_legacy_token(settings, EMAIL)}")
    assert _cli(monkeypatch, runtime, "erase", EMAIL, "--yes").exit_code == 0
    with Session(runtime.engine) as session:
        assert is_suppressed(session, EMAIL)
    held = everything_in_the_database(runtime)
    assert held.count(EMAIL) == 1 and "karim haddad" not in held


def test_admins_export_and_erase_in_the_web_inbox(client, runtime, clock):
    a_whole_history(client, runtime, clock)
    make_staff(runtime, email="admin@hospital.example", admin=True)
    sign_in(client, email="admin@hospital.example")
    page = client.get("/admin/privacy")
    assert page.status_code == 200 and "Privacy requests" in page.text
    token = csrf_token(page.text)

    assert (
        client.post("/admin/privacy", data={"action": "export", "email": EMAIL}).status_code == 403
    )
    export = client.post(
        "/admin/privacy", data={"action": "export", "email": EMAIL, "csrf_token": token}
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/json")
    assert "attachment" in export.headers["content-disposition"]
    assert export.json()["conversations"][0]["messages"][0]["body"] == CRAMPS

    mismatch = {"action": "erase", "email": EMAIL, "confirm": OTHER, "csrf_token": token}
    assert client.post("/admin/privacy", data=mismatch).status_code == 422
    assert "karim" in everything_in_the_database(runtime)
    erase = client.post("/admin/privacy", data={**mismatch, "confirm": EMAIL})
    assert erase.status_code == 200 and "was erased" in erase.text
    assert "karim" not in everything_in_the_database(runtime)
    if runtime.sqlite:
        assert b"karim" not in _files_of(runtime.settings.database_url.removeprefix("sqlite:///"))
    with Session(runtime.engine) as session:
        actions = [
            (e.actor, e.action)
            for e in session.exec(select(AuditEntry).where(AuditEntry.target_type == "address"))
        ]
    assert actions == [
        ("admin@hospital.example", "privacy export"),
        ("admin@hospital.example", "privacy erase"),
    ]


def test_only_admins_reach_the_privacy_page(client, runtime):
    assert client.get("/admin/privacy").status_code == 303  # signed out: to the login page
    make_staff(runtime, email="nurse@hospital.example")
    sign_in(client, email="nurse@hospital.example")
    assert client.get("/admin/privacy").status_code == 403
    token = csrf_token(client.get("/follow-ups").text)
    refused = client.post(
        "/admin/privacy",
        data={"action": "erase", "email": EMAIL, "confirm": EMAIL, "csrf_token": token},
    )
    assert refused.status_code == 403


def test_erase_waits_while_a_mail_to_the_address_is_in_a_workers_hands(client, runtime, clock):
    from datetime import timedelta as delta

    from inbox.errors import Conflict
    from inbox.outbox.claims import claim
    from inbox.privacy.rights import erase_address
    from tests.followups.support import submit

    submit(client)
    draft_new_messages(runtime)
    [claimed] = claim(
        runtime.engine, owner="busy", now=clock.now(), lease=delta(minutes=2), limit=5
    )
    with session_scope(runtime.engine) as session:
        with pytest.raises(Conflict):
            erase_address(session, email=EMAIL, actor="cli", now=clock.now(), secret_key="k")
        session.rollback()
    assert "karim" in everything_in_the_database(runtime)  # nothing was erased


@pytest.mark.sqlite_only  # PostgreSQL's dead rows are the operator's VACUUM (docs/privacy.md)
def test_erase_leaves_nothing_readable_in_the_database_files(client, runtime, clock, monkeypatch):
    """Deleted rows linger in SQLite's free pages and in its write-ahead log unless overwritten;
    an erased person's words must not be found by reading the files. (PostgreSQL: docs/.)"""
    a_whole_history(client, runtime, clock)
    from inbox.review.search import index_job

    index_job(runtime)  # the search index holds the words too
    path = runtime.settings.database_url.removeprefix("sqlite:///")
    assert b"calf muscles cramp" in _files_of(path)
    result = _cli(monkeypatch, runtime, "erase", EMAIL, "--yes")
    assert result.exit_code == 0, result.output

    on_disk = _files_of(path).lower()
    for trace in (EMAIL, "karim", "calf muscles cramp", "called karim back"):
        assert trace.encode() not in on_disk, trace
    assert OTHER.encode() in on_disk  # the other person's data is still there


def _files_of(path: str) -> bytes:
    from pathlib import Path

    return b"".join(
        Path(path + suffix).read_bytes()
        for suffix in ("", "-wal", "-journal")
        if Path(path + suffix).exists()
    )
