"""full-text search over messages (name, e-mail, subject, text)

SQLite: an FTS5 external-content table `message_fts` over `message`, kept in step by triggers
(the text lives once, in `message`). PostgreSQL: a GIN index on a `to_tsvector('simple', …)`
expression; `inbox.review.search` queries with the very same expression so the index is used.

Caution for later migrations on SQLite: a batch operation that recreates `message` drops its
triggers; such a migration must create the three triggers again (and 'rebuild' the index).

Revision ID: 0006_search
Revises: 0005_followups
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_search"
down_revision: str | None = "0005_followups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "name, email, subject, body"
_NEW = "new.name, new.email, new.subject, new.body"
_OLD = "old.name, old.email, old.subject, old.body"

SQLITE_UP = [
    f"""CREATE VIRTUAL TABLE message_fts USING fts5({_COLUMNS}, content='message',
        content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
        INSERT INTO message_fts(rowid, {_COLUMNS}) VALUES (new.id, {_NEW});
    END""",
    f"""CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD});
    END""",
    # Only when searchable text changes: counters such as duplicate_count leave the index alone.
    f"""CREATE TRIGGER message_fts_update AFTER UPDATE OF {_COLUMNS} ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD});
        INSERT INTO message_fts(rowid, {_COLUMNS}) VALUES (new.id, {_NEW});
    END""",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS message_fts_update",
    "DROP TRIGGER IF EXISTS message_fts_delete",
    "DROP TRIGGER IF EXISTS message_fts_insert",
    "DROP TABLE IF EXISTS message_fts",
]

# Keep identical to inbox.review.search.PG_DOCUMENT, or the planner cannot use the index.
PG_DOCUMENT = (
    "to_tsvector('simple'::regconfig, name || ' ' || email || ' ' || subject || ' ' || body)"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        # CONCURRENTLY: a large, live message table keeps taking submissions while it builds.
        with op.get_context().autocommit_block():
            op.execute(
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_message_search "
                f"ON message USING gin ({PG_DOCUMENT})"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_message_search")
