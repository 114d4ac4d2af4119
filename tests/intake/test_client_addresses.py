"""Who a client is, for the rate limits: the connecting address unless it is a proxy the
operator named (INBOX_TRUSTED_PROXIES), and an IPv6 client by its /64."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient

from inbox.clock import FrozenClock
from inbox.main import create_app
from inbox.runtime import build_runtime
from tests.conftest import TEST_SECRET_KEY
from tests.factories import form_fields
from tests.served import serving


def _post_from(app, ip: str, settings, clock, number: int) -> int:
    fields = form_fields(settings, clock, email=f"patient{number}@example.com")
    with TestClient(app, follow_redirects=False, client=(ip, 40000)) as patient:
        return patient.post("/contact", data=fields).status_code


def test_addresses_of_one_ipv6_64_share_one_limit(settings, clock):
    limited = settings.model_copy(update={"rate_limit_ip": "1/minute"})
    runtime = build_runtime(limited, clock=clock)
    try:
        app = create_app(runtime=runtime)
        assert _post_from(app, "2001:db8:5:6::1", limited, clock, 1) == 303
        assert _post_from(app, "2001:db8:5:6:ffff::9", limited, clock, 2) == 429  # same /64
        assert _post_from(app, "2001:db8:5:7::1", limited, clock, 3) == 303  # another /64
    finally:
        runtime.engine.dispose()


def _two_patients_behind(url: str) -> list[int]:
    """Two form posts from 127.0.0.1, each claiming another client in X-Forwarded-For."""
    codes = []
    for number, forwarded in enumerate(("203.0.113.1", "203.0.113.2")):
        served = SimpleNamespace(secret_key=TEST_SECRET_KEY)  # the served process's key
        fields = form_fields(
            served, FrozenClock(datetime.now(UTC)), email=f"patient{number}@example.com"
        )
        response = httpx.post(f"{url}/contact", data=fields, headers={"x-forwarded-for": forwarded})
        codes.append(response.status_code)
    return codes


@pytest.mark.parametrize(("trusted", "expected"), [(None, [303, 429]), ("127.0.0.1", [303, 303])])
def test_x_forwarded_for_counts_only_from_a_named_proxy(tmp_path, trusted, expected):
    env = {"INBOX_TRUSTED_PROXIES": trusted} if trusted else {}
    # a day's window: the served process keeps real time, and a window that turns over
    # between the two posts would let both through
    with serving(tmp_path, INBOX_RATE_LIMIT_IP="1/day", **env) as served:
        assert _two_patients_behind(served.url) == expected


def _post_through(app, proxy: str, forwarded: str, settings, clock, number: int) -> int:
    fields = form_fields(settings, clock, email=f"patient{number}@example.com")
    with TestClient(app, follow_redirects=False, client=(proxy, 40000)) as patient:
        return patient.post(
            "/contact", data=fields, headers={"x-forwarded-for": forwarded}
        ).status_code


def test_one_proxy_passes_on_no_more_than_its_cap_for_all_its_clients(settings, clock):
    capped = settings.model_copy(
        update={
            "trusted_proxies": ["10.0.0.1"],
            "rate_limit_ip": "5/minute",
            "rate_limit_proxy": "3/minute",
        }
    )
    runtime = build_runtime(capped, clock=clock)
    try:
        app = create_app(runtime=runtime)
        codes = [
            _post_through(app, "10.0.0.1", f"203.0.113.{number}", capped, clock, number)
            for number in range(1, 6)
        ]
        assert codes == [303, 303, 303, 429, 429]  # five different patients, one proxy
        assert _post_from(app, "198.51.100.7", capped, clock, 9) == 303  # not through it
        clock.advance(timedelta(minutes=1))
        assert _post_through(app, "10.0.0.1", "203.0.113.20", capped, clock, 20) == 303
    finally:
        runtime.engine.dispose()


def test_the_64s_of_one_ipv6_48_share_the_wide_cap(settings, clock):
    capped = settings.model_copy(
        update={"rate_limit_ip": "5/minute", "rate_limit_proxy": "2/minute"}
    )
    runtime = build_runtime(capped, clock=clock)
    try:
        app = create_app(runtime=runtime)
        codes = [
            _post_from(app, f"2001:db8:5:{subnet}::1", capped, clock, subnet)
            for subnet in (1, 2, 3)
        ]
        assert codes == [303, 303, 429]  # three /64s of one /48
        assert _post_from(app, "2001:db8:6:1::1", capped, clock, 4) == 303  # another /48
    finally:
        runtime.engine.dispose()
