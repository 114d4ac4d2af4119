"""A team's shared inbox: owners (me, a colleague, nobody) with the tabs Mine and Unassigned,
kinds and tags with their filters, the call log, and bulk actions behind one confirmation;
every change in the audit log."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from inbox.conversations.models import Conversation, ConversationState
from inbox.db import session_scope
from inbox.review import search
from inbox.staff.models import AuditEntry
from tests.review.test_list import add_conversation, listed_ids, searched
from tests.staff.factories import csrf_token, make_staff, sign_in


@pytest.fixture
def nurse(client, runtime):
    staff = make_staff(runtime, email="anna@hospital.example")
    assert sign_in(client, email=staff.email).status_code == 303
    return staff


@pytest.fixture
def colleague(runtime):
    return make_staff(runtime, email="ben@hospital.example")


def _post(client, path: str, **data):
    data["csrf_token"] = csrf_token(client.get("/inbox").text)
    return client.post(path, data=data)


def _state(runtime, conversation_id: int) -> str:
    with session_scope(runtime.engine) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        return found.state


def _audit(runtime, action: str) -> list[tuple[str, str | None, str | None]]:
    with session_scope(runtime.engine) as session:
        rows = session.execute(
            sa.select(AuditEntry.actor, AuditEntry.target_id, AuditEntry.detail)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(row) for row in rows]


def test_assign_to_me_puts_it_in_mine_and_out_of_unassigned(client, runtime, nurse):
    mine = add_conversation(runtime, subject="Mine now")
    other = add_conversation(runtime, subject="Still open")
    assert set(listed_ids(client.get("/inbox?tab=unassigned").text)) == {mine, other}
    assert listed_ids(client.get("/inbox?tab=mine").text) == []

    response = _post(client, f"/inbox/conversations/{mine}/assign", assignee="me")
    assert response.status_code == 303

    assert listed_ids(client.get("/inbox?tab=mine").text) == [mine]
    assert listed_ids(client.get("/inbox?tab=unassigned").text) == [other]
    page = client.get(f"/inbox/conversations/{mine}").text
    assert "Assigned to <strong>anna@hospital.example</strong> (you)" in page
    assert "assign (to anna@hospital.example)" in page  # the page's history
    assert _audit(runtime, "assign") == [
        ("anna@hospital.example", str(mine), "to anna@hospital.example")
    ]
    listing = client.get("/inbox").text
    assert "Owner: anna@hospital.example" in listing and "Unassigned" in listing


def test_assign_to_a_colleague_and_back_to_nobody(client, runtime, nurse, colleague):
    conversation = add_conversation(runtime)
    _post(client, f"/inbox/conversations/{conversation}/assign", assignee=str(colleague.id))
    assert listed_ids(client.get("/inbox?tab=mine").text) == []  # Ben's, not mine
    assert (
        "Assigned to <strong>ben@hospital.example</strong>."
        in client.get(f"/inbox/conversations/{conversation}").text
    )
    _post(client, f"/inbox/conversations/{conversation}/assign", assignee="nobody")
    assert listed_ids(client.get("/inbox?tab=unassigned").text) == [conversation]
    assert [detail for _, _, detail in _audit(runtime, "assign")] == [
        "to ben@hospital.example",
        "to nobody",
    ]


def test_assigning_to_someone_unknown_or_inactive_is_refused(client, runtime, nurse):
    conversation = add_conversation(runtime)
    gone = make_staff(runtime, email="left@hospital.example", active=False)
    for value in (str(gone.id), "999999", "x1"):
        response = _post(client, f"/inbox/conversations/{conversation}/assign", assignee=value)
        assert response.status_code in (404, 422), value
    assert listed_ids(client.get("/inbox?tab=unassigned").text) == [conversation]


def test_mine_lists_failed_replies_too_urgent_first(client, runtime, nurse):
    now = runtime.clock.now()
    old = add_conversation(runtime, at=now - timedelta(hours=3))
    failed = add_conversation(runtime, state=ConversationState.FAILED, at=now - timedelta(hours=2))
    urgent = add_conversation(runtime, urgent=True, at=now - timedelta(hours=1))
    sent = add_conversation(runtime, state=ConversationState.SENT)
    for conversation in (old, failed, urgent, sent):
        _post(client, f"/inbox/conversations/{conversation}/assign", assignee="me")
    page = client.get("/inbox?tab=mine").text
    assert listed_ids(page) == [urgent, old, failed]
    assert re.search(r"Mine <span class=\"count\">\(3\)", page)


def _bulk(client, *ids: int, action: str, confirmed: bool, **extra: str):
    data = {"action": action, "ids": [str(i) for i in ids], "back": "/inbox?tab=review", **extra}
    if confirmed:
        data["confirmed"] = "yes"
    data["csrf_token"] = csrf_token(client.get("/inbox").text)
    return client.post("/inbox/bulk", data=data)


def test_bulk_close_asks_once_then_closes_every_one(client, runtime, nurse):
    first = add_conversation(runtime, subject="First question")
    second = add_conversation(runtime, subject="Second <b>question</b>")
    untouched = add_conversation(runtime, subject="Left alone")

    asked = _bulk(client, first, second, action="close", confirmed=False)
    assert asked.status_code == 200
    assert "Close 2 conversations?" in asked.text
    assert "First question" in asked.text and "Second &lt;b&gt;question&lt;/b&gt;" in asked.text
    assert _state(runtime, first) == ConversationState.REVIEW  # nothing happened yet

    done = _bulk(client, first, second, action="close", confirmed=True)
    assert done.status_code == 303
    assert done.headers["location"].startswith("/inbox?tab=review&done=close&count=2")
    listing = client.get(done.headers["location"]).text
    assert "2 conversations closed." in listing
    assert listed_ids(listing) == [untouched]
    assert {target for _, target, _ in _audit(runtime, "close")} == {str(first), str(second)}


def test_bulk_spam_skips_what_cannot_be_discarded(client, runtime, nurse):
    open_one = add_conversation(runtime)
    closed = add_conversation(runtime, state=ConversationState.CLOSED)
    done = _bulk(client, open_one, closed, action="spam", confirmed=True)
    listing = unescape(client.get(done.headers["location"]).text)
    assert "1 conversation marked as spam. 1 could not be" in listing
    assert _state(runtime, open_one) == ConversationState.SPAM
    assert _state(runtime, closed) == ConversationState.CLOSED


def test_bulk_assign_to_a_colleague(client, runtime, nurse, colleague):
    ids = [add_conversation(runtime) for _ in range(3)]
    asked = _bulk(client, *ids, action="assign", confirmed=False, assignee=str(colleague.id))
    assert "Assign 3 conversations to ben@hospital.example?" in asked.text
    _bulk(client, *ids, action="assign", confirmed=True, assignee=str(colleague.id))
    assert listed_ids(client.get("/inbox?tab=unassigned").text) == []
    details = [detail for _, _, detail in _audit(runtime, "assign")]
    assert details == ["to ben@hospital.example, bulk"] * 3


def test_bulk_without_a_choice_says_what_is_missing(client, runtime, nurse):
    add_conversation(runtime)
    for data in ({"action": "close"}, {"action": "explode", "ids": ["1"]}, {"ids": ["x"]}):
        data["csrf_token"] = csrf_token(client.get("/inbox").text)
        response = client.post("/inbox/bulk", data=data)
        assert response.status_code == 422, data
        assert "Nothing was changed" in response.text


def test_bulk_back_link_stays_on_the_inbox(client, runtime, nurse):
    conversation = add_conversation(runtime)
    done = _bulk(
        client, conversation, action="close", confirmed=True, back="https://evil.example/inbox"
    )
    assert done.headers["location"].startswith("/inbox?done=close")


def test_kind_and_tags_filter_the_list(client, runtime, nurse):
    bill = add_conversation(runtime, subject="My invoice")
    clinical = add_conversation(runtime, subject="Cramps")
    _post(client, f"/inbox/conversations/{bill}/kind", kind="billing")
    _post(client, f"/inbox/conversations/{clinical}/tags", tags="Dietitian, interpreter, dietitian")

    assert listed_ids(client.get("/inbox?kind=billing").text) == [bill]
    assert listed_ids(client.get("/inbox?kind=clinical").text) == [clinical]
    assert listed_ids(client.get("/inbox?tag=interpreter").text) == [clinical]
    assert listed_ids(client.get("/inbox?tag=nobody-uses-this").text) == []
    page = client.get(f"/inbox/conversations/{clinical}").text
    assert 'value="dietitian, interpreter"' in page
    listing = client.get("/inbox").text
    assert "#dietitian" in listing and ">Billing<" in listing
    assert client.get(f"/inbox/conversations/{bill}").text.count("Billing, as staff chose") == 1
    assert _audit(runtime, "kind") == [("anna@hospital.example", str(bill), "clinical -> billing")]


def test_a_strange_kind_or_too_many_tags_are_refused(client, runtime, nurse):
    conversation = add_conversation(runtime)
    assert _post(client, f"/inbox/conversations/{conversation}/kind", kind="x").status_code == 422
    many = ", ".join(f"tag{index}" for index in range(11))
    refused = _post(client, f"/inbox/conversations/{conversation}/tags", tags=many)
    assert refused.status_code == 422 and "at most 10 tags" in refused.text
    assert client.get("/inbox?kind=<script>").status_code == 200


def test_call_log_records_who_phoned_and_how_it_went(client, runtime, nurse):
    conversation = add_conversation(runtime)
    logged = _post(
        client, f"/inbox/conversations/{conversation}/calls", outcome="voicemail",
        note="Asked her to call the unit <back>",
    )  # fmt: skip
    assert logged.status_code == 303
    page = client.get(f"/inbox/conversations/{conversation}").text
    assert "<strong>Left a voicemail</strong>" in page
    assert "Asked her to call the unit &lt;back&gt;" in page
    assert "anna@hospital.example" in page.split('data-testid="calls"')[1].split("</ul>")[0]
    refused = _post(client, f"/inbox/conversations/{conversation}/calls", outcome="maybe")
    assert refused.status_code == 422 and "how the call went" in refused.text


def test_search_words_never_appear_in_a_url(client, runtime, nurse):
    karim = add_conversation(runtime, name="Karim Haddad", subject="Cramps")
    add_conversation(runtime, name="Linda Morales", subject="Weight")
    page = searched(client, "Haddad")
    assert listed_ids(page.text) == [karim]
    assert "Haddad" not in str(page.url)
    links = re.findall(r'href="([^"]+)"', page.text)
    assert links and not [link for link in links if "Haddad" in link or "q=" in link]
    assert 'value="Haddad"' in page.text  # the box still shows what was searched


def test_a_kept_search_is_its_owner_s_only_and_expires(client, runtime, clock, nurse):
    add_conversation(runtime, name="Karim Haddad")
    page = searched(client, "Karim")
    kept = re.search(r"search=([\w-]+)", str(page.url)).group(1)
    colleague = make_staff(runtime, email="ben@hospital.example")
    client.cookies.clear()
    sign_in(client, email=colleague.email)
    theirs = client.get(f"/inbox?search={kept}").text
    assert "That search has expired" in theirs and 'value="Karim"' not in theirs

    clock.advance(search.SEARCH_KEPT_FOR + timedelta(minutes=1))
    client.cookies.clear()
    sign_in(client, email="anna@hospital.example")
    assert "That search has expired" in client.get(f"/inbox?search={kept}").text
    assert search.expire_kept_searches(runtime) == 1
