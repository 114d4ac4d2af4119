"""presence: who has a conversation page open, and whether they edit its reply

Revision ID: 0020_presence
Revises: 0019_saved_replies
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

import inbox.db

revision: str = "0020_presence"
down_revision: str | None = "0019_saved_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "presence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("activity", AutoString(length=16), nullable=False),
        sa.Column("seen_at", inbox.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_presence_conversation_id_conversation"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_user.id"], name=op.f("fk_presence_staff_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence")),
        sa.UniqueConstraint(
            "conversation_id", "staff_id", name=op.f("uq_presence_conversation_id")
        ),
    )
    with op.batch_alter_table("presence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_presence_conversation_id"), ["conversation_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("presence")
