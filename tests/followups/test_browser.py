"""In a real browser: the staff list of follow-ups (send one now) and the patient's unsubscribe
page on a phone, both without serious accessibility problems."""

from __future__ import annotations

import pytest

from inbox.followups.unsubscribe import make_legacy_token
from tests.followups.support import EMAIL, follow_ups, reply_sent

pytestmark = pytest.mark.browser


def test_staff_send_a_follow_up_now_from_the_list(
    client, runtime, live_server, page, staff_login, assert_no_serious_axe_violations, tmp_path
):
    from playwright.sync_api import expect

    conversation_id = reply_sent(client, runtime)
    page.goto(staff_login.url("/follow-ups"))
    expect(page.get_by_role("heading", name="Upcoming follow-ups")).to_be_visible()
    expect(page.get_by_role("cell", name=EMAIL)).to_be_visible()
    assert_no_serious_axe_violations(page)
    page.screenshot(path=str(tmp_path / "follow-ups.png"), full_page=True)
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("status")).to_contain_text("queued for sending now")
    assert follow_ups(runtime, conversation_id)[0].state == "sent"


def test_unsubscribe_on_a_phone(
    live_server, phone_page, settings, assert_no_serious_axe_violations, tmp_path
):
    from playwright.sync_api import expect

    phone_page.goto(f"{live_server.url}/unsubscribe/{make_legacy_token(settings, EMAIL)}")
    expect(phone_page.get_by_role("heading", name="Stop automatic e-mails?")).to_be_visible()
    assert_no_serious_axe_violations(phone_page)
    phone_page.get_by_role("button", name="Yes, stop automatic e-mails").click()
    expect(phone_page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    assert_no_serious_axe_violations(phone_page)
    phone_page.screenshot(path=str(tmp_path / "unsubscribed.png"), full_page=True)
