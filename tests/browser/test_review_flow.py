"""The staff review flow in headless Chromium against a live server whose worker really sends.

Sign in, find the urgent message at the top of the inbox, open it, untick a section and see the
draft change, edit the text, approve; the mail reaches a real aiosmtpd server with the edited
text and the conversation shows "sent". Patient text never runs as script; axe finds no serious
or critical problem on the conversation page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from playwright.sync_api import Page, Response, expect
from sqlmodel import Session

from inbox.config import Settings
from inbox.conversations.models import Message
from inbox.db import session_scope
from inbox.knowledge.service import triage_message
from inbox.main import create_app
from inbox.runtime import Runtime, build_runtime
from tests.conftest import LiveServer, free_port
from tests.drafting.support import store_message
from tests.smtp import SmtpServer
from tests.staff.factories import PASSWORD, make_staff

pytestmark = pytest.mark.browser

URGENT_CRAMPS = (
    "They pull 4 litres off my father at every session since they changed to a low sodium "
    "dialysate, and his calves cramp badly at the end. Today he also has crushing chest pain "
    "and cannot breathe."
)
CALM = "Since the nurses changed to a low sodium dialysate my legs cramp at the end of dialysis."
HOSTILE = "<script>window.__pwned = 1; alert('pwned')</script> my calves cramp after dialysis"
EDITED = "Dear Mrs Okafor,\n\nPlease call 999 now about the chest pain. Edited by the nurse 4711."
SODIUM = "low-sodium-dialysate"


@dataclass
class Site:
    url: str
    runtime: Runtime
    smtp: SmtpServer

    def store(self, **fields: str) -> int:
        """Store a message as the public form would (with its first look at urgency), then
        wait for the worker to draft it; returns its conversation id."""
        urgent = triage_message(
            self.runtime.knowledge, subject=fields.get("subject", ""), text=fields["message"]
        ).urgent
        with session_scope(self.runtime.engine) as session:
            now = self.runtime.clock.now()
            receipt = store_message(
                session, settings=self.runtime.settings, now=now, urgent=urgent, **fields
            )
        deadline = time.monotonic() + 10
        while not self._drafted(receipt.message_id):
            assert time.monotonic() < deadline, "the worker did not draft the message"
            time.sleep(0.05)
        return receipt.conversation_id

    def replies_to(self, address: str) -> list[EmailMessage]:
        """Mails written by staff (not automatic ones) that reached the SMTP server for it."""
        mails = [item.parsed() for item in list(self.smtp.received) if address in item.recipients]
        return [mail for mail in mails if mail["Auto-Submitted"] in (None, "no")]

    def _drafted(self, message_id: int) -> bool:
        with Session(self.runtime.engine) as session:
            return session.get(Message, message_id).drafted_at is not None


def approve_and_send(page: Page) -> None:
    """Click "Approve and send" and check that the page the server returns says the reply is
    queued. The page itself cannot be relied on for that: while a reply waits to be sent it
    follows the sending in place, and a quick worker replaces the banner within a second."""

    def after_approval(response: Response) -> bool:
        return response.request.method == "GET" and "done=approved" in response.url

    with page.expect_response(after_approval) as served:
        page.get_by_role("button", name="Approve and send").click()
    assert served.value.ok and "queued for sending" in served.value.text()


@pytest.fixture
def site(settings: Settings, smtp_server: SmtpServer) -> Iterator[Site]:
    """The app on a free port with its worker running and sending to `smtp_server`."""
    port = free_port()
    live = settings.model_copy(
        update={
            "run_worker": True,
            "mail_catcher": False,
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "public_url": f"http://127.0.0.1:{port}",
            "worker_poll_seconds": 0.2,
        }
    )
    runtime = build_runtime(live)  # the real clock: the worker waits for due mails
    make_staff(runtime)
    server = LiveServer(create_app(runtime=runtime), port)
    server.start()
    yield Site(url=server.url, runtime=runtime, smtp=smtp_server)
    server.stop()
    runtime.engine.dispose()


@pytest.fixture
def sign_in(browser_sign_in) -> Callable[[Page, Site], None]:
    """`sign_in(page, site)`: the nurse signs in through the real login form."""

    def sign_in_on(page: Page, site: Site) -> None:
        browser_sign_in(page, site.url, email="nurse@hospital.example", password=PASSWORD)

    return sign_in_on


def test_review_edit_approve_and_the_mail_arrives(page: Page, site: Site, sign_in) -> None:
    site.store(email="calm@example.com", name="Ann Calm", message=CALM, subject="cramps")
    urgent_id = site.store(
        email="okafor@example.com", name="Grace Okafor", message=URGENT_CRAMPS, subject="father"
    )
    sign_in(page, site)

    page.goto(f"{site.url}/inbox")
    first = page.locator("ol.conversations > li").first
    expect(first.get_by_text("Urgent")).to_be_visible()
    first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/inbox/conversations/{urgent_id}$"))
    expect(page.get_by_test_id("urgency")).to_contain_text("chest pain")

    preview = page.frame_locator("iframe.preview")
    sodium_url = site.runtime.knowledge.section(SODIUM).url
    expect(preview.locator(f'a[href="{sodium_url}"]')).to_have_count(1)
    sections = page.get_by_role("group", name="Sections in the reply")
    sections.get_by_label(site.runtime.knowledge.section(SODIUM).title).uncheck()
    page.get_by_role("button", name="Rebuild the draft").click()
    expect(page.get_by_role("status").filter(has_text="rebuilt")).to_be_visible()
    expect(preview.locator(f'a[href="{sodium_url}"]')).to_have_count(0)
    expect(preview.locator("body")).to_contain_text("emergency")

    page.get_by_label("Text", exact=True).fill(EDITED)
    expect(preview.locator("body")).to_contain_text("Edited by the nurse 4711")  # before saving
    expect(page.get_by_text("Not saved yet")).to_be_visible()
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_be_visible()
    expect(preview.locator("body")).to_contain_text("Edited by the nurse 4711")

    approve_and_send(page)

    site.smtp.wait_for(1, timeout=20, predicate=lambda: bool(site.replies_to("okafor@example.com")))
    (mail,) = site.replies_to("okafor@example.com")
    assert "Edited by the nurse 4711" in mail.get_body(("plain",)).get_content()
    assert "Edited by the nurse 4711" in mail.get_body(("html",)).get_content()
    assert "chest" not in mail["Subject"].lower()  # no health details in the subject line

    conversation_state = page.locator(".meta .badge").first
    deadline = time.monotonic() + 15  # the worker records outcomes in batches
    while conversation_state.text_content() != "sent" and time.monotonic() < deadline:
        time.sleep(0.2)
        page.reload()
    expect(page.locator(".meta .badge.state-sent")).to_have_text("sent")
    expect(page.get_by_role("heading", name="Mails")).to_be_visible()
    reply = page.locator("[data-testid^=mail-]", has_text="reply")
    expect(reply).to_contain_text("sent")


def test_patient_script_is_shown_as_text_and_never_runs(page: Page, site: Site, sign_in) -> None:
    conversation_id = site.store(name="<b>Mallory</b>", message=HOSTILE, subject="<i>hi</i>")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, site)

    page.goto(f"{site.url}/inbox/conversations/{conversation_id}")

    expect(page.get_by_test_id("message-body")).to_contain_text("<script>window.__pwned = 1;")
    expect(page.locator("h1")).to_have_text("<i>hi</i>")
    assert page.evaluate("window.__pwned") is None
    expect(page.frame_locator("iframe.preview").locator("body")).to_contain_text("<script>")
    assert dialogs == []


def test_the_conversation_page_passes_axe_and_fits_a_phone(
    page: Page, phone_page: Page, site: Site, sign_in, assert_no_serious_axe_violations
) -> None:
    conversation_id = site.store(message=URGENT_CRAMPS, subject="father")
    for screen in (page, phone_page):
        sign_in(screen, site)
        screen.goto(f"{site.url}/inbox/conversations/{conversation_id}")
        expect(screen.get_by_role("heading", name="Draft reply")).to_be_visible()
        expect(screen.frame_locator("iframe.preview").locator("body")).to_contain_text("Dear")
        assert_no_serious_axe_violations(screen)

    overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a 375px screen"


def test_the_second_of_two_staff_saving_the_same_draft_is_told_and_keeps_the_text(
    page: Page, phone_page: Page, site: Site, sign_in
) -> None:
    conversation_id = site.store(message=CALM, subject="cramps")
    for screen in (page, phone_page):
        sign_in(screen, site)
        screen.goto(f"{site.url}/inbox/conversations/{conversation_id}")

    page.get_by_label("Text", exact=True).fill("Dear Karim,\n\nFirst nurse's answer.")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_be_visible()
    phone_page.get_by_label("Text", exact=True).fill("Dear Karim,\n\nSecond nurse's answer.")
    phone_page.get_by_role("button", name="Save the draft").click()

    expect(phone_page.get_by_role("alert")).to_contain_text("Someone else changed this draft")
    expect(phone_page.get_by_label("Text", exact=True)).to_have_value(
        re.compile("Second nurse's answer")
    )
    expect(phone_page.get_by_test_id("preview-text")).to_contain_text("First nurse's answer")
