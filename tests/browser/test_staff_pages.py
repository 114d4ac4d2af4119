"""Every staff page, in one Chromium, at 375 and 1280 px: valid HTML (the Nu checker), no axe
violation of any impact, and nothing wider than a phone's screen (no sideways scrolling, no
table cell squeezed to one letter per line).

STAFF_PAGES is the list of every staff page: a new page is added there (with the data it needs
in `seeded`), and this test covers it. The sign-in pages (password, setting up the app, the
recovery codes, the code step) are checked along the way, as an admin walks through them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from inbox.config import REPO_DIR
from inbox.feedback.links import make_token
from inbox.worker import draft_new_messages
from tests.browser_fixtures import DESKTOP, PHONE, _missing, axe_violations
from tests.followups.conftest import settings  # noqa: F401  (the real SMTP server)
from tests.followups.support import reply_sent, submit
from tests.staff.factories import PASSWORD, make_staff

pytestmark = pytest.mark.browser

VNU = REPO_DIR / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
DANGER = "rgb(164, 22, 26)"  # --danger: what a destructive button looks like
LONG_WORD = "Supercalifragilisticexpialidocious-cramps-" * 3  # a patient's unbroken text

STAFF_PAGES = [
    "/inbox",
    "/inbox?tab=all",
    "/inbox?tab=mine",
    "/inbox?tab=unassigned",
    "/inbox?tab=all&kind=billing",
    "/inbox?q=cramps",
    "/inbox/conversations/{review}",
    "/inbox/conversations/{sent}",
    "/follow-ups",
    "/dashboard",
    "/outbox/failures",
    "/account/password",
    "/account/sessions",
    "/admin/staff",
    "/admin/audit",
    "/admin/inbound",
    "/admin/privacy",
    "/admin/saved-replies",
    "/inbox/caught-mail",
    "/feedback/{feedback}?answer=yes",  # public: the "did this help?" page of a reply's link
]

# what is wider than the screen, and table cells squeezed to a letter or two per line
_SQUEEZED_OR_WIDE = (Path(__file__).parent / "overflow.js").read_text(encoding="utf-8")


@pytest.fixture
def seeded(client, runtime) -> dict[str, int]:
    """A conversation in review (long unbroken words), one whose reply went out (a follow-up)."""
    sent = reply_sent(client, runtime)
    review = submit(
        client, email="ann@example.org", name="Ann Example", subject=LONG_WORD[:60],
        message=f"My legs cramp at the end of dialysis. {LONG_WORD}",
    )["conversation_id"]  # fmt: skip
    draft_new_messages(runtime)
    section = runtime.knowledge.sections()[0].id
    feedback = make_token(runtime.settings, message_id=1, section_id=section)
    return {"review": int(review), "sent": sent, "feedback": feedback}


def _nu_errors(pages: dict[str, str], folder: Path) -> list[str]:
    """The Nu HTML checker over every page at once (one Java start): its errors and warnings."""
    if not VNU.exists():
        _missing(str(VNU))
    files = []
    for index, (url, html) in enumerate(pages.items()):
        path = folder / f"page-{index}.html"
        path.write_text(html, encoding="utf-8")
        files.append((str(path), url))
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--format", "json", *[path for path, _ in files]],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    names = dict(files)
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    return [
        f"- {names.get(item.get('url', '').removeprefix('file:'), item.get('url'))}"
        f":{item.get('lastLine')}: {item['type']} {item['message']}"
        for item in messages
        if item["type"] != "info" or item.get("subType") == "warning"
    ]


def _check(page: Any, url: str, problems: list[str], sources: dict[str, str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    sources[page.url] = response.text()
    problems += [f"{url}: {line}" for line in axe_violations(page)]
    problems += [f"{url}: {line}" for line in page.evaluate(_SQUEEZED_OR_WIDE)]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "1280px"])
def test_every_staff_page_is_valid_accessible_and_fits_the_screen(
    browser, live_server, runtime, seeded, viewport, tmp_path
):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True, totp=False)
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    sources: dict[str, str] = {}
    base = live_server.url
    try:
        _check(page, f"{base}/login", problems, sources)
        page.get_by_label("E-mail address").fill(admin.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{base}/login/enrol")
        _check(page, f"{base}/login/enrol", problems, sources)
        key = page.locator("#totp-key").inner_text().replace(" ", "")
        page.get_by_label("Code from the app").fill(pyotp.TOTP(key).at(runtime.clock.now()))
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
        sources[page.url + "#recovery"] = page.content()
        problems += [f"recovery codes: {line}" for line in axe_violations(page)]
        problems += [f"recovery codes: {line}" for line in page.evaluate(_SQUEEZED_OR_WIDE)]

        for path in STAFF_PAGES:
            _check(page, base + path.format(**seeded), problems, sources)

        page.goto(f"{base}/admin/privacy")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Privacy")).to_have_attribute("href", "/admin/privacy")
        erase = page.get_by_role("button", name="Erase everything")
        assert erase.evaluate("el => getComputedStyle(el).backgroundColor") == DANGER
        icon = page.locator('link[rel="icon"]').get_attribute("href")
        served = page.request.get(icon or "/missing")
        assert served.ok and served.headers["content-type"].startswith("image/svg+xml")

        page.goto(f"{base}/inbox")
        page.get_by_role("button", name="Sign out").click()
        page.goto(f"{base}/login")
        page.get_by_label("E-mail address").fill(admin.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{base}/login/code")
        sources[page.url] = page.content()
        problems += [f"/login/code: {line}" for line in axe_violations(page)]
    finally:
        context.close()

    problems += _nu_errors(sources, tmp_path)
    assert len(sources) >= len(STAFF_PAGES) + 4
    assert not problems, "\n".join(problems)
