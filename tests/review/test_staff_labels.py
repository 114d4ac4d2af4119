"""Staff's final decisions kept as labels: at approval and close, with what triage suggested;
read back for training, counted on the dashboard, erased with the patient's data."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlmodel import Session, col, select

from inbox.db import session_scope
from inbox.drafting.labels import labelled_messages
from inbox.drafting.models import TriageLabel
from inbox.privacy.rights import erase_address
from inbox.worker import draft_new_messages
from tests.followups.support import approve, staff_member, submit
from tests.staff.factories import csrf_token, sign_in

FLUID = "fluid-removal-too-fast"
SODIUM = "low-sodium-dialysate"
CRAMPS = "My calves cramp in the last hour of dialysis. They take 4 litres off me. Too fast?"
POSSIBLE = "My potassium was 6.3 this morning. Should I worry before my next session?"
THANKS = "Thank you for your answer last week, it helped a lot."


@pytest.fixture
def signed_in(client, runtime):
    staff = staff_member(runtime)
    assert sign_in(client, email=staff.email).status_code == 303
    return client


def act(client, conversation_id: int, action: str, **fields) -> None:
    """Post one of the conversation page's forms as a browser would."""
    page = client.get(f"/inbox/conversations/{conversation_id}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    data = {"csrf_token": csrf_token(page), **fields}
    if version and action == "sections":
        data["version"] = version.group(1)
    response = client.post(f"/inbox/conversations/{conversation_id}/{action}", data=data)
    assert response.status_code == 303, response.text


def labels(runtime) -> list[TriageLabel]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(TriageLabel).order_by(col(TriageLabel.id))))


def figure(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">(.*?)</div>', html, re.S)
    assert found, testid
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def test_final_decisions_are_kept_as_labels_and_the_dashboard_counts_them(
    signed_in, runtime, clock
):
    lowered = submit(signed_in, message=POSSIBLE, email="a@example.org")["conversation_id"]
    changed = submit(signed_in, message=CRAMPS, email="b@example.org")["conversation_id"]
    raised = submit(signed_in, message=THANKS, email="c@example.org")["conversation_id"]
    draft_new_messages(runtime)

    act(signed_in, lowered, "urgency", urgency="routine", reason="An old result, she says.")
    act(signed_in, changed, "sections", section_ids=[FLUID, SODIUM])
    act(signed_in, raised, "urgency", urgency="urgent", reason="Her husband rang: he fainted.")
    clock.advance(timedelta(minutes=5))
    approve(runtime, lowered)
    approve(runtime, changed)
    act(signed_in, raised, "close")

    staff = staff_member(runtime)
    rows = {row.conversation_id: row for row in labels(runtime)}
    assert (rows[lowered].suggested_urgency, rows[lowered].urgency) == ("possible", "routine")
    assert rows[lowered].section_ids == rows[lowered].suggested_section_ids
    assert rows[changed].suggested_section_ids == [FLUID]
    assert sorted(rows[changed].section_ids) == [FLUID, SODIUM]
    assert (rows[raised].decision, rows[raised].urgency) == ("closed", "urgent")
    assert {row.decided_by_id for row in rows.values()} == {staff.id}
    assert {row.decided_at for row in rows.values()} == {clock.now()}

    page = signed_in.get("/dashboard").text
    assert "kept at approval 50% (1 of 2 replies approved" in figure(page, "sections-kept")
    assert "by staff 1 raised, 1 lowered (of 3 messages" in figure(page, "urgency-overrides")


def test_training_reads_the_newest_decision_of_each_message(signed_in, runtime, clock):
    conversation_id = submit(signed_in, message=POSSIBLE)["conversation_id"]
    draft_new_messages(runtime)
    act(signed_in, conversation_id, "sections", section_ids=[SODIUM])
    approve(runtime, conversation_id)  # left a possible emergency: counts as urgent
    clock.advance(timedelta(minutes=20))
    act(signed_in, conversation_id, "urgency", urgency="routine", reason="An old result.")
    act(signed_in, conversation_id, "close")
    assert [(row.decision, row.urgency) for row in labels(runtime)] == [
        ("approved", "possible"),
        ("closed", "routine"),
    ]
    with Session(runtime.engine) as session:
        [label] = labelled_messages(session)
    assert label.text == POSSIBLE and label.urgent is False and label.sections == {SODIUM}


def test_erasing_an_address_erases_its_labels(signed_in, runtime):
    conversation_id = submit(signed_in, message=CRAMPS)["conversation_id"]
    draft_new_messages(runtime)
    approve(runtime, conversation_id)
    with session_scope(runtime.engine) as session:
        counts = erase_address(
            session, email="karim.h@example.com", actor="admin", now=runtime.clock.now(),
            secret_key=runtime.settings.secret_key,
        )  # fmt: skip
    assert counts["labels"] == 1 and labels(runtime) == []
