"""The staff side of bench/mixed.py: staff members working the inbox over HTTP (httpx), each
timing its requests by class (sign-in, list, open, save, approve) and counting the answers it
did not expect."""

from __future__ import annotations

import asyncio
import html
import re
import time
from dataclasses import dataclass, field

import httpx

PASSWORD = "bench password 1234"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_VERSION = re.compile(r'action="[^"]*/draft"[^>]*>.*?name="version" value="(\d+)"', re.S)
_SUBJECT = re.compile(r'id="subject" name="subject"[^>]*value="([^"]*)"')
_TEXT = re.compile(r'<textarea id="text"[^>]*>(.*?)</textarea>', re.S)
_LINK = re.compile(r'href="/inbox/conversations/(\d+)"')


@dataclass
class Timings:
    by_class: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, seconds: float) -> None:
        self.by_class.setdefault(kind, []).append(seconds * 1000)

    def percentile(self, kinds: tuple[str, ...], p: float) -> float:
        values = sorted(v for kind in kinds for v in self.by_class.get(kind, []))
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(len(values) * p / 100))]


class StaffMember:
    """One staff member's browser: signs in, then works through their share of the inbox."""

    def __init__(self, base: str, email: str, index: int, staff: int, timings: Timings):
        self.base, self.email, self.index, self.staff = base, email, index, staff
        self.timings = timings
        self.client = httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False)
        self.approved = 0

    async def timed(self, kind: str, method: str, path: str, expect: int, **kw) -> httpx.Response:
        started = time.perf_counter()
        response = await self.client.request(method, path, **kw)
        self.timings.add(kind, time.perf_counter() - started)
        if response.status_code != expect:
            self.timings.errors.append(f"{kind} {path}: {response.status_code}")
        return response

    async def sign_in(self) -> None:
        self.client.cookies.clear()
        page = await self.client.get("/login")
        token = _CSRF.search(page.text).group(1)
        fields = {"email": self.email, "password": PASSWORD, "csrf_token": token}
        await self.timed("sign-in", "POST", "/login", 303, data=fields)

    async def run(self, stop_at: float, think: float) -> None:
        cycle = 0
        while time.monotonic() < stop_at:
            if cycle % 5 == 0:
                await self.sign_in()
            cycle += 1
            listing = await self.timed("list", "GET", "/inbox", 200)
            mine = [
                int(cid)
                for cid in dict.fromkeys(_LINK.findall(listing.text))
                if int(cid) % self.staff == self.index
            ]
            await asyncio.sleep(think)
            if not mine:
                continue
            await self.work_on(mine[0], think)

    async def work_on(self, conversation_id: int, think: float) -> None:
        path = f"/inbox/conversations/{conversation_id}"
        page = await self.timed("open", "GET", path, 200)
        found = _VERSION.search(page.text)
        if not found:
            return  # not drafted yet: the page says so
        token = _CSRF.search(page.text).group(1)
        subject = _SUBJECT.search(page.text)
        text = _TEXT.search(page.text)
        await asyncio.sleep(think)
        fields = {
            "csrf_token": token,
            "version": found.group(1),
            "subject": html.unescape(subject.group(1)) if subject else "Your question",
            "text": (html.unescape(text.group(1)) if text else "") + "\nWith best wishes, the team",
        }
        await self.timed("save", "POST", f"{path}/draft", 303, data=fields)
        page = await self.timed("open", "GET", path, 200)
        found = _VERSION.search(page.text)
        if not found:
            return
        await asyncio.sleep(think)
        fields = {"csrf_token": token, "version": found.group(1)}
        answer = await self.timed("approve", "POST", f"{path}/approve", 303, data=fields)
        self.approved += answer.status_code == 303
