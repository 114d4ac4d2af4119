"""PostgreSQL: each message's search document stored with it, indexed as before

A search that matches many messages walks the list and tests each conversation's messages
against the words (the planner's choice, and the right one when a page fills quickly). With only
an index on the expression, each test computed `to_tsvector` over the message again; stored in
`message.search_document` (a generated column, kept by PostgreSQL on every insert and edit), the
test reads it. The GIN index moves to the column. SQLite is unchanged (FTS5, migration 0006).

Revision ID: 0022_search_document
Revises: 0021_search_words
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_search_document"
down_revision: str | None = "0021_search_words"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the expression of migration 0006_search, now computed once per row
DOCUMENT = "to_tsvector('simple'::regconfig, name || ' ' || email || ' ' || subject || ' ' || body)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"ALTER TABLE message ADD COLUMN search_document tsvector GENERATED ALWAYS AS ({DOCUMENT}) "
        "STORED"
    )
    with op.get_context().autocommit_block():  # a live message table keeps taking submissions
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_message_search_document "
            "ON message USING gin (search_document)"
        )
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_message_search")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX IF NOT EXISTS ix_message_search ON message USING gin ({DOCUMENT})")
    op.execute("DROP INDEX IF EXISTS ix_message_search_document")
    op.execute("ALTER TABLE message DROP COLUMN search_document")
