"""Signing in, step by step; each step is counted by the throttle before it is checked.

No transaction is open while a password is hashed: a step counts the attempt and reads the
account in one short transaction (committed, so parallel attempts see the count), verifies
outside any transaction, and records the outcome in another.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from inbox.config import Settings
from inbox.db import session_scope
from inbox.errors import InboxError, RateLimited
from inbox.staff import audit, passwords, sessions, throttle
from inbox.staff.models import StaffUser
from inbox.staff.service import get_by_email
from inbox.staff.throttle import Client

log = logging.getLogger(__name__)

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
        if right and staff.active:
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
