"""a team's shared inbox: owner, kind, tags, escalation, phone and call log, kept searches

Revision ID: 0017_shared_inbox
Revises: 0016_sealed_totp_secrets
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

import inbox.db

revision: str = "0017_shared_inbox"
down_revision: str | None = "0016_sealed_totp_secrets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = AutoString
    moment = inbox.db.UTCDateTime(timezone=True)
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("kind", text(length=16), server_default="clinical", nullable=False)
        )
        batch_op.add_column(
            sa.Column("kind_by_staff", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("reminded_at", moment, nullable=True))
        batch_op.add_column(sa.Column("escalated_at", moment, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_conversation_assignee_id_staff_user"),
            "staff_user",
            ["assignee_id"],
            ["id"],
        )
        batch_op.create_index(
            "ix_conversation_owner",
            ["assignee_id", "state", "urgent", "last_message_at", "id"],
            unique=False,
        )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", text(length=40), nullable=True))
    op.create_index(
        "ix_audit_entry_target", "audit_entry", ["target_type", "target_id", "at"], unique=False
    )
    op.create_table(
        "conversation_tag",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("tag", text(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_conversation_tag_conversation_id_conversation"),
        ),
        sa.PrimaryKeyConstraint("conversation_id", "tag", name=op.f("pk_conversation_tag")),
    )
    op.create_index("ix_conversation_tag_tag", "conversation_tag", ["tag", "conversation_id"])
    op.create_table(
        "phone_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("at", moment, nullable=False),
        sa.Column("outcome", text(length=16), nullable=False),
        sa.Column("note", text(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_phone_call_conversation_id_conversation"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_user.id"], name=op.f("fk_phone_call_staff_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_call")),
    )
    op.create_index(op.f("ix_phone_call_conversation_id"), "phone_call", ["conversation_id"])
    op.create_table(
        "staff_search",
        sa.Column("id", text(length=32), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("query", text(length=200), nullable=False),
        sa.Column("created_at", moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_user.id"], name=op.f("fk_staff_search_staff_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_search")),
    )
    op.create_index(op.f("ix_staff_search_staff_id"), "staff_search", ["staff_id"])
    op.create_index(op.f("ix_staff_search_created_at"), "staff_search", ["created_at"])


def downgrade() -> None:
    op.drop_table("staff_search")
    op.drop_table("phone_call")
    op.drop_index("ix_conversation_tag_tag", table_name="conversation_tag")
    op.drop_index("ix_audit_entry_target", table_name="audit_entry")
    op.drop_table("conversation_tag")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("phone")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_owner")
        batch_op.drop_constraint(
            batch_op.f("fk_conversation_assignee_id_staff_user"), type_="foreignkey"
        )
        for column in ("escalated_at", "reminded_at", "kind_by_staff", "kind", "assignee_id"):
            batch_op.drop_column(column)
