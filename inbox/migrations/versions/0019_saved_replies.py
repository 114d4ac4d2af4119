"""saved replies: snippets staff insert into a draft (saved_reply)

Revision ID: 0019_saved_replies
Revises: 0018_draft_body
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

import inbox.db

revision: str = "0019_saved_replies"
down_revision: str | None = "0018_draft_body"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", AutoString(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", inbox.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", inbox.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["staff_user.id"],
            name=op.f("fk_saved_reply_updated_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_reply")),
        sa.UniqueConstraint("title", name=op.f("uq_saved_reply_title")),
    )


def downgrade() -> None:
    op.drop_table("saved_reply")
