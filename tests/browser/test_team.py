"""Team work in a real browser: assigning from the conversation page at phone width, and a
bulk close from the list with its one confirmation; axe on each page."""

from __future__ import annotations

import pytest

from tests.review.test_list import add_conversation
from tests.staff.factories import PASSWORD, make_staff

pytestmark = pytest.mark.browser


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), f"the page is {width} px wide"


def test_assign_to_me_at_phone_width_then_find_it_under_mine(
    phone_page, live_server, runtime, browser_sign_in, assert_no_serious_axe_violations
):
    from playwright.sync_api import expect

    conversation = add_conversation(runtime, subject="Cramps <b>at night</b>", urgent=True)
    make_staff(runtime, email="ben@hospital.example")
    staff = make_staff(runtime, email="anna@hospital.example")
    browser_sign_in(phone_page, live_server.url, email=staff.email, password=PASSWORD)
    phone_page.goto(f"{live_server.url}/inbox/conversations/{conversation}")
    owner = phone_page.get_by_test_id("owner").first
    expect(owner).to_have_text("Nobody is assigned to it.")
    _fits(phone_page)
    assert_no_serious_axe_violations(phone_page)

    phone_page.get_by_role("button", name="Assign to me").click()
    expect(
        phone_page.get_by_role("status").filter(has_text="The conversation's owner was changed.")
    ).to_be_visible()
    expect(owner).to_have_text("Assigned to anna@hospital.example (you).")
    phone_page.get_by_label("Assign to a colleague").select_option(label="ben@hospital.example")
    phone_page.get_by_role("button", name="Assign", exact=True).click()
    expect(owner).to_have_text("Assigned to ben@hospital.example.")

    phone_page.goto(f"{live_server.url}/inbox?tab=mine")
    expect(phone_page.locator("ol.conversations > li")).to_have_count(0)
    phone_page.get_by_role("link", name="Unassigned").click()
    expect(phone_page.get_by_text("Nothing here.")).to_be_visible()
    _fits(phone_page)
    assert_no_serious_axe_violations(phone_page)


def test_bulk_close_with_one_confirmation(
    page, live_server, runtime, browser_sign_in, assert_no_serious_axe_violations
):
    from playwright.sync_api import expect

    first = add_conversation(runtime, subject="First question")
    second = add_conversation(runtime, subject="Second question")
    add_conversation(runtime, subject="Stays open")
    staff = make_staff(runtime)
    browser_sign_in(page, live_server.url, email=staff.email, password=PASSWORD)
    page.goto(f"{live_server.url}/inbox")
    page.get_by_label("Choose: First question").check()
    page.get_by_label("Choose: Second question").check()
    page.get_by_label("Do").select_option("close")
    page.get_by_role("button", name="Continue…").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Close 2 conversations?")
    expect(page.get_by_test_id("bulk-list")).to_contain_text("First question")
    assert_no_serious_axe_violations(page)
    page.get_by_role("button", name="Yes, close 2").click()

    expect(page.get_by_test_id("bulk-done")).to_have_text("2 conversations closed.")
    rows = page.locator("ol.conversations > li")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Stays open")
    assert {first, second}.isdisjoint(
        int(item) for item in rows.evaluate_all("els => els.map(e => e.dataset.conversation)")
    )
