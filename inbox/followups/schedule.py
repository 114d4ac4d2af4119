"""When follow-ups fall due: the delays of INBOX_FOLLOWUP_DELAYS, moved out of the quiet hours.

Pure functions of (time, settings): no database, no clock of their own.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from inbox.config import Settings, parse_duration, parse_quiet_hours

DEFAULT_MORNING_HOUR = 8  # the daily digest's hour when there are no quiet hours


def in_quiet_hours(moment: datetime, *, quiet: tuple[int, int] | None, zone: ZoneInfo) -> bool:
    """Whether `moment` falls in the quiet window (local time); start inclusive, end exclusive."""
    if quiet is None:
        return False
    start, end = quiet
    hour = moment.astimezone(zone).hour
    return start <= hour < end if start < end else hour >= start or hour < end


def out_of_quiet_hours(moment: datetime, *, quiet_hours: str, timezone: str) -> datetime:
    """`moment` itself, or (if it falls in the quiet window) the window's end that morning (UTC)."""
    quiet, zone = parse_quiet_hours(quiet_hours), ZoneInfo(timezone)
    if not in_quiet_hours(moment, quiet=quiet, zone=zone):
        return moment
    assert quiet is not None
    local = moment.astimezone(zone)
    day = local.date() if local.hour < quiet[1] else local.date() + timedelta(days=1)
    return _local_time(day, quiet[1], zone)


def follow_up_times(sent_at: datetime, *, settings: Settings) -> list[datetime]:
    """The due time of each follow-up after a reply sent at `sent_at`, in the delays' order."""
    return [
        out_of_quiet_hours(
            sent_at + parse_duration(delay),
            quiet_hours=settings.quiet_hours,
            timezone=settings.timezone,
        )
        for delay in settings.followup_delays
    ]


def next_morning(after: datetime, *, settings: Settings) -> datetime:
    """The first end of the quiet window (08:00 local by default) strictly after `after` (UTC)."""
    zone = ZoneInfo(settings.timezone)
    quiet = parse_quiet_hours(settings.quiet_hours)
    hour = quiet[1] if quiet else DEFAULT_MORNING_HOUR
    local = after.astimezone(zone)
    moment = _local_time(local.date(), hour, zone)
    return moment if moment > after else _local_time(local.date() + timedelta(days=1), hour, zone)


def _local_time(day, hour: int, zone: ZoneInfo) -> datetime:  # noqa: ANN001 - a date
    """`hour`:00 local time on `day`, in UTC (a time that a DST change skips is moved forward)."""
    local = datetime.combine(day, time(hour), tzinfo=zone)
    return local.astimezone(UTC)
