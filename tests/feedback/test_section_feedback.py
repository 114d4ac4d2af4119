"""'Did this help?': each section of a reply carries a signed link; opening it records nothing,
the page's button records the answer, with no sign-in and no tracking."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from inbox.db import session_scope
from inbox.drafting.models import Draft
from inbox.feedback.links import make_token
from inbox.feedback.models import SectionFeedback
from inbox.worker import draft_new_messages
from tests.drafting.support import store_message

LINK = re.compile(
    r"Did this part help you\? Yes:\s+http://testserver(/feedback/[\w.-]+)\?answer=yes"
)


@pytest.fixture
def drafted(runtime) -> Draft:
    with session_scope(runtime.engine) as session:
        store_message(session, settings=runtime.settings, now=runtime.clock.now())
    draft_new_messages(runtime)
    with Session(runtime.engine) as session:
        draft = session.exec(select(Draft)).one()
    assert draft.section_ids, "the cramps message should get suggested sections"
    return draft


def answers(runtime) -> list[tuple[int, str, bool]]:
    with Session(runtime.engine) as session:
        rows = session.exec(select(SectionFeedback).order_by(SectionFeedback.id)).all()
        return [(row.message_id, row.section_id, row.helpful) for row in rows]


def test_every_section_of_the_reply_has_its_own_link_in_both_parts(drafted):
    links = LINK.findall(drafted.text_body)
    assert len(links) == len(drafted.section_ids) == len(set(links))
    for path in links:
        assert f"http://testserver{path}?answer=yes" in drafted.html_body
        assert f"http://testserver{path}?answer=no" in drafted.html_body
    assert "<img" not in drafted.html_body  # no tracking pixel


def test_opening_the_link_records_nothing_and_the_button_records_the_answer(
    client, runtime, drafted
):
    path = LINK.findall(drafted.text_body)[0]
    page = client.get(f"{path}?answer=yes")  # what a mail scanner does, too
    assert page.status_code == 200
    assert "Did this part of our reply help you?" in page.text
    assert 'name="helpful" value="yes"' in page.text and 'name="helpful" value="no"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in page.headers
    assert answers(runtime) == []

    done = client.post(path, data={"helpful": "yes"})
    assert done.status_code == 200 and "Thank you" in done.text
    assert answers(runtime) == [(drafted.message_id, drafted.section_ids[0], True)]

    changed = client.post(path, data={"helpful": "no"})  # a change of mind replaces the answer
    assert "did not help you" in changed.text
    assert answers(runtime) == [(drafted.message_id, drafted.section_ids[0], False)]


@pytest.mark.parametrize("change", ["cut", "forged", "other-section"])
def test_an_altered_link_records_nothing(client, runtime, drafted, change):
    path = LINK.findall(drafted.text_body)[0]
    token = path.removeprefix("/feedback/")
    if change == "cut":
        token = token[:-4]
    elif change == "forged":
        forged = runtime.settings.model_copy(update={"secret_key": "another secret " * 4})
        token = make_token(forged, message_id=drafted.message_id, section_id="x")
    else:  # the payload of another section with this link's signature
        other = make_token(runtime.settings, message_id=drafted.message_id + 1, section_id="y")
        token = other.split(".")[0] + "." + token.split(".")[1]

    assert client.get(f"/feedback/{token}").status_code == 400
    response = client.post(f"/feedback/{token}", data={"helpful": "yes"})
    assert response.status_code == 400 and "This link does not work" in response.text
    assert answers(runtime) == []


def test_an_answer_that_is_neither_yes_nor_no_is_asked_again(client, runtime, drafted):
    path = LINK.findall(drafted.text_body)[0]
    response = client.post(path, data={"helpful": "maybe"})
    assert response.status_code == 422 and "Please choose Yes or No." in response.text
    assert answers(runtime) == []
