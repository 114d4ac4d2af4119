"""The inbox list: conversations by tab (state), search, keyset pagination; and failed mail.

Every page is read through an index range, whatever the size of the table: each tab is a union
of (state, urgent) segments that `ix_conversation_queue (state, urgent, last_message_at, id)`
serves in order, each segment limited to one page, merged and cut to one page. No OFFSET: the
cursor is the sort key of the last row shown, so a page costs the same on page 1 and page 9000.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

import sqlalchemy as sa
from sqlmodel import Session

from inbox.conversations.models import (
    Contact,
    Conversation,
    ConversationState,
    Message,
    MessageStatus,
)
from inbox.drafting.models import Draft
from inbox.errors import InboxError
from inbox.outbox.models import MailState, OutboxMail
from inbox.review import search

CONVERSATION = Conversation.__table__  # type: ignore[attr-defined]
CONTACT = Contact.__table__  # type: ignore[attr-defined]
MESSAGE = Message.__table__  # type: ignore[attr-defined]
DRAFT = Draft.__table__  # type: ignore[attr-defined]
MAIL = OutboxMail.__table__  # type: ignore[attr-defined]
PAGE_SIZE = 25
COUNT_CAP = 999  # tab counts above it show as "999+"
EXCERPT_CHARS = 180
EXCERPT_FETCH = 3 * EXCERPT_CHARS  # room for the whitespace that folding removes


class Order(Enum):
    URGENT_THEN_OLDEST = "urgent first, then the longest waiting"
    OLDEST = "longest waiting first"
    NEWEST = "newest first"


@dataclass(frozen=True)
class Tab:
    slug: str
    label: str
    states: tuple[str, ...]  # empty: every state
    order: Order
    urgent_only: bool = False


TABS: tuple[Tab, ...] = (
    Tab("review", "Needs review", (ConversationState.REVIEW,), Order.URGENT_THEN_OLDEST),
    Tab("urgent", "Urgent", (ConversationState.REVIEW,), Order.OLDEST, urgent_only=True),
    Tab("queued", "Queued", (ConversationState.QUEUED,), Order.NEWEST),
    Tab("sent", "Sent", (ConversationState.SENT,), Order.NEWEST),
    Tab("failed", "Failed", (ConversationState.FAILED,), Order.NEWEST),
    Tab("spam", "Spam", (ConversationState.SPAM,), Order.NEWEST),
    Tab("closed", "Closed", (ConversationState.CLOSED,), Order.NEWEST),
    Tab("all", "All", (), Order.NEWEST),
)
TABS_BY_SLUG = {tab.slug: tab for tab in TABS}


class PageLinkInvalid(InboxError):
    """A `after=` cursor that was not made by us (edited or truncated link)."""

    status = 400


class TabNotFound(InboxError):
    status = 404


def get_tab(slug: str) -> Tab:
    """The tab called `slug`; raises TabNotFound."""
    tab = TABS_BY_SLUG.get(slug)
    if tab is None:
        raise TabNotFound(f"There is no list called {slug!r}.")
    return tab


@dataclass(frozen=True)
class Cursor:
    """The sort key of the last row of a page: where the next page starts."""

    urgent: bool
    last_message_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{int(self.urgent)}|{self.last_message_at.isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            urgent, moment, ident = raw.split("|")
            at = datetime.fromisoformat(moment)
            if urgent not in ("0", "1") or at.tzinfo is None:
                raise ValueError(raw)
            return cls(urgent=urgent == "1", last_message_at=at, id=int(ident))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise PageLinkInvalid(
                "That page link is not valid; start again from the list."
            ) from exc


@dataclass
class Row:
    id: int
    subject: str
    state: str
    urgent: bool
    urgency: str
    language: str | None
    needs_reader: bool
    last_message_at: datetime
    name: str
    email: str
    excerpt: str = ""
    section_ids: list[str] = field(default_factory=list)
    urgency_reasons: list[str] = field(default_factory=list)


@dataclass
class Page:
    tab: Tab
    rows: list[Row]
    next_cursor: Cursor | None
    terms: list[str]


def list_conversations(
    session: Session,
    *,
    tab: Tab,
    terms: list[str] | None = None,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One page of `tab`, optionally only conversations with a message matching all `terms`."""
    terms = terms or []
    matching = search.conversation_filter(session, terms, CONVERSATION.c.id) if terms else None
    built = [_segment(tab, urgent, after, matching, limit + 1) for urgent in _urgent_values(tab)]
    segments = [segment for segment in built if segment is not None]
    if not segments:
        return Page(tab=tab, rows=[], next_cursor=None, terms=terms)
    union = sa.union_all(*[segment.subquery().select() for segment in segments]).subquery("page")
    key = _sort_key(tab.order, union.c)
    query = (
        sa.select(union, CONTACT.c.name, CONTACT.c.email)
        .join(CONTACT, CONTACT.c.id == union.c.contact_id)
        .order_by(*key)
        .limit(_inline(limit + 1))
    )
    found = session.execute(query).all()
    rows = [
        Row(
            id=item.id,
            subject=item.subject,
            state=item.state,
            urgent=bool(item.urgent),
            urgency=item.urgency,
            language=item.language,
            needs_reader=bool(item.needs_reader),
            last_message_at=item.last_message_at,
            name=item.name,
            email=item.email,
        )
        for item in found[:limit]
    ]
    next_cursor = None
    if len(found) > limit:
        last = rows[-1]
        next_cursor = Cursor(urgent=last.urgent, last_message_at=last.last_message_at, id=last.id)
    _add_excerpts(session, rows)
    _add_sections(session, rows)
    return Page(tab=tab, rows=rows, next_cursor=next_cursor, terms=terms)


def _urgent_values(tab: Tab) -> tuple[bool | None, ...]:
    if tab.urgent_only:
        return (True,)
    if tab.order is Order.URGENT_THEN_OLDEST:
        return (True, False)
    if not tab.states:
        return (None,)  # the whole table by ix_conversation_recent
    return (True, False)


def _segment(
    tab: Tab,
    urgent: bool | None,
    after: Cursor | None,
    matching: sa.ColumnElement[bool] | None,
    limit: int,
) -> sa.Select | None:
    """The rows of one (state, urgent) index range after the cursor, in order; None if none."""
    c = CONVERSATION.c
    conditions: list[sa.ColumnElement[bool]] = []
    if tab.states:
        conditions.append(
            c.state == _inline(tab.states[0])
            if len(tab.states) == 1
            else c.state.in_([_inline(state) for state in tab.states])
        )
    if urgent is not None:
        conditions.append(c.urgent == (sa.true() if urgent else sa.false()))
    if after is not None:
        position = _after(tab.order, urgent, after)
        if position is False:
            return None
        if position is not None and position is not True:
            conditions.append(position)
    if matching is not None:
        conditions.append(matching)
    descending = tab.order is Order.NEWEST
    ordering = (c.last_message_at.desc(), c.id.desc()) if descending else (c.last_message_at, c.id)
    return (
        sa.select(
            c.id,
            c.contact_id,
            c.subject,
            c.state,
            c.urgent,
            c.urgency,
            c.language,
            c.needs_reader,
            c.last_message_at,
        )  # fmt: skip
        .where(*conditions)
        .order_by(*ordering)
        .limit(_inline(limit))
    )


def _after(
    order: Order, urgent: bool | None, cursor: Cursor
) -> sa.ColumnElement[bool] | None | bool:
    """The condition 'after the cursor' within a segment; None: the whole segment; False: none."""
    c = CONVERSATION.c
    # A row comparison, not `a < x OR (a = x AND id < y)`: both databases turn it into a range
    # of the index (the OR form is a filter over every row before the cursor on PostgreSQL).
    key = sa.tuple_(c.last_message_at, c.id)
    position = sa.tuple_(
        _inline(cursor.last_message_at, c.last_message_at.type), _inline(cursor.id)
    )
    if order is Order.NEWEST:
        return key < position
    if order is Order.URGENT_THEN_OLDEST and urgent != cursor.urgent:
        # urgent rows all come before the others
        return None if cursor.urgent else False
    return key > position


def _inline(value: object, type_: sa.types.TypeEngine | None = None) -> sa.BindParameter:
    """A value written into the SQL text rather than sent as a parameter.

    psycopg prepares a statement after five runs, and PostgreSQL may then plan it once for any
    values: blind to the LIMIT and the state, that generic plan walks the whole conversation
    index testing every message against a search (seconds at 200,000). Values in the text make
    each statement's plan the one for its values. Only our own ints, states and times go here.
    """
    return sa.bindparam(None, value, type_=type_, literal_execute=True)


def _sort_key(order: Order, columns: sa.ColumnCollection) -> tuple:
    if order is Order.NEWEST:
        return (columns.last_message_at.desc(), columns.id.desc())
    if order is Order.URGENT_THEN_OLDEST:
        return (columns.urgent.desc(), columns.last_message_at, columns.id)
    return (columns.last_message_at, columns.id)


def _add_excerpts(session: Session, rows: list[Row]) -> None:
    """The start of the latest message of each row (duplicates of a message left out)."""
    if not rows:
        return
    m = MESSAGE.c
    ranked = (
        sa.select(
            m.conversation_id,
            sa.func.substr(m.body, 1, EXCERPT_FETCH).label("start"),
            sa.func.row_number()
            .over(partition_by=m.conversation_id, order_by=(m.received_at.desc(), m.id.desc()))
            .label("rank"),
        )
        .where(m.conversation_id.in_([row.id for row in rows]))
        .where(m.status != MessageStatus.DUPLICATE)
        .subquery()
    )
    latest = dict(
        session.execute(
            sa.select(ranked.c.conversation_id, ranked.c.start).where(ranked.c.rank == 1)
        ).all()
    )
    for row in rows:
        start = latest.get(row.id) or ""
        row.excerpt = excerpt(start, cut=len(start) >= EXCERPT_FETCH)


def excerpt(text: str, *, length: int = EXCERPT_CHARS, cut: bool = False) -> str:
    """`text` on one line, cut at a word boundary near `length` characters, with an ellipsis
    (also when `cut`: the text is only the start of a longer one)."""
    flat = " ".join(text.split())
    if len(flat) <= length:
        return flat + "…" if cut else flat
    start = flat[:length].rsplit(" ", 1)[0] if " " in flat[:length] else flat[:length]
    return start.rstrip(" ,.;:") + "…"


def _add_sections(session: Session, rows: list[Row]) -> None:
    if not rows:
        return
    d = DRAFT.c
    drafts = {
        conversation_id: (section_ids, reasons)
        for conversation_id, section_ids, reasons in session.execute(
            sa.select(d.conversation_id, d.section_ids, d.urgency_reasons).where(
                d.conversation_id.in_([row.id for row in rows])
            )
        ).all()
    }
    for row in rows:
        section_ids, reasons = drafts.get(row.id) or ([], [])
        row.section_ids = list(section_ids or [])
        row.urgency_reasons = list(reasons or []) if row.urgent else []


def tab_counts(session: Session, *, cap: int = COUNT_CAP) -> dict[str, int]:
    """How many conversations wait in the tabs that need action (review, urgent, failed), each
    counted up to `cap` + 1 only, so that a huge backlog costs no more than a small one."""
    c = CONVERSATION.c

    def capped(*conditions: sa.ColumnElement[bool]) -> sa.ScalarSelect:
        found = sa.select(c.id).where(*conditions).limit(cap + 1).subquery()
        return sa.select(sa.func.count()).select_from(found).scalar_subquery()

    review = c.state == ConversationState.REVIEW
    row = session.execute(
        sa.select(
            capped(review),
            capped(review, c.urgent == sa.true()),
            capped(c.state == ConversationState.FAILED),
        )
    ).one()
    return dict(zip(("review", "urgent", "failed"), row, strict=True))


# --- failed mail


@dataclass(frozen=True)
class FailedMail:
    id: int
    kind: str
    recipient: str
    conversation_id: int | None
    reason: str
    attempts: int
    failed_at: datetime | None
    held: bool = False  # over the hourly cap of automatic mail, never tried


@dataclass
class FailurePage:
    mails: list[FailedMail]
    next_after: int | None
    failed_total: int
    held_total: int
    pending: dict[str, int]  # state -> count, for queued and sending


_LISTED_STATES = (MailState.FAILED, MailState.HELD, MailState.QUEUED, MailState.SENDING)


def list_failed_mails(
    session: Session, *, after: int | None = None, limit: int = 50
) -> FailurePage:
    """Failed and held mails, newest first (keyset on id), with the totals of failed, held and
    pending mails."""
    m = MAIL.c
    query = (
        sa.select(
            m.id,
            m.kind,
            m.recipient,
            m.conversation_id,
            m.last_error,
            m.server_reply,
            m.attempts,
            m.failed_at,
            m.state,
        )
        .where(m.state.in_((MailState.FAILED, MailState.HELD)))
        .order_by(m.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(m.id < after)
    found = session.execute(query).all()
    mails = [
        FailedMail(
            id=item.id,
            kind=item.kind,
            recipient=item.recipient,
            conversation_id=item.conversation_id,
            reason=item.last_error or item.server_reply or "No reason recorded.",
            attempts=item.attempts,
            failed_at=item.failed_at,
            held=item.state == MailState.HELD,
        )
        for item in found[:limit]
    ]
    counts = dict(
        session.execute(
            sa.select(m.state, sa.func.count()).where(m.state.in_(_LISTED_STATES)).group_by(m.state)
        ).all()
    )
    return FailurePage(
        mails=mails,
        next_after=mails[-1].id if len(found) > limit else None,
        failed_total=counts.get(MailState.FAILED, 0),
        held_total=counts.get(MailState.HELD, 0),
        pending={state: counts.get(state, 0) for state in (MailState.QUEUED, MailState.SENDING)},
    )


def mask_address(address: str) -> str:
    """'annabel@example.org' -> 'an…@example.org': enough to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    shown = local[:2] if len(local) > 3 else local[:1]
    return f"{shown}…@{domain}" if domain else f"{shown}…"
