"""staff's final triage decisions, kept as labels (triage_label)

Revision ID: 0013_triage_labels
Revises: 0012_urgency_tiers
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

import inbox.db

revision: str = "0013_triage_labels"
down_revision: str | None = "0012_urgency_tiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = AutoString
    op.create_table(
        "triage_label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("decision", text(length=16), nullable=False),
        sa.Column("suggested_section_ids", sa.JSON(), nullable=False),
        sa.Column("section_ids", sa.JSON(), nullable=False),
        sa.Column("suggested_urgency", text(length=16), nullable=False),
        sa.Column("urgency", text(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", inbox.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_triage_label_conversation_id_conversation"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["staff_user.id"],
            name=op.f("fk_triage_label_decided_by_id_staff_user"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.id"], name=op.f("fk_triage_label_message_id_message")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_label")),
    )
    with op.batch_alter_table("triage_label", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_triage_label_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_triage_label_decided_at"), ["decided_at"], unique=False
        )
        batch_op.create_index("ix_triage_label_message", ["message_id", "decided_at"], unique=False)


def downgrade() -> None:
    op.drop_table("triage_label")
