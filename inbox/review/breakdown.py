"""The dashboard's breakdowns: time to first reply by urgency, conversations by kind, messages by
suggested section,
the patients' "did this help?" answers per section, and the oldest conversation waiting.

Aggregates only: no name, address or message text leaves these functions, so the CSV export
(`rows_for_csv`) holds nothing about a patient. The window is the dashboard's (the last DAYS
local days, starting at `since`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from inbox.conversations.models import (
    KIND_LABELS,
    Conversation,
    ConversationKind,
    ConversationState,
    Message,
    MessageStatus,
)
from inbox.drafting.models import Draft
from inbox.feedback.service import Tally, tally
from inbox.review.dashboard import seconds_between

CONVERSATION = Conversation.__table__  # type: ignore[attr-defined]
MESSAGE = Message.__table__  # type: ignore[attr-defined]
DRAFT = Draft.__table__  # type: ignore[attr-defined]

# (label, upper bound in hours): how long a first reply took
WAIT_BANDS: tuple[tuple[str, float], ...] = (
    ("under 1 hour", 1),
    ("1 to 4 hours", 4),
    ("4 to 24 hours", 24),
    ("1 to 2 days", 48),
    ("2 to 7 days", 168),
    ("over 7 days", float("inf")),
)


@dataclass(frozen=True)
class WaitBand:
    label: str
    urgent: int
    routine: int


@dataclass(frozen=True)
class SectionRow:
    section_id: str
    title: str
    suggested: int  # conversations of the window whose draft suggested it
    answers: Tally | None  # the patients' answers about it


@dataclass(frozen=True)
class KindRow:
    kind: str
    label: str
    conversations: int


@dataclass(frozen=True)
class Waiting:
    conversation_id: int
    since: datetime
    urgent: bool


@dataclass(frozen=True)
class Breakdown:
    first_reply: list[WaitBand]
    kinds: list[KindRow]
    sections: list[SectionRow]
    oldest_waiting: Waiting | None
    answers_total: int


def breakdown(session: Session, *, since: datetime, titles: dict[str, str]) -> Breakdown:
    """Every breakdown of the window starting at `since`; `titles` names the sections."""
    answers = {item.section_id: item for item in tally(session, since=since)}
    suggested = _suggested_sections(session, since=since)
    ids = sorted(set(suggested) | set(answers), key=lambda key: (-suggested.get(key, 0), key))
    return Breakdown(
        first_reply=_first_reply_bands(session, since=since),
        kinds=_by_kind(session, since=since),
        sections=[
            SectionRow(
                section_id=key,
                title=titles.get(key, key),
                suggested=suggested.get(key, 0),
                answers=answers.get(key),
            )
            for key in ids
        ],
        oldest_waiting=_oldest_waiting(session),
        answers_total=sum(item.answers for item in answers.values()),
    )


def _first_reply_bands(session: Session, *, since: datetime) -> list[WaitBand]:
    c = CONVERSATION.c
    rows = session.execute(
        sa.select(c.urgent, seconds_between(session, c.created_at, c.first_reply_at)).where(
            c.first_reply_at >= since
        )
    ).all()
    counts: Counter[tuple[str, bool]] = Counter()
    for urgent, seconds in rows:
        hours = float(seconds) / 3600
        label = next(label for label, bound in WAIT_BANDS if hours < bound)
        counts[(label, bool(urgent))] += 1
    return [
        WaitBand(label=label, urgent=counts[(label, True)], routine=counts[(label, False)])
        for label, _ in WAIT_BANDS
    ]


def _by_kind(session: Session, *, since: datetime) -> list[KindRow]:
    """Conversations opened in the window (spam left out) per kind, every kind listed."""
    c = CONVERSATION.c
    counts = dict(
        session.execute(
            sa.select(c.kind, sa.func.count())
            .where(c.created_at >= since, c.state != ConversationState.SPAM)
            .group_by(c.kind)
        ).all()
    )
    return [
        KindRow(kind=kind.value, label=KIND_LABELS[kind], conversations=int(counts.get(kind, 0)))
        for kind in ConversationKind
    ]


def _suggested_sections(session: Session, *, since: datetime) -> Counter[str]:
    """How many drafts of messages received in the window suggested each section."""
    query = (
        sa.select(DRAFT.c.suggested)
        .join(MESSAGE, MESSAGE.c.id == DRAFT.c.message_id)
        .where(MESSAGE.c.received_at >= since, MESSAGE.c.status == MessageStatus.ACCEPTED)
    )
    counts: Counter[str] = Counter()
    for (suggested,) in session.execute(query):
        counts.update({item["section_id"] for item in suggested or [] if "section_id" in item})
    return counts


def _oldest_waiting(session: Session) -> Waiting | None:
    c = CONVERSATION.c
    row = session.execute(
        sa.select(c.id, c.last_message_at, c.urgent)
        .where(c.state == ConversationState.REVIEW)
        .order_by(c.last_message_at, c.id)
        .limit(1)
    ).first()
    return Waiting(conversation_id=row[0], since=row[1], urgent=bool(row[2])) if row else None


def bar_width(value: int, largest: int, *, full: float = 100.0) -> float:
    """A bar's length in a `full`-wide drawing, 0 for nothing."""
    return round(full * value / largest, 1) if largest else 0.0


def rows_for_csv(
    *, per_day: list[tuple[object, int]], parts: Breakdown, median: timedelta | None
) -> list[list[str]]:
    """The dashboard as CSV rows (figure, group, item, value): aggregate figures only."""
    rows = [["figure", "group", "item", "value"]]
    rows += [["messages per day", "", str(day), str(count)] for day, count in per_day]
    rows.append(
        [
            "median time to first reply (s)",
            "",
            "",
            str(int(median.total_seconds())) if median else "",
        ]
    )
    for band in parts.first_reply:
        rows.append(["first replies", "urgent", band.label, str(band.urgent)])
        rows.append(["first replies", "routine", band.label, str(band.routine)])
    for kind in parts.kinds:
        rows.append(["conversations by kind", "", kind.label, str(kind.conversations)])
    for section in parts.sections:
        rows.append(["messages by suggested section", "", section.title, str(section.suggested)])
        if section.answers:
            rows.append(["did this help: yes", "", section.title, str(section.answers.helpful)])
            rows.append(["did this help: no", "", section.title, str(section.answers.not_helpful)])
    return rows
