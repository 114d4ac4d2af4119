"""SQLite: the words of the full-text index, so that a search word can be looked up as the few
whole words it is the start of.

FTS5 answers a prefix ("cramp"*) by first gathering every hit of every index word with that
start into one list: its cost grows with the number of hits, however few rows a page needs, and
a test of one message against it pays that cost again. A whole word ("cramps") is read lazily, so
testing one message costs a seek. `message_term` (migration 0021) lists every word the index
holds; `whole_words` turns a search word into the words it starts, and a search for
("cramping" OR "cramps") finds what "cramp"* finds, at the price of a seek per message.

`add_new_terms` keeps the list complete: the messages being indexed, and those edited since their
words were listed (`message_term_pending`, filled by a trigger), are tokenised by FTS5 itself in a
small temporary index with the same tokenizer, and that index's words are added. Words of
deleted or edited-away text stay (a word no message has any more matches nothing) until an
erase makes the list again from the index (`inbox.privacy.deletion.wipe_deleted`).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

# The tokenizer of message_fts (migration 0006_search): the words must be the index's own.
TOKENIZER = "unicode61 remove_diacritics 2"
MAX_WORDS = 40  # a search word that starts more index words is left to FTS5's prefix query
# only a search word FTS5 keeps as it is (lower-case letters and digits) is looked up
_PLAIN = re.compile(r"[a-z0-9]+")

_BATCH = f"""CREATE VIRTUAL TABLE IF NOT EXISTS temp.message_fts_batch
    USING fts5(name, email, subject, body, content='', detail=none, columnsize=0,
    tokenize='{TOKENIZER}')"""
_BATCH_TERMS = """CREATE VIRTUAL TABLE IF NOT EXISTS temp.message_fts_batch_terms
    USING fts5vocab(temp, message_fts_batch, 'row')"""
_FILL_BATCH = """INSERT INTO temp.message_fts_batch(rowid, name, email, subject, body)
    SELECT id, name, email, subject, body FROM message
    WHERE id > (SELECT last_id FROM message_fts_progress) ORDER BY id"""
_FILL_EDITED = """INSERT INTO temp.message_fts_batch(rowid, name, email, subject, body)
    SELECT message.id, name, email, subject, body
    FROM message_term_pending JOIN message ON message.id = message_term_pending.id
    WHERE message.id <= (SELECT last_id FROM message_fts_progress)"""
_PENDING = "SELECT EXISTS (SELECT 1 FROM message_term_pending)"
_KEEP_TERMS = """INSERT OR IGNORE INTO message_term(term)
    SELECT term FROM temp.message_fts_batch_terms"""
_EMPTY_BATCH = "INSERT INTO temp.message_fts_batch(message_fts_batch) VALUES ('delete-all')"
_EMPTY_PENDING = "DELETE FROM message_term_pending"


def edited_since(connection: sa.Connection) -> bool:
    """Whether indexed messages were edited since their words were listed."""
    return bool(connection.exec_driver_sql(_PENDING).scalar())


def add_new_terms(connection: sa.Connection) -> None:
    """Add the words of the messages not indexed yet (id above message_fts_progress.last_id) and
    of those edited since to `message_term`, in the caller's write transaction; call it before
    moving last_id on."""
    connection.exec_driver_sql(_BATCH)
    connection.exec_driver_sql(_BATCH_TERMS)
    connection.exec_driver_sql(_FILL_BATCH)
    connection.exec_driver_sql(_FILL_EDITED)
    connection.exec_driver_sql(_EMPTY_PENDING)
    connection.exec_driver_sql(_KEEP_TERMS)
    connection.exec_driver_sql(_EMPTY_BATCH)


def whole_words(connection: sa.Connection, term: str) -> list[str] | None:
    """The index words that start with search word `term` (itself included when it is one);
    None when `term` is not plain letters and digits or starts more than MAX_WORDS words: then
    only FTS5's own prefix query means the same."""
    if not _PLAIN.fullmatch(term):
        return None
    found = connection.execute(
        sa.text("SELECT term FROM message_term WHERE term >= :start ORDER BY term LIMIT :n"),
        {"start": term, "n": MAX_WORDS + 1},
    ).scalars()
    words = [word for word in found if word.startswith(term)]
    return None if len(words) > MAX_WORDS else words
