"""follow-up plan rows (sequence 0) become real follow-ups

Until now a sent reply left a "plan" row (sequence 0, due at once) that the worker's job turned
into the follow-ups of INBOX_FOLLOWUP_DELAYS. Follow-ups are now scheduled when the reply's
delivery is recorded, so no plan row is written any more. A plan still pending at upgrade time
becomes the first follow-up, due the first delay after the reply was sent (its due_at); any
other plan row (carried out, cancelled) is deleted. Data only, no schema change.

Revision ID: 0011_follow_up_plans
Revises: 0010_inbound
"""

import os
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from inbox.config import parse_duration

revision: str = "0011_follow_up_plans"
down_revision: str | None = "0010_inbound"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _first_delay() -> timedelta:
    """The first of INBOX_FOLLOWUP_DELAYS (default 7d), as the settings read it."""
    first = (os.environ.get("INBOX_FOLLOWUP_DELAYS") or "7d").split(",")[0]
    return parse_duration(first.strip())


def upgrade() -> None:
    follow_up = sa.table(
        "follow_up",
        sa.column("id", sa.Integer),
        sa.column("sequence", sa.Integer),
        sa.column("state", sa.String),
        sa.column("due_at", sa.DateTime(timezone=True)),
        sa.column("lease_owner", sa.String),
        sa.column("lease_expires_at", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    pending = follow_up.c.state.in_(("scheduled", "claimed"))
    plans = connection.execute(
        sa.select(follow_up.c.id, follow_up.c.due_at)
        .where(follow_up.c.sequence == 0)
        .where(pending)
    ).all()
    delay = _first_delay()
    for plan_id, sent_at in plans:
        connection.execute(
            sa.update(follow_up)
            .where(follow_up.c.id == plan_id)
            .values(
                sequence=1,
                state="scheduled",
                due_at=sent_at + delay,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
    connection.execute(sa.delete(follow_up).where(follow_up.c.sequence == 0))


def downgrade() -> None:
    """Nothing to undo: the converted rows are ordinary follow-ups."""
