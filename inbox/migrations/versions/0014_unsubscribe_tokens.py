"""opaque unsubscribe tokens (unsubscribe_token): links no longer carry the address

Revision ID: 0014_unsubscribe_tokens
Revises: 0013_triage_labels
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

import inbox.db

revision: str = "0014_unsubscribe_tokens"
down_revision: str | None = "0013_triage_labels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unsubscribe_token",
        sa.Column("token", AutoString(length=64), nullable=False),
        sa.Column("email", AutoString(length=320), nullable=False),
        sa.Column("created_at", inbox.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_unsubscribe_token")),
        sa.UniqueConstraint("email", name=op.f("uq_unsubscribe_token_email")),
    )


def downgrade() -> None:
    op.drop_table("unsubscribe_token")
