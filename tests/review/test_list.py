"""The inbox list: tabs by state, urgent first then the longest waiting, keyset pages, escaping."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from inbox.conversations.models import Contact, Conversation, ConversationState, Message
from inbox.db import session_scope
from inbox.drafting.models import Draft
from inbox.review import queries
from tests.staff.factories import csrf_token, make_staff, sign_in

CONTACT = Contact.__table__
CONVERSATION = Conversation.__table__
MESSAGE = Message.__table__
DRAFT = Draft.__table__
_ROW = re.compile(r'<h3><a href="/inbox/conversations/(\d+)">')


def add_conversation(
    runtime,
    *,
    subject: str = "Cramps near the end",
    body: str = "My calves cramp in the last hour of dialysis.",
    name: str = "Ann Patient",
    email: str | None = None,
    state: str = ConversationState.REVIEW,
    urgent: bool = False,
    at: datetime | None = None,
    section_ids: list[str] | None = None,
    replied_after: timedelta | None = None,
) -> int:
    """One contact, conversation and message (and a draft when `section_ids`), committed."""
    at = at or runtime.clock.now()
    with session_scope(runtime.engine) as session:
        count = session.execute(sa.select(sa.func.count()).select_from(CONTACT)).scalar_one()
        email = email or f"patient{count}@example.org"
        contact_id = session.execute(
            sa.insert(CONTACT).values(email=email, name=name, created_at=at).returning(CONTACT.c.id)
        ).scalar_one()
        conversation_id = session.execute(
            sa.insert(CONVERSATION)
            .values(
                contact_id=contact_id,
                subject=subject,
                state=state,
                urgent=urgent,
                created_at=at,
                updated_at=at,
                last_message_at=at,
                first_reply_at=at + replied_after if replied_after is not None else None,
            )
            .returning(CONVERSATION.c.id)
        ).scalar_one()
        message_id = session.execute(
            sa.insert(MESSAGE)
            .values(
                conversation_id=conversation_id,
                contact_id=contact_id,
                name=name,
                email=email,
                subject=subject,
                body=body,
                received_at=at,
                fingerprint=f"fp{conversation_id}",
                urgent=urgent,
                status="spam" if state == ConversationState.SPAM else "accepted",
            )
            .returning(MESSAGE.c.id)
        ).scalar_one()
        if section_ids is not None:
            session.execute(
                sa.insert(DRAFT).values(
                    conversation_id=conversation_id,
                    message_id=message_id,
                    suggested=[],
                    section_ids=section_ids,
                    urgent=urgent,
                    urgency_reasons=[],
                    subject="Your message",
                    text_body="Dear…",
                    html_body="<p>Dear…</p>",
                    created_at=at,
                    updated_at=at,
                )
            )
    return conversation_id


def listed_ids(html: str) -> list[int]:
    """The conversation ids in the order the page lists them."""
    return [int(found) for found in _ROW.findall(html)]


def search_link(client, query: str, *, tab: str | None = None) -> str:
    """Post a search from the list as staff do; the results link (the words never in a URL)."""
    data = {"q": query, "csrf_token": csrf_token(client.get("/inbox").text)}
    if tab:
        data["tab"] = tab
    posted = client.post("/inbox/search", data=data)
    assert posted.status_code == 303, posted.text[:300]
    location = posted.headers["location"]
    assert all(word not in location for word in query.split() if len(word) > 3), location
    return location


def searched(client, query: str, *, tab: str | None = None):
    """The results page of a search posted from the list."""
    return client.get(search_link(client, query, tab=tab))


def next_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', html)
    return unescape(found.group(1)) if found else None


@pytest.fixture
def signed_in(client, runtime):
    """The test client, signed in as a staff member."""
    staff = make_staff(runtime)
    assert sign_in(client, email=staff.email).status_code == 303
    return client


def test_signed_out_visitor_is_sent_to_login(client):
    response = client.get("/inbox")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_review_tab_lists_urgent_first_then_longest_waiting(signed_in, runtime):
    now = runtime.clock.now()
    old = add_conversation(runtime, at=now - timedelta(days=3))
    newer = add_conversation(runtime, at=now - timedelta(hours=1))
    urgent_new = add_conversation(runtime, urgent=True, at=now - timedelta(minutes=5))
    urgent_old = add_conversation(runtime, urgent=True, at=now - timedelta(hours=5))
    add_conversation(runtime, state=ConversationState.SENT, at=now - timedelta(days=9))

    page = signed_in.get("/inbox")

    assert page.status_code == 200
    assert listed_ids(page.text) == [urgent_old, urgent_new, old, newer]
    assert 'aria-current="page">Needs review' in page.text


def test_each_tab_shows_only_its_conversations(signed_in, runtime):
    now = runtime.clock.now()
    made = {}
    for index, state in enumerate(ConversationState):
        for urgent in (False, True):
            made[(state, urgent)] = add_conversation(
                runtime, state=state, urgent=urgent, at=now - timedelta(minutes=index * 2 + urgent)
            )
    tabs = {  # tab: (state, only urgent); "all": every state
        "review": ("review", False),
        "urgent": ("review", True),
        "queued": ("queued", False),
        "sent": ("sent", False),
        "failed": ("failed", False),
        "spam": ("spam", False),
        "closed": ("closed", False),
        "all": (None, False),
    }
    assert set(tabs) == {tab.slug for tab in queries.TABS if tab.owner is None}  # by state
    for slug, (state, only_urgent) in tabs.items():
        expected = {
            ident
            for (each, urgent), ident in made.items()
            if state in (None, each) and (urgent or not only_urgent)
        }

        page = signed_in.get(f"/inbox?tab={slug}")

        assert page.status_code == 200
        assert set(listed_ids(page.text)) == expected, slug
        assert f'aria-current="page">{queries.TABS_BY_SLUG[slug].label}' in page.text


def test_other_tabs_list_newest_first(signed_in, runtime):
    now = runtime.clock.now()
    ids = [
        add_conversation(
            runtime,
            state=ConversationState.SENT,
            urgent=index % 2 == 0,
            at=now - timedelta(hours=index),
        )
        for index in range(5)
    ]
    assert listed_ids(signed_in.get("/inbox?tab=sent").text) == ids


@pytest.mark.parametrize("tab", ["review", "sent", "urgent", "all"])
def test_pages_list_every_conversation_exactly_once(signed_in, runtime, tab):
    now = runtime.clock.now()
    state = ConversationState.SENT if tab == "sent" else ConversationState.REVIEW
    expected = []
    for index in range(57):
        # equal times on purpose: the id breaks ties, nothing is skipped or repeated
        at = now - timedelta(minutes=index // 3)
        urgent = tab == "urgent" or index % 4 == 0
        expected.append(add_conversation(runtime, state=state, urgent=urgent, at=at))

    seen, link, pages = [], "/inbox?tab=" + tab, 0
    while link:
        page = signed_in.get(link)
        assert page.status_code == 200
        seen += listed_ids(page.text)
        link, pages = next_link(page.text), pages + 1

    assert pages == 3  # 25 + 25 + 7
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))


def test_row_shows_name_excerpt_age_and_suggested_sections(signed_in, runtime):
    section = runtime.knowledge.sections()[0]
    add_conversation(
        runtime,
        name="Karim Haddad",
        subject="Cramps",
        body="Line one.\n\nLine   two " * 40,
        at=runtime.clock.now() - timedelta(hours=3),
        section_ids=[section.id],
    )

    page = signed_in.get("/inbox").text

    assert "Karim Haddad" in page
    assert "Line one. Line two Line one." in page  # one line, whitespace folded
    assert "…" in page  # the long text is cut
    assert "3 hours ago" in page
    assert section.title in unescape(page)


def test_latest_message_gives_the_excerpt(signed_in, runtime):
    conversation_id = add_conversation(runtime, body="The first question.")
    with session_scope(runtime.engine) as session:
        session.execute(
            sa.insert(MESSAGE).values(
                conversation_id=conversation_id,
                name="Ann",
                email="a@example.org",
                subject="Re",
                body="A later question.",
                received_at=runtime.clock.now() + timedelta(minutes=1),
                fingerprint="later",
            )
        )
    page = signed_in.get("/inbox").text
    assert "A later question." in page
    assert "The first question." not in page


def test_script_in_a_subject_is_shown_as_text(signed_in, runtime):
    add_conversation(
        runtime,
        subject="<script>alert(1)</script>",
        name="<b>Eve</b>",
        body="<img src=x onerror=alert(2)>",
    )
    page = signed_in.get("/inbox").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Eve</b>" not in page and "<img src=x" not in page


@pytest.mark.parametrize("after", ["nonsense", "MXwyMDI2fDE", "%00"])
def test_a_broken_page_link_is_a_clear_400(signed_in, after):
    page = signed_in.get("/inbox", params={"after": after})
    assert page.status_code == 400
    assert "page link is not valid" in page.text


def test_unknown_tab_is_404(signed_in):
    assert signed_in.get("/inbox?tab=everything").status_code == 404


def test_tab_counts_show_what_waits(signed_in, runtime):
    for urgent in (True, False, False):
        add_conversation(runtime, urgent=urgent)
    add_conversation(runtime, state=ConversationState.FAILED)
    page = signed_in.get("/inbox").text
    assert re.search(r"Needs review <span class=\"count\">\(3", page)
    assert re.search(r"Urgent <span class=\"count\">\(1", page)
    assert re.search(r"Failed <span class=\"count\">\(1", page)


def test_tab_counts_stop_at_the_cap(runtime):
    for _ in range(4):
        add_conversation(runtime, urgent=True)
    with session_scope(runtime.engine) as session:
        capped = queries.tab_counts(session, cap=2)
        whole = queries.tab_counts(session, cap=9)
    assert capped == {"review": 3, "urgent": 3, "failed": 0, "mine": 0, "unassigned": 3}
    assert whole == {"review": 4, "urgent": 4, "failed": 0, "mine": 0, "unassigned": 4}
