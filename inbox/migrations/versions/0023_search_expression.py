"""PostgreSQL: back to the GIN index on the search expression (0006), undoing 0022's stored column

With `message.search_document` stored, testing one message looked cheap to the planner, and at a
million conversations it walked the whole list for a search with few hits (over 4.5 s, the
statement timeout, in bench/inbox.py). Until a search chooses its plan by the number of hits, as
on SQLite, the expression index and its costlier per-row test are what the planner knew to use.

Revision ID: 0023_search_expression
Revises: 0022_search_document
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023_search_expression"
down_revision: str | None = "0022_search_document"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the expression of migration 0006_search
DOCUMENT = "to_tsvector('simple'::regconfig, name || ' ' || email || ' ' || subject || ' ' || body)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():  # a live message table keeps taking submissions
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_message_search "
            f"ON message USING gin ({DOCUMENT})"
        )
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_message_search_document")
    op.execute("ALTER TABLE message DROP COLUMN IF EXISTS search_document")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"ALTER TABLE message ADD COLUMN search_document tsvector GENERATED ALWAYS AS ({DOCUMENT}) "
        "STORED"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_message_search_document "
        "ON message USING gin (search_document)"
    )
    op.execute("DROP INDEX IF EXISTS ix_message_search")
