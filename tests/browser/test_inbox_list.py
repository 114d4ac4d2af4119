"""The inbox list, failed mail and dashboard in a real browser: phone width, axe, escaping."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from inbox.conversations.models import ConversationState
from tests.review.test_list import add_conversation
from tests.review.test_list_failures import add_mail
from tests.staff.factories import PASSWORD, make_staff

pytestmark = pytest.mark.browser


@pytest.fixture
def inbox_data(runtime) -> dict[str, int]:
    now = runtime.clock.now()
    sections = [section.id for section in runtime.knowledge.sections()[:3]]
    return {
        "urgent": add_conversation(
            runtime,
            subject="Chest pain during dialysis",
            urgent=True,
            name="Karim Haddad",
            at=now - timedelta(hours=2),
            section_ids=sections[:1],
        ),
        "long": add_conversation(
            runtime,
            name="Maria-Fernanda Gonzalez-Rodriguez de la Vega",
            subject="Cramps" + "x" * 120,  # one very long word must wrap, not overflow
            body="Near the end of every session my calf goes hard. " * 20,
            at=now - timedelta(days=3),
            section_ids=sections,
        ),
        "script": add_conversation(
            runtime,
            subject="<script>window.pwned = 1</script>",
            name="<img src=x onerror=window.pwned=2>",
            body="<b>bold?</b>",
            at=now - timedelta(days=1),
        ),
        "failed": add_conversation(runtime, state=ConversationState.FAILED, at=now),
    }


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"the page is {width} px wide in a {viewport} px viewport"


def test_inbox_list_fits_a_375px_phone_and_passes_axe(
    phone_page,
    live_server,
    runtime,
    inbox_data,
    browser_sign_in,
    assert_no_serious_axe_violations,
    tmp_path,
):
    from playwright.sync_api import expect

    staff = make_staff(runtime)
    browser_sign_in(phone_page, live_server.url, email=staff.email, password=PASSWORD)
    phone_page.goto(f"{live_server.url}/inbox")
    phone_page.screenshot(path=str(tmp_path / "inbox-375.png"), full_page=True)

    _fits(phone_page)
    first = phone_page.locator("ol.conversations > li").first
    expect(first.get_by_role("heading", level=3)).to_have_text("Chest pain during dialysis")
    expect(phone_page.get_by_role("link", name="Needs review")).to_have_attribute(
        "aria-current", "page"
    )
    expect(phone_page.get_by_text("<script>window.pwned = 1</script>")).to_be_visible()
    assert phone_page.evaluate("window.pwned") is None
    assert_no_serious_axe_violations(phone_page)


def test_search_and_tabs_work_with_the_keyboard(
    page, live_server, runtime, inbox_data, browser_sign_in
):
    from playwright.sync_api import expect

    staff = make_staff(runtime)
    browser_sign_in(page, live_server.url, email=staff.email, password=PASSWORD)
    page.goto(f"{live_server.url}/inbox")
    page.get_by_label("Search by name, e-mail, subject or text").fill("haddad")
    page.keyboard.press("Enter")

    rows = page.locator("ol.conversations > li")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Karim Haddad")
    tabs = page.get_by_role("navigation", name="Conversations by state")
    tabs.get_by_role("link", name=re.compile("^Failed")).focus()
    page.keyboard.press("Enter")
    expect(tabs.get_by_role("link", name=re.compile("^Failed"))).to_have_attribute(
        "aria-current", "page"
    )
    expect(rows).to_have_count(0)  # the search stays: nobody called Haddad has failed mail


@pytest.mark.parametrize("path", ["/outbox/failures", "/dashboard"])
def test_failures_and_dashboard_fit_a_phone_and_pass_axe(
    phone_page,
    live_server,
    runtime,
    inbox_data,
    browser_sign_in,
    assert_no_serious_axe_violations,
    path,
    tmp_path,
):
    add_mail(
        runtime, conversation_id=inbox_data["failed"], reason="550 5.1.1 " + "no-such-user" * 8
    )
    staff = make_staff(runtime)
    browser_sign_in(phone_page, live_server.url, email=staff.email, password=PASSWORD)
    phone_page.goto(live_server.url + path)
    phone_page.screenshot(path=str(tmp_path / "page-375.png"), full_page=True)

    _fits(phone_page)
    assert_no_serious_axe_violations(phone_page)
