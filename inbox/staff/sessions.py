"""Signed-in browsers: server-side session rows behind a signed, HttpOnly, SameSite=Lax cookie.

The cookie carries a random token signed with the secret key (itsdangerous); the database keeps
only the token's SHA-256, the CSRF token and the times. A session ends after
`session_idle_minutes` without a request (sliding), `session_absolute_hours` after sign-in however
busy, at logout, when the password changes and when the account is disabled (its rows are
deleted), so a copied cookie stops working at once. Time comes from the runtime clock.

Before sign-in, the login form is protected by its own signed cookie ("double submit"): the form's
hidden `csrf_token` must equal the token in that cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi import Request, Response
from itsdangerous import BadSignature, Signer
from sqlmodel import Session, col

from inbox.config import Settings
from inbox.staff import cookies
from inbox.staff.models import StaffSession, StaffUser

# Sliding expiry is kept in the database; writing `last_seen_at` at most this often keeps page
# views from each causing a write while ending sessions at most this much early.
TOUCH_EVERY = timedelta(seconds=30)
LOGIN_CSRF_MAX_AGE = 2 * 3600


@dataclass(frozen=True)
class SignedIn:
    staff: StaffUser
    row: StaffSession

    @property
    def csrf_token(self) -> str:
        return self.row.csrf_token


def cookie_name(settings: Settings) -> str:
    return cookies.name(settings, "session")


def login_cookie_name(settings: Settings) -> str:
    return cookies.name(settings, "login")


def _signer(settings: Settings, purpose: str) -> Signer:
    return Signer(settings.secret_key, salt=f"inbox.staff.{purpose}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _unsign(settings: Settings, purpose: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return _signer(settings, purpose).unsign(value).decode()
    except (BadSignature, UnicodeDecodeError):
        return None


def start(
    session: Session,
    *,
    staff: StaffUser,
    now: datetime,
    settings: Settings,
    user_agent: str | None = None,
) -> tuple[StaffSession, str]:
    """A new session for `staff` (never reusing an old token): the row and the cookie value."""
    if staff.id is None:
        raise ValueError("the staff member must be stored before signing in")
    purge_expired(session, settings=settings, now=now)
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        id=_digest(token),
        staff_id=staff.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        user_agent=user_agent[:200] if user_agent else None,
    )
    session.add(row)
    session.flush()
    return row, _signer(settings, "session").sign(token).decode()


def resolve(
    session: Session, *, cookie: str | None, settings: Settings, now: datetime
) -> SignedIn | None:
    """The signed-in staff member behind a cookie, or None; slides the idle deadline forward."""
    token = _unsign(settings, "session", cookie)
    if token is None:
        return None
    row = session.get(StaffSession, _digest(token))
    if row is None:
        return None
    staff = session.get(StaffUser, row.staff_id)
    idle = timedelta(minutes=settings.session_idle_minutes)
    lifetime = timedelta(hours=settings.session_absolute_hours)
    if (
        staff is None
        or not staff.active
        or now - row.last_seen_at >= idle
        or now - row.created_at >= lifetime
    ):
        session.delete(row)
        session.flush()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
    return SignedIn(staff=staff, row=row)


def end(session: Session, *, row: StaffSession) -> None:
    """Sign one browser out."""
    session.delete(row)
    session.flush()


def end_by_cookie(session: Session, *, cookie: str | None, settings: Settings) -> None:
    """Sign out the browser holding `cookie`, if it is signed in."""
    token = _unsign(settings, "session", cookie)
    if token is not None:
        session.execute(sa.delete(StaffSession).where(col(StaffSession.id) == _digest(token)))


def end_all(session: Session, *, staff: StaffUser) -> None:
    """Sign every browser of one staff member out (password change, account disabled)."""
    session.execute(sa.delete(StaffSession).where(col(StaffSession.staff_id) == staff.id))


def purge_expired(session: Session, *, settings: Settings, now: datetime) -> None:
    """Delete sessions idle for longer than the limit, or older than the absolute lifetime."""
    idle_cutoff = now - timedelta(minutes=settings.session_idle_minutes)
    born_cutoff = now - timedelta(hours=settings.session_absolute_hours)
    session.execute(
        sa.delete(StaffSession).where(
            sa.or_(
                col(StaffSession.last_seen_at) < idle_cutoff,
                col(StaffSession.created_at) < born_cutoff,
            )
        )
    )


def list_sessions(session: Session, *, staff: StaffUser) -> list[StaffSession]:
    """The signed-in browsers of `staff`, most recently used first."""
    statement = (
        sa.select(StaffSession)
        .where(col(StaffSession.staff_id) == staff.id)
        .order_by(col(StaffSession.last_seen_at).desc())
    )
    return list(session.scalars(statement))


def set_cookie(response: Response, *, settings: Settings, value: str) -> None:
    """A browser-session cookie (no Max-Age): the server decides when it has expired."""
    cookies.put(response, settings=settings, base="session", value=value)


def clear_cookie(response: Response, *, settings: Settings) -> None:
    cookies.drop(response, settings=settings, base="session")


def session_cookie(request: Request, settings: Settings) -> str | None:
    return request.cookies.get(cookie_name(settings))


# --- the login form's CSRF token (before there is a session)


def login_csrf_token(request: Request, settings: Settings) -> tuple[str, str | None]:
    """(token for the form, cookie value to set or None when the browser already holds one).

    The token outlives a sign-in so that a second open login tab still works; it guards only
    the login form and grants nothing by itself."""
    current = _unsign(settings, "login-csrf", request.cookies.get(login_cookie_name(settings)))
    if current:
        return current, None
    token = secrets.token_urlsafe(32)
    return token, _signer(settings, "login-csrf").sign(token).decode()


def login_csrf_valid(request: Request, settings: Settings, sent: str | None) -> bool:
    """Whether the form's token matches the one in the login cookie."""
    expected = _unsign(settings, "login-csrf", request.cookies.get(login_cookie_name(settings)))
    if not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def set_login_cookie(response: Response, *, settings: Settings, value: str) -> None:
    cookies.put(response, settings=settings, base="login", value=value, max_age=LOGIN_CSRF_MAX_AGE)
