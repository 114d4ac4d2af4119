"""Staff pages show every time the same way: the hospital's local time with how long ago it was,
inside a <time> whose datetime is valid HTML (UTC to the second)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from inbox.main import create_app
from inbox.runtime import build_runtime
from inbox.times import relative
from tests.staff.factories import make_staff, sign_in

NOW = datetime(2026, 7, 1, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (NOW - timedelta(seconds=30), "just now"),
        (NOW - timedelta(minutes=1, seconds=5), "1 minute ago"),
        (NOW - timedelta(hours=3, minutes=59), "3 hours ago"),
        (NOW - timedelta(days=1), "1 day ago"),
        (NOW - timedelta(days=13), "13 days ago"),
        (NOW - timedelta(days=15), "2 weeks ago"),
        (NOW + timedelta(days=4, hours=1), "in 4 days"),
    ],
)
def test_relative_time_reads_as_a_person_says_it(moment, expected):
    assert relative(moment, now=NOW) == expected


def test_audit_log_shows_london_summer_time_and_valid_datetimes(client, runtime, clock):
    clock.set(NOW.replace(microsecond=123456))
    admin = make_staff(runtime, email="admin@hospital.example", admin=True)
    assert sign_in(client, email=admin.email).status_code == 303
    clock.advance(timedelta(minutes=20))

    page = client.get("/admin/audit").text

    assert "1 Jul 2026, 12:00 BST" in page  # Europe/London, summer time
    assert "20 minutes ago" in page
    assert "UTC" not in page
    values = re.findall(r'<time datetime="([^"]+)"', page)
    assert values and "2026-07-01T11:00:00Z" in values
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\dZ)?", value) for value in values)


def test_the_time_zone_is_a_setting(settings, clock):
    runtime = build_runtime(
        settings.model_copy(update={"timezone": "America/New_York"}), clock=clock
    )
    clock.set(NOW)
    admin = make_staff(runtime, email="admin@hospital.example", admin=True)
    with TestClient(
        create_app(runtime=runtime), base_url="http://testserver", follow_redirects=False
    ) as client:
        assert sign_in(client, email=admin.email).status_code == 303
        page = client.get("/admin/audit").text
    runtime.close()

    assert "1 Jul 2026, 07:00 EDT" in page
