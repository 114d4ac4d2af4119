"""Editing a reply: the box holds paragraphs, the mail keeps its design, the preview shows the
exact mail, and "Approve and send" sends what the box holds (or refuses, saying why)."""

from __future__ import annotations

import html as html_lib
import re

from sqlmodel import Session, select

from inbox.db import session_scope
from inbox.outbox.models import OutboxMail
from inbox.outbox.service import enqueue_mail
from tests.drafting.support import URGENT
from tests.review.test_conversation import (
    REPLIES,
    audit_actions,
    draft,
    page_of,
    post,
    signed_in,  # noqa: F401 (a fixture)
    stored,
    version_in,
)

LONG = (
    "Cramps at the end of a session often mean that fluid came off faster than the muscles "
    "could keep up with, and there is a lot your team can change about that."
)
EDITED = (
    "Dear Karim,\n\n" + LONG + "\n\n## What to ask your team\n\n"
    "Ask about your dry weight: https://www.kidney-hospital.example/dry-weight.html\n\n"
    "Kind wishes, Anna"
)


def text_box(html: str) -> str:
    found = re.search(r'<textarea id="text"[^>]*>(.*?)</textarea>', html, re.S)
    assert found, "the page has no text box"
    return html_lib.unescape(found.group(1))


def test_the_text_box_holds_paragraphs_and_only_the_mail_is_wrapped(signed_in, runtime):  # noqa: F811
    conversation_id = stored(runtime)
    box = text_box(page_of(signed_in, conversation_id))
    assert any(len(line) > 100 for line in box.splitlines())  # a paragraph is one line
    assert "Kidney Disease Hospital" not in box and "Your message:" not in box  # no layout

    html = page_of(signed_in, conversation_id)
    response = post(
        signed_in, conversation_id, "draft", html, version=version_in(html), subject="Re",
        text=EDITED,
    )  # fmt: skip
    assert response.status_code == 303

    assert text_box(page_of(signed_in, conversation_id)) == EDITED
    sent_text = draft(runtime, conversation_id).text_body
    assert LONG not in sent_text and " ".join(sent_text.split()).count(LONG) == 1
    assert max(len(line) for line in sent_text.splitlines() if "https://" not in line) <= 78


def test_an_edited_urgent_reply_keeps_the_emergency_box_headings_and_links(signed_in, runtime):  # noqa: F811
    conversation_id = stored(runtime, message=URGENT, subject="help")
    html = page_of(signed_in, conversation_id)
    post(
        signed_in, conversation_id, "draft", html, version=version_in(html), subject="Re",
        text=EDITED + "\n\n<script>alert(1)</script>",
    )  # fmt: skip

    saved = draft(runtime, conversation_id)
    mail = saved.html_body
    assert mail.index("Please read this first") < mail.index("Dear Karim")  # the emergency box
    assert "go to the nearest emergency department" in mail
    assert re.search(r"<h2[^>]*>What to ask your team</h2>", mail)
    assert '<a href="https://www.kidney-hospital.example/dry-weight.html"' in mail
    assert "Kind regards" in mail and "Your message:" in mail  # footer and the quoted question
    assert "&lt;script&gt;" in mail and "<script>" not in mail
    assert "What to ask your team" in saved.text_body and "## " not in saved.text_body


def test_the_preview_shows_both_parts_of_the_unsaved_edit(signed_in, runtime):  # noqa: F811
    conversation_id = stored(runtime, message=URGENT, subject="help")
    html = page_of(signed_in, conversation_id)

    as_html = post(signed_in, conversation_id, "preview", html, subject="Re", text=EDITED)
    as_text = post(
        signed_in, conversation_id, "preview", html, subject="Re", text=EDITED, part="text"
    )

    assert as_html.status_code == as_text.status_code == 200
    assert "What to ask your team</h2>" in as_html.text
    assert "Please read this first" in as_html.text
    assert as_text.headers["content-type"].startswith("text/plain")
    assert "What to ask your team" in as_text.text and "Your message:" in as_text.text
    assert draft(runtime, conversation_id).body != EDITED  # a preview saves nothing


def test_approve_sends_the_text_in_the_box_even_when_it_was_not_saved(signed_in, runtime):  # noqa: F811
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)

    response = post(
        signed_in, conversation_id, "approve", html, version=version_in(html),
        subject="About your cramps", text=EDITED,
    )  # fmt: skip

    assert response.status_code == 303
    with Session(runtime.engine) as session:
        (mail,) = session.exec(REPLIES).all()
        assert mail.subject == "About your cramps"
        assert "What to ask your team" in mail.text_body and "Kind wishes, Anna" in mail.html_body
    assert audit_actions(runtime)[-2:] == ["edit", "approve"]


def test_approve_with_a_text_someone_else_changed_meanwhile_sends_nothing(signed_in, runtime):  # noqa: F811
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)
    version = version_in(html)
    post(signed_in, conversation_id, "draft", html, version=version, subject="Re", text="First.")

    refused = post(
        signed_in, conversation_id, "approve", html, version=version, subject="Re",
        text="Second nurse's words.",
    )  # fmt: skip

    assert refused.status_code == 409
    assert "Someone else changed this draft" in refused.text
    assert "Second nurse&#39;s words." in refused.text  # still in the box
    with Session(runtime.engine) as session:
        assert session.exec(select(OutboxMail).where(OutboxMail.kind == "reply")).first() is None


def test_approve_with_an_empty_box_refuses_with_the_reason(signed_in, runtime):  # noqa: F811
    conversation_id = stored(runtime)
    html = page_of(signed_in, conversation_id)

    refused = post(
        signed_in, conversation_id, "approve", html, version=version_in(html), subject="Re",
        text="  ",
    )  # fmt: skip

    assert refused.status_code == 422 and "Please enter the text of the reply" in refused.text
    with Session(runtime.engine) as session:
        assert session.exec(REPLIES).first() is None


def test_the_preview_names_the_subject_the_mail_will_really_have(signed_in, runtime):  # noqa: F811
    conversation_id = stored(runtime)
    with session_scope(runtime.engine) as session:
        now = runtime.clock.now()
        enqueue_mail(
            session, settings=runtime.settings, kind="reply", recipient="karim.h@example.com",
            subject="Your leg cramps", text="Hello", html="<p>Hello</p>",
            conversation_id=conversation_id, automatic=False, send_after=now, now=now,
        )  # fmt: skip

    page = page_of(signed_in, conversation_id)

    shown = re.search(r'data-testid="preview-subject">([^<]*)<', page)
    assert shown and shown.group(1) == "Re: Your leg cramps"
    assert "kept so that the patient's mail program shows the mails together" in page
