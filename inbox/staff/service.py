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
    must_change_password: bool = False,
) -> StaffUser:
    """A new active account; raises InvalidInput for a bad address or password, EmailTaken.

    `must_change_password` (an administrator chose it): the first sign-in asks for a new one."""
    errors: dict[str, str] = {}
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        address = normalise_email(email)
        errors["email"] = "Enter an e-mail address like name@hospital.example."
    if problem := passwords.password_problem(password, email=address):
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
        must_change_password=must_change_password,
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
    must_change: bool = False,
) -> None:
    """Set a new password and sign every browser of `staff` out.

    The account holder's own change must have checked the current password first
    (`signin.check_current_password`, throttled); a change by anyone else (an administrator,
    the CLI) asks for a new one at the next sign-in when `must_change` is set.
    """
    end_transaction(session)  # no lock held across argon2
    if problem := passwords.password_problem(password, email=staff.email):
        raise InvalidInput({"new_password": problem})
    staff.password_hash = passwords.hash_password(password)
    staff.password_changed_at = now
    staff.must_change_password = must_change
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
