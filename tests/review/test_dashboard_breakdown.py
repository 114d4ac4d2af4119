"""The dashboard's breakdowns: first replies by urgency, sections suggested and rated by
patients, the conversation waiting longest, and the CSV download of the figures."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import sqlalchemy as sa

from inbox.conversations.models import Conversation, ConversationState
from inbox.db import session_scope
from inbox.feedback.service import record_answer
from inbox.worker import draft_new_messages
from tests.drafting.support import store_message
from tests.review.test_list import add_conversation, signed_in  # noqa: F401


def table_rows(html: str, testid: str) -> dict[str, list[str]]:
    table = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', html, re.S)
    assert table, f"no table {testid}"
    rows = {}
    for row in re.findall(
        r"<tr><th scope=\"row\">(.*?)</tr>", re.sub(r">\s+<", "><", table.group(0)), re.S
    ):
        head, _, rest = row.partition("</th>")
        cells = [re.sub(r"<[^>]+>", " ", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", rest)]
        rows[unescape(head.strip())] = [" ".join(cell.split()) for cell in cells]
    return rows


def test_first_replies_are_banded_urgent_and_routine_apart(signed_in, runtime):  # noqa: F811
    now = runtime.clock.now()
    add_conversation(
        runtime, at=now - timedelta(hours=2), urgent=True, replied_after=timedelta(minutes=20)
    )
    add_conversation(runtime, at=now - timedelta(days=3), replied_after=timedelta(hours=30))
    add_conversation(runtime, at=now - timedelta(days=3), replied_after=timedelta(hours=2))

    rows = table_rows(signed_in.get("/dashboard").text, "first-reply")

    assert rows["under 1 hour"] == ["1", "0"]
    assert rows["1 to 4 hours"] == ["0", "1"]
    assert rows["1 to 2 days"] == ["0", "1"]
    assert rows["over 7 days"] == ["0", "0"]


def test_sections_show_how_often_they_were_suggested_and_what_patients_answered(
    signed_in,  # noqa: F811
    runtime,
):
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        first = store_message(session, settings=runtime.settings, now=now)
        store_message(session, settings=runtime.settings, now=now, email="b@example.org")
    draft_new_messages(runtime)
    section = runtime.knowledge.section("fluid-removal-too-fast")
    with session_scope(runtime.engine) as session:
        record_answer(
            session, message_id=first.message_id, section_id=section.id, helpful=True, now=now
        )
        record_answer(
            session, message_id=first.message_id + 1, section_id=section.id, helpful=False, now=now
        )
        record_answer(
            session, message_id=first.message_id + 2, section_id=section.id, helpful=True, now=now
        )

    page = signed_in.get("/dashboard").text
    rows = table_rows(page, "by-section")

    assert rows[section.title] == ["2", "2 (67%)", "1"]
    assert "3 answers" in page


def test_the_conversation_waiting_longest_is_named_and_linked(signed_in, runtime):  # noqa: F811
    now = runtime.clock.now()
    add_conversation(runtime, at=now - timedelta(hours=1), urgent=True)
    oldest = add_conversation(runtime, at=now - timedelta(days=2, hours=3))

    page = signed_in.get("/dashboard").text
    figure = re.search(r'data-testid="oldest-waiting">(.*?)</div>', page, re.S).group(1)

    assert f'href="/inbox/conversations/{oldest}"' in figure
    assert "2 days ago" in figure


def test_the_figures_download_as_csv_without_patient_details(signed_in, runtime):  # noqa: F811
    now = runtime.clock.now()
    add_conversation(
        runtime, at=now - timedelta(hours=3), name="Ann Patient", email="ann@example.org",
        replied_after=timedelta(minutes=30),
    )  # fmt: skip

    response = signed_in.get("/dashboard.csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="inbox-dashboard-2026-03-02.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["figure", "group", "item", "value"]
    assert ["messages per day", "", "2026-03-02", "1"] in rows
    assert ["first replies", "routine", "under 1 hour", "1"] in rows
    assert ["median time to first reply (s)", "", "", "1800"] in rows
    assert "Ann" not in response.text and "example.org" not in response.text
    assert "cramp" not in response.text.lower()


def test_the_csv_needs_sign_in(client):
    assert client.get("/dashboard.csv").status_code == 303


def test_conversations_are_counted_by_kind(signed_in, runtime):  # noqa: F811
    now = runtime.clock.now()
    billing = [add_conversation(runtime, at=now - timedelta(days=2)) for _ in range(2)]
    add_conversation(runtime, at=now - timedelta(hours=5))  # clinical, the default
    add_conversation(runtime, at=now - timedelta(days=1), state=ConversationState.SPAM)
    add_conversation(runtime, at=now - timedelta(days=45))  # before the window
    with session_scope(runtime.engine) as session:
        session.execute(
            sa.update(Conversation).where(Conversation.id.in_(billing)).values(kind="billing")
        )

    page = signed_in.get("/dashboard").text
    rows = {
        re.sub(r"<[^>]+>", "", key): value for key, value in table_rows(page, "by-kind").items()
    }

    assert rows == {
        "Clinical question": ["1"], "Appointment": ["0"], "Billing": ["2"], "Thanks": ["0"],
        "Other": ["0"],
    }  # fmt: skip
    assert 'href="/inbox?tab=all&amp;kind=billing"' in page
    csv_rows = list(csv.reader(io.StringIO(signed_in.get("/dashboard.csv").text)))
    assert ["conversations by kind", "", "Billing", "2"] in csv_rows
