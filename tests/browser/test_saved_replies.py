"""Saved replies in Chromium: an admin adds one (and is told what is wrong with a bad one), a
nurse inserts it into a draft, sees it in the preview, approves, and the aiosmtpd sink gets it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_review_flow import Site, approve_and_send, site  # noqa: F401 (a fixture)
from tests.browser_fixtures import sign_in_through_the_form
from tests.drafting.support import UNRELATED
from tests.staff.factories import PASSWORD, make_staff

pytestmark = pytest.mark.browser


def test_an_admin_saves_a_reply_and_a_nurse_sends_it_filled_in(
    page: Page,
    site: Site,  # noqa: F811
    assert_no_serious_axe_violations,
) -> None:
    make_staff(site.runtime, email="admin@hospital.example", admin=True)
    conversation_id = site.store(
        email="karim@example.com", name="Karim Haddad", message=UNRELATED, subject="invoice"
    )
    sign_in_through_the_form(  # the site's own clock makes the admin's code
        page, site.url, email="admin@hospital.example", password=PASSWORD, runtime=site.runtime
    )
    page.get_by_role("link", name="Saved replies").click()
    page.get_by_label("Title").fill("Billing office")
    page.get_by_label("Text").fill("Dear {{ patient }},\n\nThe billing office opens at 9.")
    page.get_by_role("button", name="Add the saved reply").click()
    expect(page.locator("#body-error")).to_contain_text("there is no field “patient”")
    page.get_by_label("Text").fill(
        "Dear {{ name }},\n\nThe billing office of {{ hospital_name }} opens at 9 on weekdays."
    )
    page.get_by_role("button", name="Add the saved reply").click()
    expect(page.get_by_role("status").filter(has_text="was added")).to_be_visible()
    assert_no_serious_axe_violations(page)

    page.goto(f"{site.url}/inbox/conversations/{conversation_id}")
    page.get_by_label("Saved reply").select_option(label="Billing office")
    page.get_by_role("button", name="Insert into the text").click()
    box = page.get_by_label("Text", exact=True)
    expect(box).to_have_value(re.compile(r"Dear Karim Haddad,\n\nThe billing office of .+ at 9"))
    expect(page.get_by_text("not saved yet").first).to_be_visible()
    box.press("End")
    box.type(" ")  # the preview follows the box as the nurse types
    preview = page.frame_locator("iframe.preview")
    expect(preview.locator("body")).to_contain_text("opens at 9 on weekdays")
    approve_and_send(page)

    site.smtp.wait_for(1, timeout=20, predicate=lambda: bool(site.replies_to("karim@example.com")))
    (mail,) = site.replies_to("karim@example.com")
    text = " ".join(mail.get_body(("plain",)).get_content().split())
    assert "The billing office of" in text and "opens at 9 on weekdays" in text
    assert "[STAFF" not in text
