"""a draft keeps the body staff edit (paragraphs, unwrapped) besides the built mail parts

Revision ID: 0018_draft_body
Revises: 0017_shared_inbox
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_draft_body"
down_revision: str | None = "0017_shared_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # drafts made before stay NULL: their text box shows the text part, as before
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.drop_column("body")
