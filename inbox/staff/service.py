"""Staff accounts: creation, password changes, disabling (signing in is in `signin`).

Services flush and never commit: the request (or CLI) transaction commits.
"""

from __future__ import annotations

import logging
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from inbox.db import end_transaction
from inbox.errors import Conflict, InvalidInput, NotFound
from inbox.staff import audit, passwords, sessions
from inbox.staff.models import Role, StaffUser

log = logging.getLogger(__name__)


class StaffNotFound(NotFound):
    def __init__(self, who: str):
        super().__init__(f"No staff account matches {who}.")


class EmailTaken(Conflict):
    def __init__(self, email: str):
        super().__init__(f"There is already a staff account for {email}.")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_by_email(session: Session, *, email: str) -> StaffUser | None:
    """The account with this e-mail address (case-insensitive), or None."""
    statement = select(StaffUser).where(col(StaffUser.email) == normalise_email(email))
    return session.exec(statement).first()


def get_staff(session: Session, *, staff_id: int) -> StaffUser | None:
    return session.get(StaffUser, staff_id)


def list_staff(session: Session) -> list[StaffUser]:
    """Every account, by e-mail address."""
    return list(session.exec(select(StaffUser).order_by(col(StaffUser.email))))


def create_staff(
    session: Session,
    *,
    email: str,
    password: str,
    admin: bool = False,
    now: datetime,
    actor: StaffUser | str = "system",
) -> StaffUser:
    """A new active account; raises InvalidInput for a bad address or password, EmailTaken."""
    errors: dict[str, str] = {}
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        address = normalise_email(email)
        errors["email"] = "Enter an e-mail address like name@hospital.example."
    if problem := passwords.password_problem(password):
        errors["password"] = problem
    if errors:
        raise InvalidInput(errors)
    end_transaction(session)  # no lock held across argon2; then check and take the address
    password_hash = passwords.hash_password(password)
    if get_by_email(session, email=address) is not None:
        raise EmailTaken(address)
    staff = StaffUser(
        email=address,
        password_hash=password_hash,
        role=Role.ADMIN if admin else Role.STAFF,
        active=True,
        created_at=now,
        password_changed_at=now,
    )
    session.add(staff)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="staff_create",
        target_type="staff_user",
        target_id=staff.id,
        detail=f"role={staff.role}",
        now=now,
    )
    return staff


def change_password(
    session: Session,
    *,
    staff: StaffUser,
    password: str,
    now: datetime,
    actor: StaffUser | str,
    current_password: str | None = None,
) -> None:
    """Set a new password and sign every browser of `staff` out.

    With `current_password` (a staff member changing their own), that must be right first.
    """
    end_transaction(session)  # no lock held across argon2
    if (
        current_password is not None
        and not passwords.verify_password(current_password, staff.password_hash)[0]
    ):
        raise InvalidInput({"current_password": "This is not your current password."})
    if problem := passwords.password_problem(password):
        raise InvalidInput({"new_password": problem})
    staff.password_hash = passwords.hash_password(password)
    staff.password_changed_at = now
    session.add(staff)
    sessions.end_all(session, staff=staff)
    audit.record(
        session,
        actor=actor,
        action="password_change",
        target_type="staff_user",
        target_id=staff.id,
        now=now,
    )


def set_active(
    session: Session, *, staff: StaffUser, active: bool, now: datetime, actor: StaffUser | str
) -> None:
    """Enable or disable an account; disabling signs it out everywhere. No-op when unchanged."""
    if isinstance(actor, StaffUser) and actor.id == staff.id and not active:
        raise Conflict("You cannot disable your own account.")
    if staff.active == active:
        return
    staff.active = active
    session.add(staff)
    if not active:
        sessions.end_all(session, staff=staff)
    audit.record(
        session,
        actor=actor,
        action="staff_enable" if active else "staff_disable",
        target_type="staff_user",
        target_id=staff.id,
        detail=staff.email,
        now=now,
    )
