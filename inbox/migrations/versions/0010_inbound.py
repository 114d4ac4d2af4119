"""inbound mail: inbound_mail (raw mail taken in, then processed) and imap_cursor

Revision ID: 0010_inbound
Revises: 0009_staff_security
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import inbox.db

revision: str = "0010_inbound"
down_revision: str | None = "0009_staff_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "imap_cursor",
        sa.Column("mailbox", _text(400), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", inbox.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_imap_cursor")),
    )
    op.create_table(
        "inbound_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", _text(300), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("source", _text(16), nullable=False),
        sa.Column("envelope_from", _text(320), nullable=False),
        sa.Column("envelope_to", _text(2000), nullable=False),
        sa.Column("received_at", inbox.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", _text(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", _text(1000), nullable=True),
        sa.Column("processed_at", inbox.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("kind", _text(16), nullable=True),
        sa.Column("sender", _text(320), nullable=True),
        sa.Column("sender_name", _text(200), nullable=True),
        sa.Column("subject", _text(500), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("new_text", sa.Text(), nullable=True),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("created_message_id", sa.Integer(), nullable=True),
        sa.Column("matched_by", _text(24), nullable=True),
        sa.Column("foreign_sender", sa.Boolean(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("bounce_mail_id", sa.Integer(), nullable=True),
        sa.Column("bounce", _text(8), nullable=True),
        sa.Column("bounce_text", _text(1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["bounce_mail_id"],
            ["outbox_mail.id"],
            name=op.f("fk_inbound_mail_bounce_mail_id_outbox_mail"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_inbound_mail_conversation_id_conversation"),
        ),
        sa.ForeignKeyConstraint(
            ["created_message_id"],
            ["message.id"],
            name=op.f("fk_inbound_mail_created_message_id_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mail")),
        sa.UniqueConstraint("message_id", name=op.f("uq_inbound_mail_message_id")),
    )
    op.create_index("ix_inbound_mail_bounce_mail_id", "inbound_mail", ["bounce_mail_id"])
    op.create_index("ix_inbound_mail_conversation_id", "inbound_mail", ["conversation_id"])
    op.create_index("ix_inbound_mail_queue", "inbound_mail", ["state", "id"])
    op.create_index("ix_inbound_mail_received_at", "inbound_mail", ["received_at"])
    op.create_index("ix_inbound_mail_sender", "inbound_mail", ["sender", "received_at"])


def downgrade() -> None:
    op.drop_table("inbound_mail")
    op.drop_table("imap_cursor")
