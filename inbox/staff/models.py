"""Tables of staff: accounts, second factors, sessions, the sign-in gate and the audit log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inbox.db import UTCDateTime, utcnow


class Role:
    STAFF = "staff"
    ADMIN = "admin"


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    password_hash: str = Field(max_length=300)
    role: str = Field(default=Role.STAFF, max_length=16)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # set by an administrator's reset or account creation: the next sign-in asks for a new one
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # TOTP (RFC 6238): the confirmed secret, one offered but not yet confirmed, and the last
    # time step accepted (a code is never accepted twice)
    totp_secret: str | None = Field(default=None, max_length=255)  # sealed (staff.sealing)
    totp_pending_secret: str | None = Field(default=None, max_length=255)  # sealed
    totp_enabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    totp_last_step: int | None = None


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.Index("ix_audit_entry_at", "at", "id"),
        # a conversation's history, and whether staff opened it since its newest message
        sa.Index("ix_audit_entry_target", "target_type", "target_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    staff_id: int | None = Field(default=None, foreign_key="staff_user.id", index=True)
    actor: str = Field(max_length=320)  # e-mail of the staff member, or "system", "cli"
    action: str = Field(max_length=40)
    target_type: str | None = Field(default=None, max_length=40)
    target_id: str | None = Field(default=None, max_length=100)
    detail: str | None = Field(default=None, max_length=1000)  # never health data


class StaffSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a signed random token; only its SHA-256 is stored."""

    __tablename__ = "staff_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie's token
    staff_id: int = Field(foreign_key="staff_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime, index=True)
    user_agent: str | None = Field(default=None, max_length=200)  # shown on the sessions page


class RecoveryCode(SQLModel, table=True):
    """A one-time code that stands in for the second factor; only a keyed hash is stored."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_user.id", index=True)
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginGate(SQLModel, table=True):
    """Per account and sign-in step: failures so far and the earliest next attempt (epoch
    seconds) for clients the account has not signed in from before (the progressive delay)."""

    __tablename__ = "login_gate"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    not_before: int = 0
