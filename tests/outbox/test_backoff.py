"""When a mail is tried again: the server's hint, else exponential backoff with jitter, capped."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from inbox.outbox.backoff import next_try, retry_delay, retry_hint


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("4.7.1 Greylisted, please try again in 5 minutes", 300),
        ("retry after 120s", 120),
        ("4.3.0 Please retry in 30 seconds", 30),
        ("Try again after 2 hours", 7200),
        ("try again later (code 12345)", None),
        ("4.2.2 mailbox full", None),
        ("", None),
    ],
)
def test_retry_hint_is_read_from_the_server_text(text, seconds):
    assert retry_hint(text) == seconds


def test_backoff_doubles_with_jitter_and_is_capped():
    rng = random.Random(7)
    delays = [retry_delay(n, base=30, cap=3600, rng=rng) for n in range(1, 12)]
    for attempt, delay in enumerate(delays[:5], start=1):
        assert 0.75 * 30 * 2 ** (attempt - 1) <= delay <= 1.25 * 30 * 2 ** (attempt - 1)
    assert all(delay <= 3600 for delay in delays)
    assert delays[-1] >= 0.75 * 3600


def test_a_hint_wins_but_not_past_the_cap():
    assert retry_delay(1, base=30, cap=3600, hint=600) == 600
    assert retry_delay(1, base=30, cap=3600, hint=86400) == 3600


def test_no_next_try_past_the_retry_budget():
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    budget = timedelta(hours=1)
    now = start + timedelta(minutes=50)
    assert (
        next_try(now, attempts=2, first_attempt_at=start, budget=budget, base=60, cap=60, hint=None)
        is not None
    )
    assert (
        next_try(
            now, attempts=2, first_attempt_at=start, budget=budget, base=60, cap=3600, hint=900
        )
        is None
    )
