"""presence: the page loads of each person that said they left, so a late "viewing" report of
any of them (not only of the last page) is ignored: a page left for the next one ("Save the
draft" loads a new page) can have a report still on its way; it replaces 0025's one page id

Revision ID: 0026_presence_left_pages
Revises: 0025_presence_page
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0026_presence_left_pages"
down_revision: str | None = "0025_presence_page"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_pages", sa.Text(), nullable=False, server_default=""))
        batch_op.drop_column("page")


def downgrade() -> None:
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("page", AutoString(length=32), nullable=False, server_default="")
        )
        batch_op.drop_column("left_pages")
