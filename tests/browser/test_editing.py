"""Editing and approving a reply in Chromium, with the worker sending to a real aiosmtpd server:
what the nurse types is what the patient gets, saved or not, in the reply's own design."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_review_flow import (  # noqa: F401 (fixtures)
    URGENT_CRAMPS,
    Site,
    approve_and_send,
    sign_in,
    site,
)

pytestmark = pytest.mark.browser

TYPED = (
    "Dear Mrs Okafor,\n\nPlease call 999 now about the chest pain, then tell the dialysis team "
    "how much fluid came off today. Typed by nurse 5190 and never saved.\n\n"
    "## Before the next session\n\nWrite down your weight before and after."
)


def test_approve_without_saving_sends_the_typed_text_in_the_designed_mail(
    page: Page,
    site: Site,  # noqa: F811
    sign_in,  # noqa: F811
) -> None:
    conversation_id = site.store(
        email="okafor@example.com", name="Grace Okafor", message=URGENT_CRAMPS, subject="father"
    )
    sign_in(page, site)
    page.goto(f"{site.url}/inbox/conversations/{conversation_id}")
    box = page.get_by_label("Text", exact=True)
    expect(box).to_have_value(re.compile(r"^Dear Grace Okafor,\n\n"))  # paragraphs, no layout

    box.fill(TYPED)
    preview = page.frame_locator("iframe.preview")
    expect(preview.locator("h2", has_text="Before the next session")).to_be_visible()
    expect(preview.locator("body")).to_contain_text("Please read this first")  # emergency box
    page.get_by_text("Plain-text part").click()
    expect(page.get_by_test_id("preview-text")).to_contain_text("never saved")
    approve_and_send(page)  # no "Save the draft" first

    site.smtp.wait_for(1, timeout=20, predicate=lambda: bool(site.replies_to("okafor@example.com")))
    (mail,) = site.replies_to("okafor@example.com")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "never saved" in " ".join(text.split()) and "never saved" in html
    assert "please read this first" in text.lower() and "Please read this first" in html
    assert re.search(r"<h2[^>]*>Before the next session</h2>", html)
    assert "Kind regards" in text and "Your message:" in text
    assert max(len(line) for line in text.splitlines()) <= 78  # wrapped when the mail was built


def test_approving_a_typed_text_someone_else_overtook_sends_nothing_and_says_so(
    page: Page,
    phone_page: Page,
    site: Site,  # noqa: F811
    sign_in,  # noqa: F811
) -> None:
    conversation_id = site.store(email="okafor@example.com", message=URGENT_CRAMPS, subject="x")
    for screen in (page, phone_page):
        sign_in(screen, site)
        screen.goto(f"{site.url}/inbox/conversations/{conversation_id}")
    page.get_by_label("Text", exact=True).fill("Dear Grace,\n\nThe first nurse's answer.")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_be_visible()

    phone_page.get_by_label("Text", exact=True).fill("Dear Grace,\n\nThe second nurse's answer.")
    phone_page.get_by_role("button", name="Approve and send").click()

    expect(phone_page.get_by_role("alert").first).to_contain_text("Someone else changed")
    expect(phone_page.get_by_label("Text", exact=True)).to_have_value(re.compile("second nurse"))
    assert site.replies_to("okafor@example.com") == []
