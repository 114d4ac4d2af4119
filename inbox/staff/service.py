"""Staff accounts: creation, sign-in with throttling, password changes, disabling.

Services flush and never commit: the request (or CLI) transaction commits. `authenticate` raises
after writing its failure count and audit entry, so a caller that wants those kept must catch the
error and let its transaction commit (the login view does).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from inbox.config import Settings
from inbox.errors import Conflict, InboxError, InvalidInput, NotFound, RateLimited
from inbox.intake.models import RateBucket
from inbox.intake.ratelimit import Rule, hit
from inbox.intake.spam import client_ip_key
from inbox.staff import audit, passwords, sessions
from inbox.staff.models import Role, StaffUser

log = logging.getLogger(__name__)

LOGIN_WINDOW_SECONDS = 15 * 60
# An office shares one public IP; its staff mistyping now and then must not lock everyone out,
# while one IP trying many accounts is still stopped.
IP_LIMIT_FACTOR = 4


class LoginFailed(InboxError):
    """Wrong e-mail or password (deliberately not saying which)."""

    status = 401

    def __init__(self, message: str = "The e-mail address or the password is not right."):
        super().__init__(message)


class AccountDisabled(LoginFailed):
    status = 403

    def __init__(self) -> None:
        super().__init__("This account is disabled. Please ask an administrator.")


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
    if get_by_email(session, email=address) is not None:
        raise EmailTaken(address)
    staff = StaffUser(
        email=address,
        password_hash=passwords.hash_password(password),
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


def _keys(settings: Settings, *, email: str, ip: str | None) -> list[tuple[str, Rule]]:
    limit = settings.login_attempts_per_15min
    account = hashlib.sha256(normalise_email(email).encode()).hexdigest()[:40]
    keys = [(f"login-account:{account}", Rule(limit=limit, period=LOGIN_WINDOW_SECONDS))]
    if ip_key := client_ip_key(settings.secret_key, ip):
        keys.append(
            (f"login-ip:{ip_key}", Rule(limit=limit * IP_LIMIT_FACTOR, period=LOGIN_WINDOW_SECONDS))
        )
    return keys


def _wait_seconds(session: Session, *, key: str, rule: Rule, now: datetime) -> int | None:
    """Seconds until `key` may try again when it already used up its failures, else None."""
    if rule.limit <= 0:
        return None
    epoch = int(now.timestamp())
    window = epoch - epoch % rule.period
    bucket = session.get(RateBucket, (key, window))
    if bucket is not None and bucket.count >= rule.limit:
        return window + rule.period - epoch
    return None


def authenticate(
    session: Session,
    *,
    settings: Settings,
    email: str,
    password: str,
    ip: str | None,
    now: datetime,
) -> StaffUser:
    """The account for these credentials; raises RateLimited, LoginFailed or AccountDisabled.

    Only failures count towards the limits (per account and per IP, in the database); while a
    limit holds, even the right password is refused.
    """
    keys = _keys(settings, email=email, ip=ip)
    waits = {
        key.split(":")[0]: wait
        for key, rule in keys
        if (wait := _wait_seconds(session, key=key, rule=rule, now=now))
    }
    if waits:
        log.warning("sign-in throttled by %s", ", ".join(sorted(waits)))
        raise RateLimited(
            "Too many failed sign-in attempts. Please wait a few minutes and try again.",
            retry_after=max(waits.values()),
        )
    staff = get_by_email(session, email=email)
    matches, new_hash = passwords.verify_password(password, staff.password_hash if staff else None)
    if staff is None or not matches:
        for key, rule in keys:
            hit(session, key=key, rule=rule, now=now)
        audit.record(
            session,
            actor=staff or "unknown",
            action="login_failed",
            target_type="staff_user",
            target_id=staff.id if staff else None,
            detail=f"ip={ip}" if ip else None,
            now=now,
        )
        raise LoginFailed()
    if not staff.active:
        audit.record(
            session,
            actor=staff,
            action="login_refused",
            target_type="staff_user",
            target_id=staff.id,
            detail="account disabled",
            now=now,
        )
        raise AccountDisabled()
    if new_hash:
        staff.password_hash = new_hash
    staff.last_login_at = now
    session.add(staff)
    audit.record(
        session,
        actor=staff,
        action="login",
        target_type="staff_user",
        target_id=staff.id,
        detail=f"ip={ip}" if ip else None,
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
