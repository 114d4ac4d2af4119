"""Optional DKIM signing of outgoing mail (dkimpy), for operators whose relay does not sign.

On when INBOX_DKIM_SELECTOR, INBOX_DKIM_DOMAIN and INBOX_DKIM_KEY_FILE are all set. The signature
covers the headers a receiver judges a mail by, List-Unsubscribe and List-Unsubscribe-Post
included (RFC 8058 asks for them to be signed, or one-click unsubscribe is ignored). Headers in
the list that a mail lacks are signed as absent, so nobody can add them on the way.
"""

from __future__ import annotations

import functools
from pathlib import Path

import dkim

from inbox.config import Settings
from inbox.outbox.compose import MailNotBuildable

SIGNED_HEADERS = (
    b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"reply-to", b"in-reply-to",
    b"references", b"mime-version", b"content-type", b"auto-submitted", b"list-unsubscribe",
    b"list-unsubscribe-post",
)  # fmt: skip


def signing_enabled(settings: Settings) -> bool:
    return bool(settings.dkim_selector and settings.dkim_domain and settings.dkim_key_file)


@functools.lru_cache(maxsize=4)
def _private_key(path: str) -> bytes:
    return Path(path).read_bytes()


def sign(raw: bytes, settings: Settings) -> bytes:
    """`raw` with a DKIM-Signature header in front (unchanged when signing is off)."""
    if not signing_enabled(settings):
        return raw
    try:
        signature = dkim.sign(
            raw,
            settings.dkim_selector.encode(),
            settings.dkim_domain.encode(),
            _private_key(str(settings.dkim_key_file)),
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
    except (OSError, dkim.DKIMException, ValueError) as exc:
        raise MailNotBuildable(f"DKIM signing failed: {type(exc).__name__}: {exc}") from exc
    return signature + raw
