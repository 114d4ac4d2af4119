"""The JavaScript snippet of docs/operations.md, as the site's developer pastes it: served from a
page of another origin, it fetches a form token, posts JSON and shows the answer."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from inbox.config import REPO_DIR
from inbox.conversations.models import Message
from tests.conftest import free_port

pytestmark = pytest.mark.browser

SITE_PORT = free_port()
SITE = f"http://127.0.0.1:{SITE_PORT}"
PLACEHOLDER = "https://inbox.kidney-hospital.example"


def documented_snippet() -> str:
    text = (REPO_DIR / "docs" / "operations.md").read_text()
    section = text.split("### The JavaScript snippet", 1)[1]
    found = re.search(r"```html\n(.*?)```", section, re.DOTALL)
    assert found, "docs/operations.md lost its snippet"
    return found.group(1)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"allowed_origins": [SITE]})


@pytest.fixture
def article_site(live_server) -> Iterator[str]:
    """The hospital's article page with the snippet pasted in, on an origin of its own."""
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Leg cramps</title>"
        "</head><body><main><h1>Causes of leg cramps</h1>"
        + documented_snippet().replace(PLACEHOLDER, live_server.url)
        + "</main></body></html>"
    ).encode()

    class Article(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", SITE_PORT), Article)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{SITE}/leg-cramps.html"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _stored(runtime) -> list:
    with runtime.engine.connect() as connection:
        return list(connection.execute(sa.select(Message.__table__)).mappings())


def _fill(page, *, email: str) -> None:
    page.get_by_label("Your name").fill("Karim Haddad")
    page.get_by_label("Your e-mail address").fill(email)
    page.get_by_label("Subject").fill("Cramps at the end")
    page.get_by_label("Your question").fill("My calves cramp in the last hour of dialysis. Why?")


def test_the_documented_snippet_sends_a_message_from_the_hospital_site(
    page, article_site, runtime, clock
):
    page.goto(article_site)
    page.wait_for_load_state("networkidle")  # the form token has arrived
    clock.advance(
        timedelta(seconds=runtime.settings.min_fill_seconds * 10)
    )  # a person reads and types
    _fill(page, email="karim.h@example.com")
    page.get_by_role("button", name="Send your message").click()

    expect(page.get_by_role("status")).to_contain_text("your message has reached us")
    expect(page.get_by_role("status")).to_contain_text("call 999")
    [row] = _stored(runtime)
    assert row["email"] == "karim.h@example.com" and row["channel"] == "api"
    assert row["spam_reason"] is None  # the snippet's token passed the time trap
    assert row["source_page"] == article_site


def test_the_snippet_shows_what_is_wrong_with_a_field(page, article_site, runtime, clock):
    page.goto(article_site)
    page.wait_for_load_state("networkidle")
    clock.advance(timedelta(seconds=30))
    _fill(page, email="not an address")
    page.get_by_role("button", name="Send your message").click()

    expect(page.get_by_role("status")).to_contain_text("e-mail")
    assert _stored(runtime) == []
