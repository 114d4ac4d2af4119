"""Parallel sign-in attempts: the limits hold however many arrive at once, in one process or two.

A 401 means the password was checked (and was wrong); a 429 means it was not checked at all.
"""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from inbox.errors import RateLimited
from inbox.main import create_app
from inbox.runtime import build_runtime
from inbox.staff import signin
from inbox.staff.throttle import Client
from tests.conftest import LiveServer, free_port
from tests.staff.factories import make_staff

WRONG = "not the password at all"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _attempts(urls: list[str], emails: list[str]) -> list[int]:
    """Post one wrong password per e-mail address, all at once, spread over the servers."""
    clients = [httpx.AsyncClient(base_url=url, timeout=120) for url in urls]
    try:
        tokens = []
        for client in clients:
            page = await client.get("/login")
            tokens.append(_CSRF.search(page.text).group(1))

        async def attempt(index: int, email: str) -> int:
            client = clients[index % len(clients)]
            fields = {"email": email, "password": WRONG, "csrf_token": tokens[index % len(clients)]}
            return (await client.post("/login", data=fields)).status_code

        return list(await asyncio.gather(*(attempt(i, e) for i, e in enumerate(emails))))
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture
def second_server(settings, clock):
    """A second web process's view of the same database: its own app, engine and pool."""
    runtime = build_runtime(settings, clock=clock)
    server = LiveServer(create_app(runtime=runtime), free_port())
    server.start()
    yield server
    server.stop()


def test_40_parallel_attempts_on_one_account_check_at_most_the_limit(
    live_server, runtime, settings
):
    staff = make_staff(runtime, email="nurse@hospital.example")

    codes = asyncio.run(_attempts([live_server.url], [staff.email] * 40))

    checked = codes.count(401)
    assert set(codes) <= {401, 429}
    assert checked <= settings.login_attempts_per_15min, f"{checked} password checks of 40"


def test_two_processes_share_one_account_limit(live_server, second_server, runtime, settings):
    staff = make_staff(runtime, email="nurse@hospital.example")

    codes = asyncio.run(_attempts([live_server.url, second_server.url], [staff.email] * 40))

    checked = codes.count(401)
    assert checked <= settings.login_attempts_per_15min, f"{checked} password checks of 40"


def test_80_parallel_attempts_on_many_accounts_from_one_ip_check_at_most_its_limit(
    live_server, settings
):
    emails = [f"guess{number}@hospital.example" for number in range(80)]

    codes = asyncio.run(_attempts([live_server.url], emails))

    checked = codes.count(401)
    assert checked <= settings.login_attempts_per_15min * 4, f"{checked} password checks of 80"


def test_40_parallel_attempts_from_40_addresses_on_one_account_check_at_most_the_limit(
    runtime, settings, clock
):
    staff = make_staff(runtime, email="nurse@hospital.example")
    start = threading.Barrier(40)

    def attempt(number: int) -> str:
        start.wait()
        try:
            signin.check_password(
                runtime.engine,
                settings=settings,
                email=staff.email,
                password=WRONG,
                client=Client(ip=f"203.0.113.{number + 1}"),
                now=clock.now(),
            )
        except signin.LoginFailed:
            return "checked"
        except RateLimited:
            return "refused"
        return "signed in"

    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(attempt, range(40)))

    checked = outcomes.count("checked")
    assert outcomes.count("refused") == 40 - checked
    assert checked <= settings.login_attempts_per_15min, f"{checked} password checks of 40"
