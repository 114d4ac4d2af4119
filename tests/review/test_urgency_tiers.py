"""The "check now" tier: a possible emergency, or a message the engine cannot read, goes to the
top of the inbox with its reasons and its language, and staff are alerted as for urgent ones."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlmodel import Session, select

from inbox.inbound.models import InboundSource
from inbox.inbound.process import process_pending
from inbox.inbound.store import store_inbound
from inbox.outbox.models import MailKind
from inbox.staff.models import AuditEntry
from inbox.worker import draft_new_messages
from tests.followups.conftest import settings  # noqa: F401  (the real SMTP server, alerts on)
from tests.followups.support import deliver, mails, submit
from tests.inbound.support import plain_mail
from tests.smtp import SmtpServer
from tests.staff.factories import csrf_token, make_staff, sign_in

ROUTINE = "Why do my calves cramp in the last hour of dialysis? They take a lot of fluid off."
POSSIBLE = "My potassium was 6.3 this morning. Should I worry before my next session?"
RUSSIAN = "Моя мама после диализа очень слабая и не может встать с кровати, что нам делать?"
SERVICE = "patient-service@kidney-hospital.example"
_ROW = re.compile(r'<li class="conversation[^"]*" data-conversation="(\d+)">(.*?)</li>\n', re.S)


@pytest.fixture
def signed_in(client, runtime):
    staff = make_staff(runtime)
    assert sign_in(client, email=staff.email).status_code == 303
    return client


def inbox_rows(client) -> dict[int, str]:
    """The review list's rows in order: conversation id -> the row's text."""
    page = client.get("/inbox")
    assert page.status_code == 200
    return {
        int(found.group(1)): " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(2))).split())
        for found in _ROW.finditer(page.text)
    }


def routine_then(client, clock, message: str) -> tuple[int, int]:
    """A routine conversation, then half an hour later one with `message`: their ids."""
    routine = submit(client, message=ROUTINE, email="ann@example.org")["conversation_id"]
    clock.advance(timedelta(minutes=30))  # the routine one has waited longer
    other = submit(client, message=message, email="bo@example.org")["conversation_id"]
    return routine, other


def alerts(smtp_server: SmtpServer) -> list[str]:
    """Subject and plain text of each staff alert received."""
    return [
        f"{item.parsed()['Subject']}\n"
        + " ".join(item.parsed().get_body(("plain",)).get_content().split())
        for item in smtp_server.received
        if item.recipients == ["duty-nurse@hospital.example"]
    ]


def test_possible_emergency_sorts_above_routine_with_its_reasons_and_alerts_staff(
    signed_in, runtime, clock, smtp_server
):
    routine, possible = routine_then(signed_in, clock, POSSIBLE)
    draft_new_messages(runtime)

    rows = inbox_rows(signed_in)
    assert list(rows) == [possible, routine]
    assert "Possible emergency: check now" in rows[possible]
    assert "raised potassium: “potassium was 6.3”" in rows[possible]
    assert "check now" not in rows[routine].lower() and "Why:" not in rows[routine]

    assert len(mails(runtime, MailKind.STAFF_ALERT)) == 1  # none for the routine message
    deliver(runtime)
    [alert] = alerts(smtp_server)
    assert alert.startswith("Possible emergency, check now")
    assert f"http://testserver/inbox/conversations/{possible}" in alert
    assert "raised potassium" in alert and "6.3" not in alert  # no patient words
    page = signed_in.get(f"/inbox/conversations/{possible}").text
    assert "Possible emergency: check now." in page and "not sure this is an emergency" in page


def test_a_message_the_engine_cannot_read_needs_a_reader_and_is_never_routine(
    signed_in, runtime, clock, smtp_server
):
    routine, unread = routine_then(signed_in, clock, RUSSIAN)
    draft_new_messages(runtime)

    rows = inbox_rows(signed_in)
    assert list(rows) == [unread, routine]
    assert "Needs a reader: check now" in rows[unread]
    assert "Russian, needs a reader" in rows[unread]
    assert "English" in rows[routine] and "needs a reader" not in rows[routine]

    page = signed_in.get(f"/inbox/conversations/{unread}").text
    assert "Language: <strong>Russian</strong> (needs a reader)" in page
    assert "written in Russian, which the triage cannot read" in page
    deliver(runtime)
    [alert] = alerts(smtp_server)
    assert alert.startswith("Possible emergency, check now")
    assert "needs a reader (Russian)" in alert
    assert "диализа" not in alert


def test_the_urgency_reasons_on_the_list_are_escaped(signed_in, runtime):
    hostile = "My <b>potassium</b> was 6.3 today <script>alert(1)</script>"
    conversation_id = submit(signed_in, message=hostile)["conversation_id"]
    draft_new_messages(runtime)
    page = signed_in.get("/inbox").text
    row = page.split(f'data-conversation="{conversation_id}"', 1)[1].split("</li>", 1)[0]
    assert "“potassium&lt;/b&gt; was 6.3”" in row  # the quote of the reason, escaped
    assert "</b>" not in row and "<script>" not in page


def test_staff_mark_a_possible_emergency_not_urgent_with_a_reason(signed_in, runtime, clock):
    routine, possible = routine_then(signed_in, clock, POSSIBLE)
    draft_new_messages(runtime)
    url = f"/inbox/conversations/{possible}/urgency"
    page = signed_in.get(f"/inbox/conversations/{possible}").text
    token = csrf_token(page)

    assert signed_in.post(url, data={"urgency": "routine", "reason": "x"}).status_code == 403
    refused = signed_in.post(url, data={"csrf_token": token, "urgency": "routine", "reason": " "})
    assert refused.status_code == 422 and "Please say why" in refused.text
    assert list(inbox_rows(signed_in)) == [possible, routine]  # nothing changed

    reason = "Phoned her: the 6.3 was <b>last month</b>, today it is 5.1."
    done = signed_in.post(url, data={"csrf_token": token, "urgency": "routine", "reason": reason})
    assert done.status_code == 303
    assert list(inbox_rows(signed_in)) == [routine, possible]  # now by waiting time only
    page = signed_in.get(done.headers["location"]).text
    assert "Not urgent, as staff decided. The triage had found: raised potassium" in page
    assert "Marked not urgent: Phoned her: the 6.3 was &lt;b&gt;last month&lt;/b&gt;" in page
    with Session(runtime.engine) as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "urgency")).all()
    assert entry.target_id == str(possible) and entry.detail == "possible -> routine"


def test_an_email_nobody_here_can_read_alerts_staff_once_naming_its_language_not_its_words(
    runtime,
):
    raw = plain_mail(sender="olga@example.org", to=SERVICE, subject="мама", text=RUSSIAN)
    store_inbound(
        runtime.engine, raw=raw, source=InboundSource.PIPE, envelope_from="olga@example.org",
        recipients=[SERVICE], now=runtime.clock.now(),
    )  # fmt: skip
    while process_pending(runtime):
        pass
    [alert] = mails(runtime, MailKind.STAFF_ALERT)  # at the first look, before any draft
    assert "needs a reader (Russian)" in alert.text_body  # staff know which reader to find
    assert "please check it now" in " ".join(alert.text_body.split())  # a possible emergency
    assert "диализа" not in alert.text_body and "мама" not in alert.subject + alert.text_body
    draft_new_messages(runtime)
    draft_new_messages(runtime)
    assert [mail.id for mail in mails(runtime, MailKind.STAFF_ALERT)] == [alert.id]  # not again
