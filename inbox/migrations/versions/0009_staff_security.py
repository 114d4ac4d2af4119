"""staff security: second factor, recovery codes, the sign-in gate, forced password change

Revision ID: 0009_staff_security
Revises: 0008_drop_message_status_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import inbox.db

revision: str = "0009_staff_security"
down_revision: str | None = "0008_drop_message_status_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("totp_secret", text(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_pending_secret", text(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("totp_enabled_at", inbox.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_agent", text(length=200), nullable=True))
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", text(length=64), nullable=False),
        sa.Column("used_at", inbox.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_user.id"], name=op.f("fk_recovery_code_staff_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
    )
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_code_staff_id"), ["staff_id"], unique=False)
    op.create_table(
        "login_gate",
        sa.Column("key", text(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_gate")),
    )


def downgrade() -> None:
    op.drop_table("login_gate")
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_code_staff_id"))
    op.drop_table("recovery_code")
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_column("user_agent")
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        for column in (
            "totp_last_step",
            "totp_enabled_at",
            "totp_pending_secret",
            "totp_secret",
            "must_change_password",
        ):
            batch_op.drop_column(column)
