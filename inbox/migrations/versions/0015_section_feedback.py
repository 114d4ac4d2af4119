"""patients' "did this help?" answers per section of a reply (section_feedback)

Revision ID: 0015_section_feedback
Revises: 0014_unsubscribe_tokens
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

import inbox.db

revision: str = "0015_section_feedback"
down_revision: str | None = "0014_unsubscribe_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "section_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("section_id", AutoString(length=100), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("answered_at", inbox.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_section_feedback")),
        sa.UniqueConstraint("message_id", "section_id", name="uq_section_feedback_answer"),
    )
    with op.batch_alter_table("section_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_section_feedback_answered_at"), ["answered_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("section_feedback")
