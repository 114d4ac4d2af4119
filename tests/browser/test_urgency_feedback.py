"""Staff correct the triage in a real browser: a possible emergency at the top of the inbox is
read, marked not urgent with a reason, and drops to its place by waiting time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from inbox.db import session_scope
from inbox.worker import draft_new_messages
from tests.drafting.support import store_message

pytestmark = pytest.mark.browser

POSSIBLE = "My potassium was 6.3 this morning. Should I worry before my next session?"
ROUTINE = "Why do my calves cramp in the last hour of dialysis? They take a lot of fluid off."


def _store(runtime, *, email: str, message: str) -> int:
    with session_scope(runtime.engine) as session:
        receipt = store_message(
            session, settings=runtime.settings, now=runtime.clock.now(), email=email,
            message=message, subject="a question",
        )  # fmt: skip
    return receipt.conversation_id


def test_staff_mark_a_possible_emergency_not_urgent_with_a_reason(
    page, staff_login, runtime, clock, assert_no_serious_axe_violations
):
    routine = _store(runtime, email="ann@example.org", message=ROUTINE)
    clock.advance(timedelta(minutes=30))
    possible = _store(runtime, email="bo@example.org", message=POSSIBLE)
    draft_new_messages(runtime)

    page.goto(staff_login.url("/inbox"))
    rows = page.locator("ol.conversations > li")
    expect(rows.first).to_have_attribute("data-conversation", str(possible))
    expect(rows.first.get_by_test_id("tier")).to_have_text("Possible emergency: check now")
    expect(rows.first.get_by_test_id("language")).to_have_text("English")
    rows.first.get_by_role("link").click()

    expect(page.get_by_test_id("urgency")).to_contain_text("raised potassium")
    assert_no_serious_axe_violations(page)
    reason = "Rang her: the 6.3 was last month, <b>fine</b> now."
    page.get_by_label(re.compile("^Reason")).fill(reason)
    page.get_by_role("button", name="Mark not urgent").click()

    expect(page.locator(".alert.success")).to_contain_text("The urgency was changed")
    expect(page.get_by_test_id("urgency")).to_contain_text("Not urgent, as staff decided")
    expect(page.locator(".notes")).to_contain_text(f"Marked not urgent: {reason}")
    expect(page.get_by_role("button", name="Mark urgent")).to_be_visible()

    page.goto(staff_login.url("/inbox"))
    expect(rows.first).to_have_attribute("data-conversation", str(routine))
    expect(page.get_by_test_id("tier")).to_have_count(0)
