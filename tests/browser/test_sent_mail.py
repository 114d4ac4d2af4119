"""What was sent is readable in Chromium: the embedded mode's catcher keeps the mails, and staff
read each one (text and HTML) on the caught-mail page and on the conversation page; a patient's
script inside a mail never runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from inbox.config import Settings
from inbox.db import session_scope
from inbox.main import create_app
from inbox.outbox.catcher import store_caught
from inbox.outbox.models import CaughtMail
from inbox.runtime import Runtime, build_runtime
from tests.conftest import LiveServer, free_port
from tests.drafting.support import store_message
from tests.staff.factories import PASSWORD, make_staff

pytestmark = pytest.mark.browser

HOSTILE_NAME = "Ann <script>window.__pwned = 1</script>"


@pytest.fixture
def embedded(settings: Settings) -> Iterator[tuple[str, Runtime]]:
    """The app as `make run` serves it: worker in-process, no SMTP host, the catcher on."""
    port = free_port()
    live = settings.model_copy(
        update={
            "run_worker": True,
            "mail_catcher": True,
            "smtp_host": "",
            "public_url": f"http://127.0.0.1:{port}",
            "worker_poll_seconds": 0.2,
        }
    )
    runtime = build_runtime(live)
    make_staff(runtime)
    server = LiveServer(create_app(runtime=runtime), port)
    server.start()
    yield server.url, runtime
    server.stop()
    runtime.engine.dispose()


def caught(runtime: Runtime) -> list[CaughtMail]:
    """The caught mails; none yet while the worker holds SQLite's write lock a while (its first
    triage loads the language models)."""
    try:
        with Session(runtime.engine) as session:
            return list(session.exec(select(CaughtMail)))
    except OperationalError:
        return []


def test_the_caught_mail_page_shows_each_mail_text_and_html_safely(
    page: Page, embedded: tuple[str, Runtime], browser_sign_in, assert_no_serious_axe_violations
) -> None:
    url, runtime = embedded
    with session_scope(runtime.engine) as session:
        receipt = store_message(
            session, settings=runtime.settings, now=runtime.clock.now(), name="Ann Lee",
            email="ann@example.org",
        )  # fmt: skip
    deadline = time.monotonic() + 40  # the worker drafts it and sends the acknowledgement
    while not caught(runtime):
        assert time.monotonic() < deadline, "the catcher caught no acknowledgement"
        time.sleep(0.1)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    browser_sign_in(page, url, email="nurse@hospital.example", password=PASSWORD)

    page.get_by_role("link", name="Caught mail").click()
    mail = page.get_by_test_id("caught-mail").first
    expect(mail).to_contain_text("ann@example.org")
    expect(mail.get_by_test_id("caught-text")).to_contain_text("Dear Ann Lee")
    mail.get_by_text("HTML part").click()
    frame = page.frame_locator("iframe[title^='HTML part']").first
    expect(frame.locator("body")).to_contain_text("Your message has reached us safely")

    hostile = EmailMessage()  # a mail with script in both parts, as a relay could hand in
    hostile["From"], hostile["To"], hostile["Subject"] = "x@example.org", "y@example.org", "Hi"
    hostile.set_content(HOSTILE_NAME)
    hostile.add_alternative(f"<p>{HOSTILE_NAME}</p><img src=x onerror=alert(1)>", subtype="html")
    store_caught(runtime.engine, clock=runtime.clock, mail_from="x@example.org",
                 recipients=["y@example.org"], raw=hostile.as_bytes())  # fmt: skip
    page.reload()
    newest = page.get_by_test_id("caught-mail").first
    expect(newest.get_by_test_id("caught-text")).to_contain_text("<script>window.__pwned = 1")
    newest.get_by_text("HTML part").click()
    expect(page.frame_locator("iframe[title^='HTML part']").first.locator("p")).to_have_text("Ann")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None and dialogs == []
    assert_no_serious_axe_violations(page)

    page.goto(f"{url}/inbox/conversations/{receipt.conversation_id}")
    mail_entry = page.get_by_test_id("timeline-mail").first
    mail_entry.get_by_text("What the mail says").click()
    expect(mail_entry.locator("pre")).to_contain_text("Your message has reached us safely")
    mail_entry.get_by_text("The mail as the patient sees it").click()
    sent = page.frame_locator("iframe[title$='as the patient sees it']").first
    expect(sent.locator("body")).to_contain_text("emergency")  # every patient mail says it
