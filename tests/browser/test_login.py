"""Signing in and out in a real browser; the staff account pages pass axe and fit a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.staff.factories import PASSWORD, make_staff

pytestmark = pytest.mark.browser


@pytest.fixture
def nurse(runtime):
    return make_staff(runtime, email="nurse@hospital.example")


def test_wrong_password_shows_an_error_next_to_the_form(page, live_server, nurse):
    page.goto(f"{live_server.url}/login")
    page.get_by_label("E-mail address").fill(nurse.email)
    page.get_by_label("Password").fill("this is not it")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("not right")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_label("Password")).to_have_attribute("aria-describedby", "signin-error")
    expect(page.get_by_label("E-mail address")).to_have_value(nurse.email)


def test_right_password_reaches_the_inbox(page, live_server, nurse, browser_sign_in):
    browser_sign_in(page, live_server.url, email=nurse.email, password=PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/inbox")


def test_the_keyboard_alone_signs_in(page, live_server, nurse):
    page.goto(f"{live_server.url}/login")
    expect(page.get_by_label("E-mail address")).to_be_focused()
    page.keyboard.type(nurse.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/inbox")


def test_a_login_post_without_csrf_token_is_rejected(page, live_server, nurse):
    page.goto(f"{live_server.url}/login")
    page.evaluate("() => document.querySelector('input[name=csrf_token]').remove()")
    page.get_by_label("E-mail address").fill(nurse.email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()

    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("expired")
    assert not [c for c in page.context.cookies() if c["name"] == "inbox_session"]


def test_a_signed_in_post_without_csrf_token_is_rejected(page, staff_login):
    page.goto(staff_login.url("/account/password"))
    page.evaluate(
        "() => document.querySelectorAll('input[name=csrf_token]').forEach(input => input.remove())"
    )
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign out").click()

    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("reload the page")
    page.goto(staff_login.url("/account/password"))
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()


def test_sign_out_ends_the_session(page, staff_login):
    page.goto(staff_login.url("/account/password"))
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(staff_login.url("/login"))
    page.goto(staff_login.url("/account/password"))
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_the_login_page_passes_axe(page, live_server, nurse, assert_no_serious_axe_violations):
    page.goto(f"{live_server.url}/login")
    assert_no_serious_axe_violations(page)

    page.get_by_label("E-mail address").fill(nurse.email)
    page.get_by_label("Password").fill("wrong wrong wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_no_serious_axe_violations(page)


@pytest.mark.parametrize("path", ["/account/password", "/admin/staff", "/admin/audit"])
def test_the_account_pages_pass_axe(page, admin_login, path, assert_no_serious_axe_violations):
    page.goto(admin_login.url(path))
    expect(page.locator("h1")).to_be_visible()

    assert_no_serious_axe_violations(page)


def test_the_login_page_fits_a_375px_phone(phone_page, live_server, tmp_path):
    phone_page.goto(f"{live_server.url}/login")
    phone_page.screenshot(path=str(tmp_path / "login-375.png"), full_page=True)

    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the login page is {width}px wide on a 375px screen"
    expect(phone_page.get_by_role("button", name="Sign in")).to_be_in_viewport()


def test_the_staff_admin_page_fits_a_375px_phone(phone_page, live_server, runtime, browser_sign_in):
    admin = make_staff(runtime, email="a.long.address.for.testing@hospital.example", admin=True)
    browser_sign_in(phone_page, live_server.url, email=admin.email, password=PASSWORD)
    phone_page.goto(f"{live_server.url}/admin/staff")

    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"/admin/staff is {width}px wide on a 375px screen"
