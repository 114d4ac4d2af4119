"""How staff pages show a point in time: the hospital's local time (INBOX_TIMEZONE) with how
long ago it was, inside a `<time>` whose `datetime` is UTC to the second (valid HTML).

`install(env, timezone=…, clock=…)` adds the `when` filter to a Jinja2 environment; every staff
template writes `{{ moment | when }}` (or `| when("date")` for a day), nothing else.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment
from markupsafe import Markup, escape

from inbox.clock import Clock


def relative(moment: datetime, *, now: datetime) -> str:
    """'just now', '5 minutes ago', '3 hours ago', '2 days ago', '7 weeks ago', 'in 4 days'."""
    seconds = int((now - moment).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (unit != "week" or seconds >= 2 * size):
            count = seconds // size
            words = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"in {words}" if future else f"{words} ago"
    return "just now"


def machine_value(moment: datetime | date) -> str:
    """The `datetime` attribute: 'YYYY-MM-DDTHH:MM:SSZ' in UTC (naive means UTC), or a date."""
    if not isinstance(moment, datetime):
        return moment.isoformat()
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class MomentFormat:
    """The `when` filter: one zone and one clock for every page of the process.

    `moment | when` gives '1 Dec 2026, 09:05 GMT (5 min ago)'; `when("date")` the local day
    only; a `date` gives 'Tue 1 Dec 2026'; None gives a dash."""

    def __init__(self, *, timezone: str, clock: Clock) -> None:
        self.zone = ZoneInfo(timezone)
        self.clock = clock

    def local(self, moment: datetime) -> datetime:
        aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        return aware.astimezone(self.zone)

    def text(self, moment: datetime) -> str:
        """'1 Dec 2026, 09:05 GMT' in the hospital's zone."""
        local = self.local(moment)
        return f"{local.day} {local:%b %Y, %H:%M %Z}"

    def __call__(self, moment: datetime | date | None, style: str = "full") -> Markup:
        if moment is None:
            return Markup("—")
        if not isinstance(moment, datetime):
            label = f"{moment:%a} {moment.day} {moment:%b %Y}"
            return Markup('<time datetime="{}">{}</time>').format(machine_value(moment), label)
        local = self.local(moment)
        if style == "date":
            label = escape(f"{local.day} {local:%b %Y}")
        else:
            label = escape(self.text(moment)) + Markup(' <span class="ago">({})</span>').format(
                relative(moment, now=self.clock.now())
            )
        return Markup('<time datetime="{}" title="{}">{}</time>').format(
            machine_value(moment), f"{local:%A} {self.text(moment)}", label
        )


def install(env: Environment, *, timezone: str, clock: Clock) -> MomentFormat:
    """Add the `when` filter (and `local_time` for form values) to a page environment."""
    moments = MomentFormat(timezone=timezone, clock=clock)
    env.filters["when"] = moments
    env.filters["local_time"] = moments.local
    return moments
