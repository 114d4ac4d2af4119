"""urgency tiers (routine, possible, urgent), the language and "needs a reader"

Revision ID: 0012_urgency_tiers
Revises: 0011_follow_up_plans
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0012_urgency_tiers"
down_revision: str | None = "0011_follow_up_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = AutoString
    for table in ("conversation", "message"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("urgency", text(length=16), server_default="routine", nullable=False)
            )
            batch_op.add_column(sa.Column("language", text(length=8), nullable=True))
            batch_op.add_column(
                sa.Column("needs_reader", sa.Boolean(), server_default="0", nullable=False)
            )
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urgency", text(length=16), server_default="routine", nullable=False)
        )
    # what triage had said before tiers existed: urgent or not
    op.execute("UPDATE conversation SET urgency = 'urgent' WHERE urgent")
    op.execute("UPDATE message SET urgency = 'urgent' WHERE urgent")
    op.execute("UPDATE draft SET urgency = 'urgent' WHERE urgent")


def downgrade() -> None:
    with op.batch_alter_table("draft", schema=None) as batch_op:
        batch_op.drop_column("urgency")
    for table in ("message", "conversation"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in ("needs_reader", "language", "urgency"):
                batch_op.drop_column(column)
