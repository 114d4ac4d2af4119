"""Live pages in Chromium, with two web processes' apps on one database (each its own engine and
stream slots; only the first runs the worker): a new urgent message appears on an open list
without reloading, and a conversation page says who else is on it and when it changed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from inbox.config import Settings
from inbox.db import session_scope
from inbox.knowledge.service import triage_message
from inbox.main import create_app
from inbox.outbox.models import MailState, OutboxMail
from inbox.runtime import Runtime, build_runtime
from tests.browser.test_review_flow import CALM, URGENT_CRAMPS, Site, approve_and_send
from tests.conftest import LiveServer, free_port
from tests.drafting.support import store_message
from tests.smtp import SmtpServer
from tests.staff.factories import PASSWORD, make_staff

pytestmark = pytest.mark.browser


@dataclass
class TwoProcesses:
    first: Site
    second_url: str


@pytest.fixture
def two(settings: Settings, smtp_server: SmtpServer) -> Iterator[TwoProcesses]:
    servers, runtimes = [], []
    for index in range(2):
        port = free_port()
        live = settings.model_copy(
            update={
                "run_worker": index == 0, "mail_catcher": False, "smtp_host": smtp_server.host,
                "smtp_port": smtp_server.port, "public_url": f"http://127.0.0.1:{port}",
                "worker_poll_seconds": 0.2, "live_poll_seconds": 0.3,
            }
        )  # fmt: skip
        runtime = build_runtime(live)
        runtimes.append(runtime)
        server = LiveServer(create_app(runtime=runtime), port)
        server.start()
        servers.append(server)
    make_staff(runtimes[0], email="anna@hospital.example")
    make_staff(runtimes[0], email="ben@hospital.example")
    yield TwoProcesses(Site(servers[0].url, runtimes[0], smtp_server), servers[1].url)
    for server in servers:
        server.stop()
    for runtime in runtimes:
        runtime.engine.dispose()


def signed_in(browser: Browser, url: str, email: str, browser_sign_in) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(10_000)
    browser_sign_in(page, url, email=email, password=PASSWORD)
    return page


def store(runtime: Runtime, **fields: str) -> int:
    urgent = triage_message(runtime.knowledge, subject="", text=fields["message"]).urgent
    with session_scope(runtime.engine) as session:
        receipt = store_message(
            session, settings=runtime.settings, now=runtime.clock.now(), urgent=urgent, **fields
        )
    return receipt.conversation_id


def test_a_new_urgent_message_appears_on_an_open_list_without_reloading(
    browser: Browser, two: TwoProcesses, browser_sign_in
) -> None:
    two.first.store(email="calm@example.com", name="Ann Calm", message=CALM, subject="cramps")
    anna = signed_in(browser, two.second_url, "anna@hospital.example", browser_sign_in)
    anna.goto(f"{two.second_url}/inbox")
    expect(anna.locator("ol.conversations > li")).to_have_count(1)
    anna.evaluate("window.__sameDocument = true")

    store(two.first.runtime, email="okafor@example.com", name="Grace Okafor",
          message=URGENT_CRAMPS, subject="father")  # fmt: skip

    first = anna.locator("ol.conversations > li").first
    expect(first).to_contain_text("father", timeout=15_000)
    expect(first.get_by_text("Urgent")).to_be_visible()
    assert anna.evaluate("window.__sameDocument") is True  # no reload happened


def test_a_conversation_page_shows_who_else_is_viewing_and_editing_and_that_it_changed(
    browser: Browser, two: TwoProcesses, browser_sign_in
) -> None:
    conversation_id = two.first.store(email="calm@example.com", message=CALM, subject="cramps")
    path = f"/inbox/conversations/{conversation_id}"
    anna = signed_in(browser, two.first.url, "anna@hospital.example", browser_sign_in)
    ben = signed_in(browser, two.second_url, "ben@hospital.example", browser_sign_in)
    anna.goto(two.first.url + path)
    ben.goto(two.second_url + path)

    expect(anna.get_by_test_id("presence")).to_have_text("ben@hospital.example is viewing.")
    expect(ben.get_by_test_id("presence")).to_have_text("anna@hospital.example is viewing.")
    ben.get_by_label("Text", exact=True).press_sequentially("Dear Ann, ")
    expect(anna.get_by_test_id("presence")).to_have_text(
        "ben@hospital.example is editing the reply.", timeout=25_000
    )
    expect(anna.get_by_test_id("changed")).to_be_hidden()

    ben.get_by_role("button", name="Save the draft").click()
    expect(ben.get_by_role("status").filter(has_text="saved")).to_be_visible()
    expect(anna.get_by_test_id("changed")).to_be_visible()
    expect(anna.get_by_test_id("changed")).to_contain_text("changed since you opened it")

    ben.close()  # the page reports that it left
    # Usually at once: late reports of his earlier page loads are ignored too (0026). A beacon
    # that a crowded machine loses with the closing page leaves only the silence of
    # `presence_seconds` (45 s) to end it.
    window = two.first.runtime.settings.presence_seconds
    expect(anna.get_by_test_id("presence")).to_be_hidden(timeout=(window + 15) * 1000)


def _mail_states(runtime: Runtime, conversation_id: int) -> list[str]:
    with Session(runtime.engine) as session:
        mails = session.exec(
            select(OutboxMail).where(OutboxMail.conversation_id == conversation_id)
        ).all()
        return [mail.state for mail in mails]


def test_an_approved_reply_is_shown_sent_in_place_and_the_approval_banner_goes(
    browser: Browser, two: TwoProcesses, browser_sign_in
) -> None:
    conversation_id = two.first.store(email="calm@example.com", message=CALM, subject="cramps")
    # the acknowledgement goes first, so that afterwards only the reply changes the page
    acknowledged = _mail_states(two.first.runtime, conversation_id) == [MailState.SENT]
    deadline = time.monotonic() + 15
    while not acknowledged:
        assert time.monotonic() < deadline, "the acknowledgement was not sent"
        time.sleep(0.05)
        acknowledged = _mail_states(two.first.runtime, conversation_id) == [MailState.SENT]
    path = f"/inbox/conversations/{conversation_id}"
    anna = signed_in(browser, two.first.url, "anna@hospital.example", browser_sign_in)
    anna.goto(two.first.url + path)
    expect(anna.locator(".meta .badge.state-sent")).to_have_count(0)

    approve_and_send(anna)
    anna.evaluate("window.__sameDocument = true")
    queued = anna.get_by_role("status").filter(has_text="queued for sending")

    # the worker of the first process sends it; the page follows without a reload
    expect(anna.locator(".meta .badge.state-sent")).to_have_text("sent", timeout=20_000)
    expect(anna.locator("[data-testid^=mail-]", has_text="reply")).to_contain_text("sent")
    expect(queued).to_have_count(0)
    expect(anna.get_by_test_id("changed")).to_be_hidden()
    assert anna.evaluate("window.__sameDocument") is True
    assert two.first.replies_to("calm@example.com"), "the reply reached the relay"
