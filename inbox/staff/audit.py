"""The audit log: who did what, and when. `detail` is for ids and short facts, never health data."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from inbox.staff.models import AuditEntry, StaffUser

DETAIL_MAX = 1000


def record(
    session: Session,
    *,
    actor: StaffUser | str,
    action: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    detail: str | None = None,
    now: datetime,
) -> AuditEntry:
    """Add one entry; `actor` is a staff member or a name such as "cli" or "system"."""
    if isinstance(actor, StaffUser):
        staff_id, actor_name = actor.id, actor.email
    else:
        staff_id, actor_name = None, actor[:320]
    entry = AuditEntry(
        at=now,
        staff_id=staff_id,
        actor=actor_name,
        action=action[:40],
        target_type=target_type[:40] if target_type else None,
        target_id=str(target_id)[:100] if target_id is not None else None,
        detail=detail[:DETAIL_MAX] if detail else None,
    )
    session.add(entry)
    session.flush()
    return entry


def list_entries(
    session: Session, *, before_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """Entries newest first; pass the last id of a page as `before_id` for the next page."""
    statement = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(col(AuditEntry.id) < before_id)
    return list(session.exec(statement))
