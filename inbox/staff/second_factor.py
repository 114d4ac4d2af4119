"""The second factor: TOTP codes (RFC 6238) from an authenticator app, and one-time recovery codes.

A secret is offered first (`totp_pending_secret`, shown as a QR code) and only becomes the
account's factor once a code from it is confirmed; both are stored sealed
(`inbox.staff.sealing`). Confirming makes ten recovery codes, shown once, of which only a keyed
hash is stored. A TOTP time step and a recovery code are each accepted once, even by parallel
requests (the update that claims them is conditional).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa
from markupsafe import Markup
from sqlmodel import Session, col, select

from inbox.config import Settings
from inbox.db import rows_changed, table_of
from inbox.staff import audit
from inbox.staff.models import RecoveryCode, Role, StaffUser
from inbox.staff.sealing import SealBroken, is_sealed, seal, unseal

RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_NOT_CODE = re.compile(r"[\s-]+")


def required(settings: Settings, staff: StaffUser) -> bool:
    """Whether `staff` must sign in with a second factor: admins always, others when the
    operator says so (INBOX_REQUIRE_2FA=true)."""
    return staff.role == Role.ADMIN or settings.require_2fa


def enrolled(staff: StaffUser) -> bool:
    return staff.totp_secret is not None


def provisioning_uri(settings: Settings, staff: StaffUser, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=staff.email, issuer_name=settings.hospital_name)


def qr_svg(uri: str) -> Markup:
    """The QR code of `uri` as inline SVG (no style attributes, so the page's CSP allows it)."""
    return Markup(segno.make(uri, error="m").svg_inline(scale=4, border=4))


def pending_secret(settings: Settings, staff: StaffUser) -> str | None:
    """The offered secret, unsealed (None: none offered, or sealed under another key)."""
    if staff.totp_pending_secret is None:
        return None
    try:
        return unseal(settings.secret_key, staff.totp_pending_secret)
    except SealBroken:
        return None


def offer(session: Session, *, settings: Settings, staff: StaffUser) -> str:
    """The secret waiting for confirmation (a new one when none is waiting)."""
    secret = pending_secret(settings, staff)
    if secret is None:
        secret = pyotp.random_base32()
        staff.totp_pending_secret = seal(settings.secret_key, secret)
        session.add(staff)
        session.flush()
    return secret


def _account_secret(session: Session, *, settings: Settings, staff: StaffUser) -> str | None:
    """The account's TOTP secret, unsealed; one stored before sealing is sealed now."""
    if staff.totp_secret is None:
        return None
    try:
        secret = unseal(settings.secret_key, staff.totp_secret)
    except SealBroken:
        return None  # the key changed: only a recovery code (or an admin's reset) gets in
    if not is_sealed(staff.totp_secret):
        staff.totp_secret = seal(settings.secret_key, secret)
        session.add(staff)
        session.flush()
    return secret


def _matching_step(secret: str, code: str, *, now: datetime, after: int | None) -> int | None:
    """The time step (now, or one either side for a slow hand or clock) whose code is `code`."""
    digits = _NOT_CODE.sub("", code)
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def _claim_step(session: Session, *, staff: StaffUser, step: int) -> bool:
    table = table_of(StaffUser)
    claimed = session.execute(
        sa.update(table)
        .where(table.c.id == staff.id)
        .where(sa.or_(table.c.totp_last_step.is_(None), table.c.totp_last_step < step))
        .values(totp_last_step=step)
    )
    return rows_changed(claimed) == 1


def _recovery_digest(settings: Settings, code: str) -> str:
    normalised = _NOT_CODE.sub("", code).lower()
    key = settings.secret_key.encode()
    return hmac.new(key, f"recovery:{normalised}".encode(), hashlib.sha256).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def confirm(
    session: Session, *, settings: Settings, staff: StaffUser, code: str, now: datetime
) -> list[str] | None:
    """Make the offered secret the account's factor when `code` comes from it; the new
    recovery codes (to show once), or None when the code is not right."""
    secret = pending_secret(settings, staff)
    if secret is None:
        return None
    step = _matching_step(secret, code, now=now, after=None)
    if step is None:
        return None
    staff.totp_secret, staff.totp_pending_secret = staff.totp_pending_secret, None
    staff.totp_enabled_at, staff.totp_last_step = now, step
    session.add(staff)
    codes = replace_recovery_codes(session, settings=settings, staff=staff)
    audit.record(
        session, actor=staff, action="2fa_enable", target_type="staff_user", target_id=staff.id,
        now=now,
    )  # fmt: skip
    return codes


def replace_recovery_codes(session: Session, *, settings: Settings, staff: StaffUser) -> list[str]:
    """Ten fresh recovery codes for `staff`; the old ones stop working."""
    session.execute(sa.delete(RecoveryCode).where(col(RecoveryCode.staff_id) == staff.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        assert staff.id is not None
        session.add(RecoveryCode(staff_id=staff.id, code_hash=_recovery_digest(settings, code)))
    session.flush()
    return codes


def check(
    session: Session, *, settings: Settings, staff: StaffUser, code: str, now: datetime
) -> bool:
    """Whether `code` is the account's current TOTP code or one of its unused recovery codes;
    either is used up by this call."""
    if staff.totp_secret is None:
        return False
    secret = _account_secret(session, settings=settings, staff=staff)
    step = _matching_step(secret, code, now=now, after=staff.totp_last_step) if secret else None
    if step is not None:
        return _claim_step(session, staff=staff, step=step)
    digest = _recovery_digest(settings, code)
    statement = select(RecoveryCode).where(
        col(RecoveryCode.staff_id) == staff.id, col(RecoveryCode.used_at).is_(None)
    )
    for row in session.exec(statement):
        if hmac.compare_digest(row.code_hash, digest):
            table = table_of(RecoveryCode)
            used = session.execute(
                sa.update(table)
                .where(table.c.id == row.id, table.c.used_at.is_(None))
                .values(used_at=now)
            )
            if rows_changed(used) == 1:
                audit.record(
                    session, actor=staff, action="recovery_code_used", target_type="staff_user",
                    target_id=staff.id, now=now,
                )  # fmt: skip
                return True
    return False


def recovery_codes_left(session: Session, *, staff: StaffUser) -> int:
    statement = select(sa.func.count()).where(
        col(RecoveryCode.staff_id) == staff.id, col(RecoveryCode.used_at).is_(None)
    )
    return int(session.exec(statement).one())
