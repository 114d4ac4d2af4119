"""presence: which page load reported last, so a "viewing" report that arrives after the same
page's "left" beacon is ignored instead of bringing back someone who has gone

Revision ID: 0025_presence_page
Revises: 0024_search_document_again
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0025_presence_page"
down_revision: str | None = "0024_search_document_again"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("page", AutoString(length=32), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.drop_column("page")
