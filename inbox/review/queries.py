"""The inbox list: conversations by tab (state, owner), filters, search, keyset pagination.

Every page is read through an index range, whatever the size of the table: each tab is a union
of (state, urgent) segments that `ix_conversation_queue (state, urgent, last_message_at, id)`
serves in order, each segment limited to one page, merged and cut to one page. No OFFSET: the
cursor is the sort key of the last row shown, so a page costs the same on page 1 and page 9000.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from inbox.conversations.models import (
    Contact,
    Conversation,
    ConversationKind,
    ConversationState,
    ConversationTag,
    Message,
    MessageStatus,
)
from inbox.drafting.models import Draft
from inbox.review import search
from inbox.review.tabs import TABS, TABS_BY_SLUG, Cursor, Order, Owner, Tab, get_tab
from inbox.review.team import tags_of as team_tags
from inbox.staff.models import StaffUser

CONVERSATION = Conversation.__table__  # type: ignore[attr-defined]
CONTACT = Contact.__table__  # type: ignore[attr-defined]
MESSAGE = Message.__table__  # type: ignore[attr-defined]
DRAFT = Draft.__table__  # type: ignore[attr-defined]
STAFF = StaffUser.__table__  # type: ignore[attr-defined]
TAG = ConversationTag.__table__  # type: ignore[attr-defined]
__all__ = ["TABS", "TABS_BY_SLUG", "Cursor", "Tab", "get_tab", "list_conversations", "tab_counts"]
PAGE_SIZE = 25
COUNT_CAP = 999  # tab counts above it show as "999+"
EXCERPT_CHARS = 180
EXCERPT_FETCH = 3 * EXCERPT_CHARS  # room for the whitespace that folding removes


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
    kind: str = ConversationKind.CLINICAL
    assignee: str | None = None  # the owner's e-mail address
    excerpt: str = ""
    section_ids: list[str] = field(default_factory=list)
    urgency_reasons: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Filters:
    """What narrows a tab: the words searched, a kind, a tag; and who is looking ("Mine")."""

    terms: list[str] = field(default_factory=list)
    kind: str | None = None
    tag: str | None = None
    staff_id: int | None = None


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
    filters: Filters | None = None,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One page of `tab`, narrowed by `filters` (conversations with a message matching all the
    terms, of one kind, with one tag)."""
    filters = filters or Filters()
    if filters.terms:  # the search's condition depends on the words and the hits: built each time
        query = _page_query(session, tab, filters, after, limit)
    else:
        query = _cached_page_query(session, tab, filters, after, limit)
    if query is None:
        return Page(tab=tab, rows=[], next_cursor=None, terms=filters.terms)
    values = {
        "staff_id": filters.staff_id or 0,
        "kind": filters.kind,
        "tag": filters.tag,
        "after_at": after.last_message_at if after else None,
        "after_id": after.id if after else None,
    }
    found = session.execute(query, values).all()
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
            kind=item.kind,
            assignee=item.assignee,
        )
        for item in found[:limit]
    ]
    next_cursor = None
    if len(found) > limit:
        last = rows[-1]
        next_cursor = Cursor(urgent=last.urgent, last_message_at=last.last_message_at, id=last.id)
    _add_excerpts(session, rows)
    _add_sections(session, rows)
    _add_tags(session, rows)
    return Page(tab=tab, rows=rows, next_cursor=next_cursor, terms=filters.terms)


# Built statements of the lists without a search, by their shape (tab, filters used, cursor's
# side, size): building the union of segments cost more than running it. The values (owner,
# kind, tag, cursor) are named parameters given at each run, still written into the SQL text.
_PAGE_QUERIES: dict[tuple, sa.Select | None] = {}


def _cached_page_query(
    session: Session, tab: Tab, filters: Filters, after: Cursor | None, limit: int
) -> sa.Select | None:
    shape = (
        tab.slug,
        filters.kind is not None,
        filters.tag is not None,
        None if after is None else after.urgent,
        limit,
    )
    if shape not in _PAGE_QUERIES:
        _PAGE_QUERIES[shape] = _page_query(session, tab, filters, after, limit)
    return _PAGE_QUERIES[shape]


def _page_query(
    session: Session, tab: Tab, filters: Filters, after: Cursor | None, limit: int
) -> sa.Select | None:
    """The statement of one page of `tab` (None: the cursor is past every segment)."""
    conditions = _narrowing(session, tab, filters)
    built = [
        _segment(tab, state, urgent, after, conditions, limit + 1)
        for state in (tab.states or (None,))
        for urgent in _urgent_values(tab)
    ]
    segments = [segment for segment in built if segment is not None]
    if not segments:
        return None
    union = sa.union_all(*[segment.subquery().select() for segment in segments]).subquery("page")
    key = _sort_key(tab.order, union.c)
    return (
        sa.select(union, CONTACT.c.name, CONTACT.c.email, STAFF.c.email.label("assignee"))
        .join(CONTACT, CONTACT.c.id == union.c.contact_id)
        .outerjoin(STAFF, STAFF.c.id == union.c.assignee_id)
        .order_by(*key)
        .limit(_inline(limit + 1))
    )


def _narrowing(session: Session, tab: Tab, filters: Filters) -> list[sa.ColumnElement[bool]]:
    c = CONVERSATION.c
    conditions: list[sa.ColumnElement[bool]] = []
    if tab.owner is Owner.ME:
        conditions.append(c.assignee_id == _value("staff_id", c.assignee_id.type))
    elif tab.owner is Owner.NOBODY:
        conditions.append(c.assignee_id.is_(None))
    if filters.kind:
        conditions.append(c.kind == _value("kind", c.kind.type))
    if filters.tag:
        tag = _value("tag", TAG.c.tag.type)
        tagged = sa.select(TAG.c.conversation_id).where(TAG.c.tag == tag)
        conditions.append(c.id.in_(tagged))
    if filters.terms:
        conditions.append(search.conversation_filter(session, filters.terms, c.id))
    return conditions


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
    state: str | None,
    urgent: bool | None,
    after: Cursor | None,
    narrowing: list[sa.ColumnElement[bool]],
    limit: int,
) -> sa.Select | None:
    """The rows of one (state, urgent) index range after the cursor, in order; None if none."""
    c = CONVERSATION.c
    conditions: list[sa.ColumnElement[bool]] = list(narrowing)
    if state is not None:
        conditions.append(c.state == _inline(state))
    if urgent is not None:
        conditions.append(c.urgent == (sa.true() if urgent else sa.false()))
    if after is not None:
        position = _after(tab.order, urgent, after)
        if position is False:
            return None
        if position is not None and position is not True:
            conditions.append(position)
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
            c.kind,
            c.assignee_id,
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
    position = sa.tuple_(_value("after_at", c.last_message_at.type), _value("after_id", c.id.type))
    if order is Order.NEWEST:
        return key < position
    if order is Order.URGENT_THEN_OLDEST and urgent != cursor.urgent:
        # urgent rows all come before the others
        return None if cursor.urgent else False
    return key > position


def _value(name: str, type_: sa.types.TypeEngine) -> sa.BindParameter:
    """A named value given when the statement runs, written into its SQL text (see _inline)."""
    return sa.bindparam(name, type_=type_, literal_execute=True)


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


def _add_tags(session: Session, rows: list[Row]) -> None:
    found = team_tags(session, [row.id for row in rows])
    for row in rows:
        row.tags = found.get(row.id, [])


def tab_counts(
    session: Session, *, staff_id: int | None = None, cap: int = COUNT_CAP
) -> dict[str, int]:
    """How many conversations wait in the tabs that need action (review, urgent, failed, mine,
    unassigned), each counted up to `cap` + 1 only, so that a huge backlog costs no more than a
    small one."""
    if cap not in _COUNT_QUERIES:  # built once: six subqueries cost more to build than to run
        _COUNT_QUERIES[cap] = _count_query(cap)
    row = session.execute(_COUNT_QUERIES[cap], {"staff_id": staff_id or 0}).one()
    return dict(zip(("review", "urgent", "failed", "mine", "unassigned"), row, strict=True))


_COUNT_QUERIES: dict[int, sa.Select] = {}


def _count_query(cap: int) -> sa.Select:
    c = CONVERSATION.c

    def capped(*conditions: sa.ColumnElement[bool]) -> sa.ScalarSelect:
        found = sa.select(c.id).where(*conditions).limit(cap + 1).subquery()
        return sa.select(sa.func.count()).select_from(found).scalar_subquery()

    review = c.state == ConversationState.REVIEW
    failed = c.state == ConversationState.FAILED
    mine = c.assignee_id == _value("staff_id", c.assignee_id.type)
    return sa.select(
        capped(review),
        capped(review, c.urgent == sa.true()),
        capped(failed),
        # two index ranges of ix_conversation_owner, not one IN over two states
        capped(mine, review) + capped(mine, failed),
        capped(c.assignee_id.is_(None), review),
    )
