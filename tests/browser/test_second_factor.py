"""The second factor in a real browser: setting up the app from the QR code (allowed by the
page's CSP), signing in with its code, and with a recovery code when the phone is lost."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.staff.factories import PASSWORD, make_staff, totp_code

pytestmark = pytest.mark.browser


def password_step(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_sets_up_the_app_then_signs_in_with_a_recovery_code(
    page, browser, live_server, runtime, assert_no_serious_axe_violations
):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True, totp=False)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))

    password_step(page, live_server.url, admin.email)

    expect(page).to_have_url(f"{live_server.url}/login/enrol")
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 150
    assert_no_serious_axe_violations(page)
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(key).at(runtime.clock.now()))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    recovery = codes.first.inner_text()
    page.get_by_role("link", name="Continue to the inbox").click()
    expect(page).to_have_url(f"{live_server.url}/inbox")
    assert not [text for text in refused if "Content Security Policy" in text]

    phone_lost = browser.new_context()
    try:
        other = phone_lost.new_page()
        password_step(other, live_server.url, admin.email)
        expect(other).to_have_url(f"{live_server.url}/login/code")
        other.get_by_label("Code", exact=True).fill(recovery)
        other.get_by_role("button", name="Continue").click()
        expect(other).to_have_url(f"{live_server.url}/inbox")
    finally:
        phone_lost.close()


def test_a_wrong_code_is_explained_and_the_right_one_signs_in(page, live_server, runtime):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True)
    password_step(page, live_server.url, admin.email)

    page.get_by_label("Code", exact=True).fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    expect(page.get_by_label("Code", exact=True)).to_have_attribute(
        "aria-describedby", "code-error"
    )

    page.get_by_label("Code", exact=True).fill(totp_code(runtime, email=admin.email))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{live_server.url}/inbox")
