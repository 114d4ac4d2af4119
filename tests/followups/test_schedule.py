"""Quiet hours: a follow-up due at night (local time) waits until the morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbox.config import Settings, parse_quiet_hours
from inbox.followups.schedule import follow_up_times, next_morning, out_of_quiet_hours
from tests.followups.support import follow_ups, reply_sent


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (_utc(2026, 3, 9, 10, 0), _utc(2026, 3, 9, 10, 0)),  # daytime: unchanged
        (_utc(2026, 3, 9, 20, 59), _utc(2026, 3, 9, 20, 59)),  # just before the window
        (_utc(2026, 3, 9, 21, 0), _utc(2026, 3, 10, 8, 0)),  # evening: next morning
        (_utc(2026, 3, 10, 3, 30), _utc(2026, 3, 10, 8, 0)),  # after midnight: same morning
        (_utc(2026, 3, 10, 8, 0), _utc(2026, 3, 10, 8, 0)),  # the window's end is not quiet
        # British Summer Time: 07:30 UTC is 08:30 local (not quiet); 06:30 UTC is 07:30 local
        (_utc(2026, 7, 1, 7, 30), _utc(2026, 7, 1, 7, 30)),
        (_utc(2026, 7, 1, 6, 30), _utc(2026, 7, 1, 7, 0)),  # 08:00 BST
    ],
)
def test_a_follow_up_due_at_night_waits_until_morning(due, expected):
    moved = out_of_quiet_hours(due, quiet_hours="21-08", timezone="Europe/London")
    assert moved == expected


def test_quiet_hours_follow_the_configured_time_zone():
    # 22:00 UTC is 23:00 in Berlin (quiet) -> 08:00 Berlin = 07:00 UTC the next day
    due = _utc(2026, 3, 9, 22, 0)
    assert out_of_quiet_hours(due, quiet_hours="21-08", timezone="Europe/Berlin") == _utc(
        2026, 3, 10, 7, 0
    )
    assert out_of_quiet_hours(due, quiet_hours="off", timezone="Europe/Berlin") == due


def test_a_window_within_one_day_and_bad_values():
    assert out_of_quiet_hours(_utc(2026, 3, 9, 13, 0), quiet_hours="12-14", timezone="UTC") == _utc(
        2026, 3, 9, 14, 0
    )
    assert parse_quiet_hours("22:00-07:00") == (22, 7)
    for bad in ("21", "25-08", "night"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)
    with pytest.raises(ValueError):
        Settings(_env_file=None, quiet_hours="9pm-8am")
    with pytest.raises(ValueError):
        Settings(_env_file=None, timezone="Mars/Olympus_Mons")


def test_every_delay_is_moved_out_of_the_quiet_hours():
    settings = Settings(_env_file=None, followup_delays=["12h", "2d"], timezone="UTC")
    sent = _utc(2026, 3, 9, 15, 0)
    assert follow_up_times(sent, settings=settings) == [
        _utc(2026, 3, 10, 8, 0),
        sent + timedelta(days=2),
    ]


def test_the_digest_morning_is_the_next_end_of_the_quiet_hours():
    settings = Settings(_env_file=None, timezone="UTC")
    assert next_morning(_utc(2026, 3, 9, 7, 0), settings=settings) == _utc(2026, 3, 9, 8, 0)
    assert next_morning(_utc(2026, 3, 9, 8, 0), settings=settings) == _utc(2026, 3, 10, 8, 0)


def test_reply_sent_in_the_evening_gets_its_follow_up_the_next_morning(client, runtime, clock):
    clock.set(_utc(2026, 3, 2, 22, 30))  # 22:30 in London: a week later is quiet
    conversation_id = reply_sent(client, runtime)
    [follow_up] = follow_ups(runtime, conversation_id)
    assert follow_up.due_at == _utc(2026, 3, 10, 8, 0)
