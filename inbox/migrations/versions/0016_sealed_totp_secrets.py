"""TOTP secrets sealed at rest: wider columns, and the stored ones sealed when the key is set

Revision ID: 0016_sealed_totp_secrets
Revises: 0015_section_feedback

Sealing needs INBOX_SECRET_KEY (the environment or `.env`, as `inbox db upgrade` reads it).
Without it the columns are widened only, and each secret is sealed at its account's next
sign-in (inbox.staff.second_factor), which reads unsealed ones as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from inbox.config import Settings
from inbox.staff.sealing import is_sealed, seal, unseal

revision: str = "0016_sealed_totp_secrets"
down_revision: str | None = "0015_section_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("totp_secret", "totp_pending_secret")


def _resize(length: int, was: int) -> None:
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.alter_column(
                column, type_=AutoString(length=length), existing_type=AutoString(length=was),
                existing_nullable=True,
            )  # fmt: skip


def _rewrite(change) -> None:  # type: ignore[no-untyped-def]
    staff = sa.table("staff_user", sa.column("id"), *(sa.column(name) for name in COLUMNS))
    connection = op.get_bind()
    for row in connection.execute(sa.select(staff)).mappings().all():
        values = {name: change(row[name]) for name in COLUMNS if row[name] is not None}
        if values:
            connection.execute(sa.update(staff).where(staff.c.id == row["id"]).values(**values))


def upgrade() -> None:
    _resize(255, 64)
    key = Settings().secret_key
    if key:
        _rewrite(lambda value: value if is_sealed(value) else seal(key, value))


def downgrade() -> None:
    key = Settings().secret_key
    if key:
        _rewrite(lambda value: unseal(key, value))
    _resize(64, 255)
