"""The dashboard's figures and the geometry of its bar chart (drawn as SVG by the template).

Days are the hospital's local days (Settings.timezone): their bounds are worked out here (so
daylight saving is right) and the database counts the messages between them, reading only the
window of ix_message_received_at. The first replies are found by one pass over conversations
(first_reply_at has no index of its own; tens of milliseconds at 200,000 conversations).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from inbox.conversations.models import Conversation, ConversationState, Message, MessageStatus
from inbox.drafting.labels import Agreement, agreement

CONVERSATION = Conversation.__table__  # type: ignore[attr-defined]
MESSAGE = Message.__table__  # type: ignore[attr-defined]
DAYS = 30


@dataclass(frozen=True)
class Figures:
    per_day: list[tuple[date, int]]  # oldest first, DAYS entries, today last
    total: int
    median_first_reply: timedelta | None
    replies_measured: int
    urgent_waiting: int
    oldest_urgent_at: datetime | None
    agreement: Agreement  # how often staff kept triage's suggestion
    since: datetime  # the start of the first day of the window


def figures(session: Session, *, now: datetime, timezone: str) -> Figures:
    """Messages per day (last DAYS local days), median first-reply time, urgent waiting, and
    how often staff kept triage's suggestion in that time."""
    zone = ZoneInfo(timezone)
    first_day = now.astimezone(zone).date() - timedelta(days=DAYS - 1)
    days = [first_day + timedelta(days=offset) for offset in range(DAYS)]
    bounds = [datetime.combine(day, datetime.min.time(), tzinfo=zone) for day in days]
    per_day = list(zip(days, _count_per_day(session, bounds), strict=True))

    c = CONVERSATION.c
    waits = [
        float(seconds)
        for seconds in session.execute(
            sa.select(seconds_between(session, c.created_at, c.first_reply_at)).where(
                c.first_reply_at >= bounds[0]
            )
        ).scalars()
    ]
    urgent = session.execute(
        sa.select(sa.func.count(), sa.func.min(c.last_message_at)).where(
            c.state == ConversationState.REVIEW, c.urgent == sa.true()
        )
    ).one()
    return Figures(
        per_day=per_day,
        total=sum(count for _, count in per_day),
        # whole seconds: julianday() arithmetic is a few milliseconds off
        median_first_reply=timedelta(seconds=round(statistics.median(waits))) if waits else None,
        replies_measured=len(waits),
        urgent_waiting=urgent[0],
        oldest_urgent_at=urgent[1],
        agreement=agreement(session, since=bounds[0]),
        since=bounds[0],
    )


def _count_per_day(session: Session, bounds: list[datetime]) -> list[int]:
    """Accepted messages received on each day that starts at bounds[i] (the last one until now)."""
    received = MESSAGE.c.received_at
    day_index = sa.case(
        *[(received < bound, index - 1) for index, bound in enumerate(bounds[1:], start=1)],
        else_=len(bounds) - 1,
    ).label("day")
    query = (
        sa.select(day_index, sa.func.count())
        .where(received >= bounds[0], MESSAGE.c.status == MessageStatus.ACCEPTED)
        .group_by(day_index)
    )
    counts = [0] * len(bounds)
    for index, number in session.execute(query).all():
        counts[index] = number
    return counts


def seconds_between(
    session: Session, start: sa.ColumnElement, end: sa.ColumnElement
) -> sa.ColumnElement[float]:
    if session.get_bind().dialect.name == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC
        return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0
    return sa.func.extract("epoch", end - start)  # type: ignore[return-value]


def duration_text(value: timedelta | None) -> str:
    """'2 h 5 min', '3 d 4 h', '45 min', '40 s'; '—' for None."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{seconds} s"


@dataclass(frozen=True)
class Bar:
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    bars: list[Bar]
    ticks: list[tuple[int, float]]  # (value, y) for the horizontal grid lines
    labels: list[tuple[str, float, str]]  # (text, x, text-anchor) under the bars, one a week


def bar_chart(per_day: list[tuple[date, int]], *, width: int = 420, height: int = 200) -> Chart:
    """Coordinates of a bar chart of `per_day` in a width × height SVG viewBox."""
    left, right, top, bottom = 30, 6, 10, 22
    plot_width, plot_height = width - left - right, height - top - bottom
    scale_max = _nice_ceiling(max((count for _, count in per_day), default=0))
    slot = plot_width / max(1, len(per_day))
    bars = []
    for index, (day, count) in enumerate(per_day):
        bar_height = plot_height * count / scale_max
        bars.append(
            Bar(
                day=day,
                count=count,
                x=round(left + index * slot + slot * 0.15, 1),
                y=round(top + plot_height - bar_height, 1),
                width=round(slot * 0.7, 1),
                height=round(bar_height, 1),
            )
        )
    step = scale_max // 4
    ticks = [
        (value, round(top + plot_height - plot_height * value / scale_max, 1))
        for value in range(0, scale_max + 1, step)
    ]
    last = len(per_day) - 1
    labels = [
        # today's label ends at its bar, so that it stays inside the picture
        (
            day.strftime("%d %b"),
            round(left + (index + (1 if index == last else 0.5)) * slot, 1),
            "end" if index == last else "middle",
        )
        for index, (day, _) in enumerate(per_day)
        if (last - index) % 7 == 0
    ]
    return Chart(
        width=width,
        height=height,
        plot_left=left,
        plot_right=width - right,
        plot_bottom=top + plot_height,
        bars=bars,
        ticks=ticks,
        labels=labels,
    )


def _nice_ceiling(value: int) -> int:
    """The axis' top: four equal steps of 1, 2 or 5 × 10^k that reach `value` (4, 8, 20, 40, …)."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if 4 * step * magnitude >= value:
                return 4 * step * magnitude
        magnitude *= 10
