"""SQLite: index new messages for search after they are stored, not while the patient waits

The insert trigger of 0006 tokenised every message inside the public form's request (about a
quarter of its time). Now `message_fts_progress.last_id` says up to which message id the FTS5
index is complete; `inbox.review.search.index_new_messages` adds the rest (run by the worker each
tick, and by every search before it queries, so search never misses a message).

Deletes and edits touch the index only for rows it already holds. A delete of the newest rows
lowers `last_id` to the largest id left, because SQLite gives the next row max(id) + 1: a reused
id must count as not yet indexed. PostgreSQL is unchanged (its GIN index is kept by the insert).

Revision ID: 0007_search_deferred
Revises: 0006_search
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_search_deferred"
down_revision: str | None = "0006_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "name, email, subject, body"
_NEW = "new.name, new.email, new.subject, new.body"
_OLD = "old.name, old.email, old.subject, old.body"
_INDEXED = "old.id <= (SELECT last_id FROM message_fts_progress)"

UP = [
    """CREATE TABLE message_fts_progress (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_id INTEGER NOT NULL)""",
    # 0006's triggers kept the index complete up to now
    """INSERT INTO message_fts_progress (id, last_id)
        VALUES (1, coalesce((SELECT max(id) FROM message), 0))""",
    "DROP TRIGGER message_fts_insert",
    "DROP TRIGGER message_fts_delete",
    "DROP TRIGGER message_fts_update",
    f"""CREATE TRIGGER message_fts_delete AFTER DELETE ON message WHEN {_INDEXED} BEGIN
        INSERT INTO message_fts(message_fts, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD});
        UPDATE message_fts_progress
            SET last_id = min(last_id, coalesce((SELECT max(id) FROM message), 0));
    END""",
    f"""CREATE TRIGGER message_fts_update AFTER UPDATE OF {_COLUMNS} ON message
    WHEN {_INDEXED} BEGIN
        INSERT INTO message_fts(message_fts, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD});
        INSERT INTO message_fts(rowid, {_COLUMNS}) VALUES (new.id, {_NEW});
    END""",
]

# back to 0006: triggers on every insert, and an index rebuilt from the table
DOWN = [
    "DROP TRIGGER message_fts_update",
    "DROP TRIGGER message_fts_delete",
    "DROP TABLE message_fts_progress",
    f"""CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
        INSERT INTO message_fts(rowid, {_COLUMNS}) VALUES (new.id, {_NEW});
    END""",
    f"""CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD});
    END""",
    f"""CREATE TRIGGER message_fts_update AFTER UPDATE OF {_COLUMNS} ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD});
        INSERT INTO message_fts(rowid, {_COLUMNS}) VALUES (new.id, {_NEW});
    END""",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in DOWN:
            op.execute(statement)
