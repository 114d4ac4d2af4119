"""Browser fixtures for every team: headless Debian Chromium driven by Playwright (sync API).

- `browser`: one Chromium per test session (/usr/bin/chromium; `make browser` installs it).
- `page` (1280 × 800) and `phone_page` (375 × 740): a fresh browser context per test.
- `staff_login` / `admin_login`: an account in the test database, signed in on `page` through
  the real login form of the `live_server` fixture; `browser_sign_in` does that for any page.
- `assert_no_serious_axe_violations(page)`: axe-core (node_modules, `make browser`) run on the
  current page; fails listing every violation of serious or critical impact.

Mark browser tests with `@pytest.mark.browser` (or `pytestmark = pytest.mark.browser`).
Without Chromium or axe-core the browser tests are skipped, except under CI (CI=true), where
they fail: there a missing browser is a broken build, not a reason to pass.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from inbox.config import REPO_DIR
from inbox.runtime import Runtime
from tests.staff.factories import PASSWORD, make_staff, totp_code

CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO_DIR / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
SERIOUS = ("serious", "critical")


def _missing(what: str) -> None:
    message = f"{what} is missing: run `make browser`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium for the whole test session."""
    if not CHROMIUM.exists():
        _missing(str(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _new_page(browser: Any, viewport: dict[str, int], **options: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh context (own cookies), 1280 px wide."""
    yield from _new_page(browser, DESKTOP)


@pytest.fixture
def phone_page(browser: Any) -> Iterator[Any]:
    """A page in a fresh context on a 375 × 740 touch screen."""
    yield from _new_page(browser, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


@dataclass(frozen=True)
class StaffLogin:
    email: str
    password: str
    staff_id: int
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path


def sign_in_through_the_form(
    page: Any, base_url: str, *, email: str, password: str, runtime: Runtime | None = None
) -> None:
    """Fill and send the real login form, and the code form when the account has an
    authenticator app (its code from `runtime`); returns once the browser has left /login."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login(\?|$)"))
    if "/login/code" in page.url and runtime is not None:
        page.get_by_label("Code", exact=True).fill(totp_code(runtime, email=email))
        page.get_by_role("button", name="Continue").click()
        expect(page).not_to_have_url(re.compile(r"/login"))


@pytest.fixture
def browser_sign_in(runtime: Runtime) -> Callable[..., None]:
    """`browser_sign_in(page, base_url, email=…, password=…)`: sign in through the real form
    (and the code form, for an account with an authenticator app)."""
    return functools.partial(sign_in_through_the_form, runtime=runtime)


@pytest.fixture
def staff_login(page: Any, live_server: Any, runtime: Runtime) -> StaffLogin:
    """A staff member (role staff) signed in on `page` at the live server."""
    staff = make_staff(runtime, email="nurse@hospital.example")
    sign_in_through_the_form(page, live_server.url, email=staff.email, password=PASSWORD)
    return StaffLogin(staff.email, PASSWORD, staff.id, live_server.url)


@pytest.fixture
def admin_login(page: Any, live_server: Any, runtime: Runtime) -> StaffLogin:
    """An admin signed in on `page` at the live server."""
    staff = make_staff(runtime, email="admin@hospital.example", admin=True)
    sign_in_through_the_form(
        page, live_server.url, email=staff.email, password=PASSWORD, runtime=runtime
    )
    return StaffLogin(staff.email, PASSWORD, staff.id, live_server.url)


def _run_axe(page: Any) -> list[dict[str, Any]]:
    """axe's violations on the current page. Evaluated over DevTools, so the page's CSP
    (script-src 'self') stays on and is tested as it is served."""
    if not AXE.exists():
        _missing(str(AXE))
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    return page.evaluate(
        """async () => {
            const result = await window.axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }"""
    )


def axe_violations(page: Any) -> list[str]:
    """Every axe violation on the current page, of any impact, one line each."""
    return [
        f"- {item['impact']} {item['id']}: {item['help']} at {', '.join(item['targets'])}"
        for item in _run_axe(page)
    ]


@pytest.fixture
def assert_no_serious_axe_violations() -> Callable[[Any], None]:
    """`assert_no_serious_axe_violations(page)`: fail on serious or critical axe violations."""

    def check(page: Any) -> None:
        serious = [item for item in _run_axe(page) if item["impact"] in SERIOUS]
        lines = [
            f"- {item['impact']} {item['id']}: {item['help']} at {', '.join(item['targets'])}"
            for item in serious
        ]
        assert not serious, f"axe found on {page.url}:\n" + "\n".join(lines)

    return check
