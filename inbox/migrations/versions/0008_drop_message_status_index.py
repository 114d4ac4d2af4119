"""drop ix_message_status: no query is served by it, and every stored message paid to keep it

Every query that filters on message.status also filters on a narrower indexed column (the
conversation, the draft-pending partial index, the received_at range of the dashboard), and an
index on a column of three values is rarely worth reading. It cost each insert on the public
form's path a B-tree update. A plain DROP INDEX (no batch mode: that would recreate the table and
drop the search triggers of 0007).

Revision ID: 0008_drop_message_status_index
Revises: 0007_search_deferred
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_drop_message_status_index"
down_revision: str | None = "0007_search_deferred"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_message_status", table_name="message")


def downgrade() -> None:
    op.create_index("ix_message_status", "message", ["status"], unique=False)
