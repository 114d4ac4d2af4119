"""An urgent message nobody opens: staff are alerted again after INBOX_URGENT_ESCALATE_MINUTES,
then the senior address gets it; opening the conversation (or acting on it) stops both."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.config import Settings
from inbox.notices.escalation import escalation_job
from inbox.worker import draft_new_messages, periodic_jobs
from tests.followups.support import CRAMPS, URGENT, deliver, submit
from tests.staff.factories import csrf_token, make_staff, sign_in

DUTY = "duty-nurse@hospital.example"
SENIOR = "senior-nurse@hospital.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The follow-up tests' settings (real SMTP server, the duty nurse's alerts) and a second
    address for escalations."""
    assert settings.staff_alert_to == DUTY
    return settings.model_copy(update={"escalation_email": SENIOR})


def _subjects(smtp_server, to: str) -> list[str]:
    return [
        str(item.parsed()["Subject"]).strip()
        for item in smtp_server.received
        if item.recipients == [to]
    ]


def _urgent_message(client, runtime, smtp_server) -> int:
    conversation_id = int(submit(client, message=URGENT)["conversation_id"])
    draft_new_messages(runtime)
    deliver(runtime)
    assert len(_subjects(smtp_server, DUTY)) == 1  # the alert at triage
    return conversation_id


def test_unopened_urgent_message_is_alerted_again_then_escalated(
    client, runtime, clock, smtp_server
):
    conversation_id = _urgent_message(client, runtime, smtp_server)

    clock.advance(timedelta(minutes=14))
    assert escalation_job(runtime) == 0  # not yet

    clock.advance(timedelta(minutes=2))
    assert escalation_job(runtime) == 1
    deliver(runtime)
    reminder = _subjects(smtp_server, DUTY)[-1]
    assert reminder.startswith("Still unopened: Urgent message waiting")
    [mail] = [item for item in smtp_server.received if item.recipients == [DUTY]][-1:]
    text = mail.parsed().get_body(("plain",)).get_content()
    assert "nobody on the team has opened this urgent message in the 16 minutes" in " ".join(
        text.split()
    )
    assert f"/inbox/conversations/{conversation_id}" in text
    assert "chest" not in text.lower()  # the patient's words stay out of staff mail
    assert _subjects(smtp_server, SENIOR) == []

    clock.advance(timedelta(minutes=10))
    assert escalation_job(runtime) == 0  # the reminder gets its own 15 minutes
    clock.advance(timedelta(minutes=6))
    assert escalation_job(runtime) == 1
    deliver(runtime)
    [escalated] = _subjects(smtp_server, SENIOR)
    assert escalated.startswith("Escalated, nobody has opened it")

    clock.advance(timedelta(hours=2))
    assert escalation_job(runtime) == 0  # once each, not every tick
    assert escalation_job in periodic_jobs(runtime)


def test_opening_the_conversation_stops_the_reminder(client, runtime, clock, smtp_server):
    conversation_id = _urgent_message(client, runtime, smtp_server)
    staff = make_staff(runtime)
    sign_in(client, email=staff.email)
    clock.advance(timedelta(minutes=5))
    assert client.get(f"/inbox/conversations/{conversation_id}").status_code == 200

    clock.advance(timedelta(minutes=40))
    assert escalation_job(runtime) == 0
    deliver(runtime)
    assert len(_subjects(smtp_server, DUTY)) == 1 and _subjects(smtp_server, SENIOR) == []


def test_assigning_counts_as_opening(client, runtime, clock, smtp_server):
    conversation_id = _urgent_message(client, runtime, smtp_server)
    staff = make_staff(runtime)
    sign_in(client, email=staff.email)
    token = csrf_token(client.get("/inbox").text)  # the list only: the page is not opened
    clock.advance(timedelta(minutes=3))
    assigned = client.post(
        f"/inbox/conversations/{conversation_id}/assign",
        data={"assignee": "me", "csrf_token": token},
    )
    assert assigned.status_code == 303
    clock.advance(timedelta(minutes=40))
    assert escalation_job(runtime) == 0


def test_a_new_message_from_the_patient_starts_the_clock_again(client, runtime, clock, smtp_server):
    _urgent_message(client, runtime, smtp_server)
    clock.advance(timedelta(minutes=16))
    assert escalation_job(runtime) == 1  # the reminder
    clock.advance(timedelta(minutes=5))
    submit(client, message=URGENT + " It is getting worse.")
    draft_new_messages(runtime)
    clock.advance(timedelta(minutes=14))
    assert escalation_job(runtime) == 0  # 14 minutes after the newest message
    clock.advance(timedelta(minutes=2))
    assert escalation_job(runtime) == 1  # a reminder again, not yet the escalation
    deliver(runtime)
    assert _subjects(smtp_server, SENIOR) == []


def test_routine_messages_are_never_escalated(client, runtime, clock, smtp_server):
    submit(client, message=CRAMPS)
    draft_new_messages(runtime)
    clock.advance(timedelta(hours=3))
    assert escalation_job(runtime) == 0


def test_escalation_is_off_at_zero_minutes(client, runtime, clock, smtp_server):
    _urgent_message(client, runtime, smtp_server)
    runtime.settings.urgent_escalate_minutes = 0
    clock.advance(timedelta(hours=1))
    assert escalation_job(runtime) == 0
