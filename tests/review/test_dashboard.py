"""The dashboard: messages per day, median time to first reply, urgent waiting — from the data."""

from __future__ import annotations

import re
from datetime import timedelta

from inbox.conversations.models import ConversationState
from inbox.review import dashboard
from tests.review.test_list import add_conversation, signed_in  # noqa: F401

# the clock stands at 2026-03-02 10:00 UTC (= 10:00 in London)


def day_rows(html: str) -> dict[str, int]:
    return {
        day: int(count)
        for day, count in re.findall(
            r'<time datetime="([\d-]+)">[^<]+</time></th><td>(\d+)</td>', html
        )
    }


def test_figures_match_the_data(signed_in, runtime):  # noqa: F811
    now = runtime.clock.now()
    for hours in (1, 2, 3):  # today, 2 March
        add_conversation(
            runtime, at=now - timedelta(hours=hours), replied_after=timedelta(hours=hours)
        )
    add_conversation(runtime, at=now - timedelta(days=1), urgent=True)  # 1 March
    add_conversation(
        runtime,
        at=now - timedelta(days=1, hours=1),
        urgent=True,
        state=ConversationState.SENT,
        replied_after=timedelta(hours=10),
    )
    add_conversation(
        runtime, at=now - timedelta(days=1), state=ConversationState.SPAM
    )  # not counted
    add_conversation(runtime, at=now - timedelta(days=40))  # outside the 30 days

    page = signed_in.get("/dashboard")

    assert page.status_code == 200
    days = day_rows(page.text)
    assert len(days) == 30
    assert days["2026-03-02"] == 3
    assert days["2026-03-01"] == 2
    assert sum(days.values()) == 5
    assert min(days) == "2026-02-01"
    # first replies after 1 h, 2 h, 3 h and 10 h: the median is 2 h 30 min
    assert "2 h 30 min" in page.text
    assert "4 first replies" in page.text
    assert re.search(r'<dd><a href="/inbox\?tab=urgent">1</a>', page.text)
    assert "<svg" in page.text and 'role="img"' in page.text


def test_dashboard_of_an_empty_inbox(signed_in):  # noqa: F811
    page = signed_in.get("/dashboard")
    assert page.status_code == 200
    assert set(day_rows(page.text).values()) == {0}
    assert "—" in page.text


def test_dashboard_needs_sign_in(client):
    assert client.get("/dashboard").status_code == 303


def test_days_follow_the_hospital_timezone(runtime):
    from datetime import UTC, datetime

    from inbox.db import session_scope

    # 23:30 UTC on 1 July is already 2 July in London (summer time)
    late = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    add_conversation(runtime, at=late)
    with session_scope(runtime.engine) as session:
        figures = dashboard.figures(
            session, now=late + timedelta(hours=1), timezone="Europe/London"
        )
    assert dict(figures.per_day)[late.date() + timedelta(days=1)] == 1


def test_chart_bars_scale_to_the_busiest_day():
    from datetime import date

    per_day = [(date(2026, 3, 1) + timedelta(days=index), index) for index in range(30)]
    chart = dashboard.bar_chart(per_day)
    assert chart.bars[0].height == 0
    tallest = chart.bars[-1]
    assert tallest.y >= 0 and tallest.y + tallest.height == chart.plot_bottom
    assert [value for value, _ in chart.ticks] == [0, 10, 20, 30, 40]
    assert len(chart.labels) == 5  # one a week, the last under today
