"""PostgreSQL: each message's search document stored with it again (as 0022), now that a search
chooses its plan by the number of hits

0022 stored the document so that a search with many hits, walking the list, reads it rather than
running `to_tsvector` over every message it tests (about 50 µs each: 40-60 ms for a surname at
1,000,000 conversations). 0023 undid it because the planner, seeing a cheap test, walked the
whole list for a search with few hits. Since then the search asks the planner's estimate of the
hits first and starts from them when they are few (`inbox.review.search`), so the cheap test
only serves the walks it is meant for. The column is analysed at once: the estimate depends on
its word frequencies, and a rewritten table is not analysed by autovacuum until it changes.

Revision ID: 0024_search_document_again
Revises: 0023_search_expression
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_search_document_again"
down_revision: str | None = "0023_search_expression"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the expression of migration 0006_search, computed once per row
DOCUMENT = "to_tsvector('simple'::regconfig, name || ' ' || email || ' ' || subject || ' ' || body)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE message ADD COLUMN IF NOT EXISTS search_document tsvector "
        f"GENERATED ALWAYS AS ({DOCUMENT}) STORED"
    )
    with op.get_context().autocommit_block():  # a live message table keeps taking submissions
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_message_search_document "
            "ON message USING gin (search_document)"
        )
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_message_search")
        op.execute("ANALYZE message")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX IF NOT EXISTS ix_message_search ON message USING gin ({DOCUMENT})")
    op.execute("DROP INDEX IF EXISTS ix_message_search_document")
    op.execute("ALTER TABLE message DROP COLUMN search_document")
