"""Full-text search over messages: what staff type, turned into a safe database query.

SQLite uses the FTS5 table `message_fts` (migration 0006), PostgreSQL a GIN index on the stored
document `PG_DOCUMENT` (0006 indexed the expression; 0022 stored it, 0023 went back, 0024 stores
it again now that a search chooses by its number of hits). On SQLite new messages are indexed
after they are stored (migration 0007):
`index_new_messages` runs in the worker each tick and before every search.

Each whitespace-separated word of the query must match (AND), as a prefix, in the
name, e-mail, subject or text of any message of the conversation. Staff input never reaches the
query syntax: words are reduced to letters, digits and the few marks of an e-mail address, quoted.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from inbox.conversations.models import Message
from inbox.db import writing
from inbox.review import vocabulary
from inbox.review.models import StaffSearch
from inbox.runtime import Runtime

MESSAGE = Message.__table__  # type: ignore[attr-defined]
KEPT = StaffSearch.__table__  # type: ignore[attr-defined]
SEARCH_KEPT_FOR = timedelta(hours=12)  # a working day: the list links of a search keep working
MAX_QUERY_LENGTH = 200
MAX_TERMS = 8
MAX_TERM_LENGTH = 64
# above this many matching messages (counted on SQLite, estimated on PostgreSQL), search walks
# the list in order instead of starting from the hits
DENSE_MATCHES = 5000
# SQLite: after indexing this many messages at once (an import, a first migration), the index is
# merged into one segment, so that a look-up of one message is one seek, not one per segment
MERGE_AFTER = 10_000

# to_tsvector('simple', name, e-mail, subject, text), stored since migration 0024 (a generated
# column), so that a walk of the list reads it rather than tokenising each message it tests
PG_DOCUMENT_COLUMN = "search_document"
PG_DOCUMENT = f"message.{PG_DOCUMENT_COLUMN}"
PG_DOCUMENT_INDEX = "ix_message_search_document"

_WORD = re.compile(r"\w", re.UNICODE)
_KEEP = re.compile(r"[^\w@.+\-]+", re.UNICODE)


_UNINDEXED = "SELECT coalesce((SELECT max(id) FROM message), 0) - last_id FROM message_fts_progress"
_INDEX_NEW = """INSERT INTO message_fts(rowid, name, email, subject, body)
    SELECT id, name, email, subject, body FROM message
    WHERE id > (SELECT last_id FROM message_fts_progress) ORDER BY id"""
_MARK_INDEXED = "UPDATE message_fts_progress SET last_id = (SELECT max(id) FROM message)"
_MERGE = "INSERT INTO message_fts(message_fts) VALUES ('optimize')"


def index_new_messages(connection: sa.Connection) -> bool:
    """SQLite: add the messages stored since the last call to the full-text index, in the
    caller's (write) transaction; True when there were any. PostgreSQL: nothing to do."""
    if connection.dialect.name != "sqlite":
        return False
    unindexed = connection.exec_driver_sql(_UNINDEXED).scalar() or 0
    if unindexed <= 0:
        if vocabulary.edited_since(connection):  # the index has them: only their words
            vocabulary.add_new_terms(connection)
        return False
    connection.exec_driver_sql(_INDEX_NEW)
    vocabulary.add_new_terms(connection)
    connection.exec_driver_sql(_MARK_INDEXED)
    if unindexed >= MERGE_AFTER:
        connection.exec_driver_sql(_MERGE)
    return True


def index_job(runtime: Runtime) -> int:
    """The worker's part: keep the index close behind the newest message (1 when it indexed)."""
    if not runtime.sqlite:
        return 0
    with runtime.engine.begin() as connection:
        return int(index_new_messages(connection))


def search_terms(query: str) -> list[str]:
    """The words of `query` that can be searched: cleaned, lower-case, at most MAX_TERMS."""
    terms: list[str] = []
    for chunk in query.split():
        term = " ".join(_KEEP.sub(" ", chunk).split()).strip(".+-@ ").lower()[:MAX_TERM_LENGTH]
        if _WORD.search(term) and term not in terms:
            terms.append(term)
    return terms[:MAX_TERMS]


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression: each term a quoted phrase, a prefix unless it is a whole e-mail
    address ("ann"* "ann@example.org"), ANDed. FTS5 splits a term into a phrase of its words."""
    return " ".join(_phrase(term) for term in terms)


def fts5_words_query(
    connection: sa.Connection, terms: list[str], *, narrowed: bool = False
) -> tuple[str, bool]:
    """`fts5_query` with each prefix spelt as the index words it starts ("cramp"* becomes
    ("cramping" OR "cramps")) where `vocabulary` knows them; and whether every term is now
    read lazily, so that testing one message against the expression costs a seek. `narrowed`:
    a prefix that starts too many words is taken as the whole word only, so that the expression
    finds some of the hits, lazily (a surname, whose e-mail addresses start many words)."""
    parts, lazy = [], True
    for term in terms:
        words = None if "@" in term else vocabulary.whole_words(connection, term)
        if words:
            parts.append("(" + " OR ".join(_phrase(word, prefix=False) for word in words) + ")")
        else:  # a whole address, no index word with that start (both lazy), or too many words
            parts.append(_phrase(term, prefix=not narrowed))
            lazy = lazy and ("@" in term or words == [] or narrowed)
    return " AND ".join(parts), lazy


def _phrase(term: str, *, prefix: bool = True) -> str:
    return '"' + term.replace('"', "") + '"' + (_prefix(term, "*") if prefix else "")


def tsquery(terms: list[str]) -> str:
    """A to_tsquery() input of the same meaning: 'ann':* & 'ann@example.org'."""
    return " & ".join("'" + term.replace("'", "") + "'" + _prefix(term, ":*") for term in terms)


def _prefix(term: str, mark: str) -> str:
    # a whole address is matched exactly: a prefix over its common words (example, org) is slow
    return "" if "@" in term else mark


def conversation_filter(
    session: Session, terms: list[str], conversation_id: sa.ColumnElement[int]
) -> sa.ColumnElement[bool]:
    """A condition on `conversation_id`: the conversation has a message matching all `terms`."""
    if session.get_bind().dialect.name != "sqlite":
        return _postgres_filter(session, terms, conversation_id)
    with writing(session) as connection:  # so the newest messages are found too
        index_new_messages(connection)
        expression, lazy = fts5_words_query(connection, terms)
        narrower = None if lazy else fts5_words_query(connection, terms, narrowed=True)[0]
    hits = _fts5_hits(expression)
    # Counting a prefix's hits gathers them all first (as the walk will again); a narrower
    # expression, counted lazily, often shows already that they are many.
    many = narrower is not None and _fts5_count(session, narrower) > DENSE_MATCHES
    if not many and _fts5_count(session, expression) <= DENSE_MATCHES:
        # few hits: start from them (cost grows with the number of hits)
        return conversation_id.in_(
            sa.select(MESSAGE.c.conversation_id).where(MESSAGE.c.id.in_(hits))
        )
    # many hits: walk the tab in order and keep conversations with a hit, until a page is full
    message = MESSAGE.alias("hit")
    if lazy:  # each message of the walk looked up in the index: a seek per word
        one = hits.where(sa.literal_column("message_fts.rowid") == message.c.id)
        return sa.exists().where(message.c.conversation_id == conversation_id, sa.exists(one))
    # a prefix FTS5 gathers first: build the hit set once and test membership in it.
    # `id + 0` keeps SQLite from probing the message index once per hit for every conversation.
    return sa.exists().where(
        message.c.conversation_id == conversation_id, (message.c.id + 0).in_(hits)
    )


def _fts5_hits(expression: str) -> sa.Select[Any]:
    match = sa.literal_column("message_fts").op("MATCH")(sa.bindparam("fts", expression))
    return sa.select(sa.literal_column("rowid")).select_from(sa.table("message_fts")).where(match)


def _fts5_count(session: Session, expression: str) -> int:
    """How many messages `expression` matches, up to DENSE_MATCHES + 1."""
    found = _fts5_hits(expression).limit(DENSE_MATCHES + 1).subquery()
    return int(session.execute(sa.select(sa.func.count()).select_from(found)).scalar_one())


def _postgres_filter(
    session: Session, terms: list[str], conversation_id: sa.ColumnElement[int]
) -> sa.ColumnElement[bool]:
    document: sa.ColumnElement[Any] = sa.literal_column(PG_DOCUMENT)
    # The words go into the SQL text (quoted by SQLAlchemy), not as a parameter: see
    # queries._inline for why a generic plan must never serve a search.
    words: sa.BindParameter[str] = sa.bindparam("tsq", tsquery(terms), literal_execute=True)
    query = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), words)
    hits = sa.select(MESSAGE.c.conversation_id).where(document.op("@@")(query))
    if _estimated_rows(session, hits) <= DENSE_MATCHES:
        # Few hits: start from them. OFFSET 0 keeps PostgreSQL from turning the IN into a walk
        # of the list in order, which it prices far below what computing each message's
        # document costs (a walk for an address found once read the whole table).
        return conversation_id.in_(hits.offset(sa.literal_column("0")))
    # many hits: the planner walks the list in order and tests each conversation's messages
    return conversation_id.in_(hits)


def _estimated_rows(session: Session, statement: sa.Select[Any]) -> float:
    """PostgreSQL's own estimate of the rows of `statement` (from the word frequencies that
    ANALYZE keeps for the search index): a plan, not a run, as a count of a common word's
    hits reads its whole posting list (over a second at 1,000,000 messages)."""
    sql = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = session.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"])


# --- a search kept on the server, so that its words never appear in a URL


def keep_search(session: Session, *, staff_id: int, query: str, now: datetime) -> str:
    """Store what `staff_id` searched for; returns the random id the list links carry. The
    staff member's searches older than SEARCH_KEPT_FOR are deleted on the way."""
    session.execute(
        sa.delete(KEPT).where(
            KEPT.c.staff_id == staff_id, KEPT.c.created_at < now - SEARCH_KEPT_FOR
        )
    )
    ident = secrets.token_urlsafe(18)[:24]
    session.execute(
        sa.insert(KEPT).values(
            id=ident, staff_id=staff_id, query=query.strip()[:MAX_QUERY_LENGTH], created_at=now
        )
    )
    return ident


def kept_search(session: Session, *, ident: str, staff_id: int, now: datetime) -> str | None:
    """The words of kept search `ident` when it is `staff_id`'s and not expired; else None."""
    if not ident or len(ident) > 32:
        return None
    return session.execute(
        sa.select(KEPT.c.query).where(
            KEPT.c.id == ident,
            KEPT.c.staff_id == staff_id,
            KEPT.c.created_at >= now - SEARCH_KEPT_FOR,
        )
    ).scalar()


def purge_kept_searches(session: Session, *, now: datetime) -> int:
    """Delete every expired kept search (the daily purge); returns how many."""
    result = session.connection().execute(
        sa.delete(KEPT).where(KEPT.c.created_at < now - SEARCH_KEPT_FOR)
    )
    return int(result.rowcount or 0)


def expire_kept_searches(runtime: Runtime) -> int:
    """The worker's part: delete expired kept searches (a read first: no write when none)."""
    now = runtime.clock.now()
    with runtime.engine.connect() as connection:
        expired = connection.execute(
            sa.select(KEPT.c.id).where(KEPT.c.created_at < now - SEARCH_KEPT_FOR).limit(1)
        ).first()
    if expired is None:
        return 0
    with Session(runtime.engine) as session, session.begin():
        return purge_kept_searches(session, now=now)
