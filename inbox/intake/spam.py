"""Spam signals that need no third party: the honeypot and the signed time-trap token."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from functools import lru_cache

from itsdangerous import BadSignature, TimestampSigner

from inbox.intake.validation import Submission

_TOKEN_SALT = "inbox.form-time-trap"
TOO_FAST = "too-fast"  # the time trap's reason: sent sooner than a person could fill the form in


def issue_form_token(secret_key: str, *, now: datetime) -> str:
    """A signed token holding the moment the form was served."""
    signer = TimestampSigner(secret_key, salt=_TOKEN_SALT)
    return signer.sign(str(int(now.timestamp()))).decode()


def form_age_seconds(secret_key: str, token: str, *, now: datetime) -> float | None:
    """Seconds since the token was issued, or None when it was forged or altered."""
    signer = TimestampSigner(secret_key, salt=_TOKEN_SALT)
    try:
        issued = int(signer.unsign(token).decode())
    except (BadSignature, ValueError, UnicodeDecodeError):
        return None
    return now.timestamp() - issued


def spam_reason(
    submission: Submission,
    *,
    secret_key: str,
    min_fill_seconds: float,
    now: datetime,
    token_required: bool,
) -> str | None:
    """Why this submission is spam, or None when it looks like a person's."""
    if submission.honeypot:
        return "honeypot"
    if submission.form_token is None:
        return "no-form-token" if token_required else None
    age = form_age_seconds(secret_key, submission.form_token, now=now)
    if age is None:
        return "bad-form-token"
    if age < min_fill_seconds:
        return TOO_FAST
    return None


def fingerprint(email: str, message: str) -> str:
    """Same address + same text (ignoring case and spacing) -> same fingerprint."""
    text = " ".join(message.lower().split())
    return hashlib.sha256(f"{email}\n{text}".encode()).hexdigest()


@lru_cache(maxsize=4096)  # the same clients come back; an HMAC per request is measurable
def client_ip_key(secret_key: str, ip: str | None) -> str | None:
    """A keyed hash of the client's IP: enough to rate-limit and spot abuse, not to identify."""
    if not ip:
        return None
    digest = hmac.new(secret_key.encode(), ip.encode(), hashlib.sha256).hexdigest()
    return digest[:32]
