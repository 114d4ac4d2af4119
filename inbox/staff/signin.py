"""Signing in, step by step; each step is counted by the throttle before it is checked.

No transaction is open while a password is hashed: a step counts the attempt and reads the
account in one short transaction (committed, so parallel attempts see the count), verifies
outside any transaction, and records the outcome in another.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from fastapi import Request, Response
from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy.engine import Engine

from inbox.config import Settings
from inbox.db import session_scope
from inbox.errors import InboxError, RateLimited
from inbox.staff import audit, cookies, passwords, second_factor, sessions, throttle
from inbox.staff.models import StaffUser
from inbox.staff.service import get_by_email
from inbox.staff.throttle import Client

log = logging.getLogger(__name__)

PENDING_SECONDS = 10 * 60  # between the password and the second step
TOO_MANY = "Too many failed sign-in attempts. Please wait a few minutes and try again."


class LoginFailed(InboxError):
    """Wrong e-mail or password, or a disabled account (deliberately not saying which)."""

    status = 401

    def __init__(self, message: str = "The e-mail address or the password is not right."):
        super().__init__(message)


def _count(
    engine: Engine, *, settings: Settings, step: str, email: str, client: Client, now: datetime
) -> None:
    with session_scope(engine) as session:
        wait = throttle.count_attempt(
            session, settings=settings, step=step, email=email, client=client, now=now
        )
    if wait is not None:
        raise RateLimited(TOO_MANY, retry_after=wait)


def check_password(
    engine: Engine,
    *,
    settings: Settings,
    email: str,
    password: str,
    client: Client,
    now: datetime,
) -> StaffUser:
    """The account for these credentials; raises RateLimited or LoginFailed (also for a
    disabled account, which answers exactly like a wrong password)."""
    _count(engine, settings=settings, step="password", email=email, client=client, now=now)
    with session_scope(engine) as session:
        found = get_by_email(session, email=email)
    matches, new_hash = passwords.verify_password(password, found.password_hash if found else None)
    with session_scope(engine) as session:
        staff = session.get(StaffUser, found.id) if found else None
        right = staff is not None and matches
        if staff is not None and right and staff.active:
            throttle.succeeded(
                session, settings=settings, step="password", email=email, client=client, now=now
            )
            if new_hash:
                staff.password_hash = new_hash
                session.add(staff)
            return staff
        audit.record(
            session,
            actor=staff or "unknown",
            action="login_refused" if right else "login_failed",
            target_type="staff_user",
            target_id=staff.id if staff else None,
            detail="account disabled" if right else (f"ip={client.ip}" if client.ip else None),
            now=now,
        )
    raise LoginFailed()


def finish(
    engine: Engine,
    *,
    settings: Settings,
    staff: StaffUser,
    client: Client,
    replaced_cookie: str | None,
    user_agent: str | None,
    now: datetime,
) -> str:
    """Every step passed: a fresh session (ending the browser's previous one, against
    fixation) and the audit entry; returns the session cookie's value."""
    with session_scope(engine) as session:
        sessions.end_by_cookie(session, cookie=replaced_cookie, settings=settings)
        row = session.get(StaffUser, staff.id)
        assert row is not None
        row.last_login_at = now
        session.add(row)
        audit.record(
            session,
            actor=row,
            action="login",
            target_type="staff_user",
            target_id=row.id,
            detail=f"ip={client.ip}" if client.ip else None,
            now=now,
        )
        _, cookie = sessions.start(
            session, staff=row, now=now, settings=settings, user_agent=user_agent
        )
    return cookie


def check_current_password(
    engine: Engine,
    *,
    settings: Settings,
    staff: StaffUser,
    password: str,
    client: Client,
    now: datetime,
) -> bool:
    """Whether `password` is the signed-in `staff` member's own, before a change; counted like
    a sign-in (step `change`) so a borrowed session cannot guess it. Raises RateLimited."""
    _count(engine, settings=settings, step="change", email=staff.email, client=client, now=now)
    right, _ = passwords.verify_password(password, staff.password_hash)
    if right:
        with session_scope(engine) as session:
            throttle.succeeded(
                session, settings=settings, step="change", email=staff.email, client=client, now=now
            )
    return right


class CodeWrong(LoginFailed):
    def __init__(self) -> None:
        super().__init__("That code is not right. Enter the newest code, or a recovery code.")


def pending_staff(engine: Engine, *, staff_id: int) -> StaffUser | None:
    """The active account a pending sign-in (password already checked) belongs to."""
    with session_scope(engine) as session:
        staff = session.get(StaffUser, staff_id)
    return staff if staff is not None and staff.active else None


def offer_enrolment(engine: Engine, *, settings: Settings, staff: StaffUser) -> str:
    """The authenticator secret offered to `staff` (kept until a code from it is confirmed)."""
    with session_scope(engine) as session:
        row = session.get(StaffUser, staff.id)
        assert row is not None
        return second_factor.offer(session, settings=settings, staff=row)


def check_code(
    engine: Engine,
    *,
    settings: Settings,
    staff: StaffUser,
    code: str,
    client: Client,
    now: datetime,
    enrolling: bool = False,
) -> list[str]:
    """The second step: `code` from the authenticator app (or a recovery code), counted by the
    throttle like a password. While `enrolling`, the code confirms the offered secret and the
    new recovery codes are returned (else an empty list). Raises RateLimited or CodeWrong."""
    _count(engine, settings=settings, step="code", email=staff.email, client=client, now=now)
    with session_scope(engine) as session:
        row = session.get(StaffUser, staff.id)
        assert row is not None
        if enrolling:
            codes = second_factor.confirm(session, settings=settings, staff=row, code=code, now=now)
            right = codes is not None
        else:
            codes, right = (
                None,
                second_factor.check(session, settings=settings, staff=row, code=code, now=now),
            )
        if right:
            throttle.succeeded(
                session, settings=settings, step="code", email=row.email, client=client, now=now
            )
            return codes or []
        audit.record(
            session, actor=row, action="2fa_failed", target_type="staff_user",
            target_id=row.id, now=now,
        )  # fmt: skip
    raise CodeWrong()


# --- the pending sign-in: the password was right, the second step is still to come


def _pending_signer(settings: Settings) -> TimestampSigner:
    return TimestampSigner(settings.secret_key, salt="inbox.staff.pending-sign-in")


def set_pending(response: Response, *, settings: Settings, staff: StaffUser) -> None:
    """Remember for `PENDING_SECONDS` that this browser passed the password step as `staff`."""
    value = _pending_signer(settings).sign(f"{staff.id}.{secrets.token_urlsafe(8)}").decode()
    cookies.put(response, settings=settings, base="pending", value=value, max_age=PENDING_SECONDS)


def pending_staff_id(request: Request, settings: Settings) -> int | None:
    value = request.cookies.get(cookies.name(settings, "pending"))
    if not value:
        return None
    try:
        text = _pending_signer(settings).unsign(value, max_age=PENDING_SECONDS).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    staff_id = text.partition(".")[0]
    return int(staff_id) if staff_id.isdigit() else None


def clear_pending(response: Response, *, settings: Settings) -> None:
    cookies.drop(response, settings=settings, base="pending")
