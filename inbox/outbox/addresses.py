"""The service's own signed addresses on outgoing mail, and reading them back.

- `reply+<conversation id>.<signature>@<domain>` is the Reply-To of a conversation's mails: a
  patient's answer names its conversation even when the mail client drops every other header.
- `bounces+<mail id>.<signature>@<domain>` is each mail's envelope sender (VERP): a bounce names
  the one mail that did not arrive, whatever the remote server's report looks like.

The signature is an HMAC of the purpose and the id with the secret key, so nobody can attach a
mail to another patient's conversation by guessing a number. Lower-case hex: some relays fold the
case of local parts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from email.utils import parseaddr

from inbox.config import Settings

REPLY = "reply"
BOUNCES = "bounces"
_SIGNATURE_CHARS = 16
_SIGNED = re.compile(r"^(reply|bounces)\+(\d{1,18})\.([0-9a-f]{16})$")


def address_domain(settings: Settings) -> str:
    """The domain our reply and bounce addresses live in."""
    return (settings.inbound_domain or settings.mail_domain).strip().lower()


def _signature(settings: Settings, purpose: str, number: int) -> str:
    digest = hmac.new(
        settings.secret_key.encode(), f"{purpose}:{number}".encode(), hashlib.sha256
    ).hexdigest()
    return digest[:_SIGNATURE_CHARS]


def signed_address(settings: Settings, purpose: str, number: int) -> str:
    """`purpose+number.signature@domain` (purpose is REPLY or BOUNCES)."""
    return f"{purpose}+{number}.{_signature(settings, purpose, number)}@{address_domain(settings)}"


def reply_address(settings: Settings, conversation_id: int) -> str:
    return signed_address(settings, REPLY, conversation_id)


def bounce_address(settings: Settings, mail_id: int) -> str:
    return signed_address(settings, BOUNCES, mail_id)


def read_signed_address(settings: Settings, address: str) -> tuple[str, int] | None:
    """(purpose, id) of one of our signed addresses with a valid signature, else None."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    if domain.lower() != address_domain(settings):
        return None
    found = _SIGNED.match(local.lower())
    if found is None:
        return None
    purpose, number = found.group(1), int(found.group(2))
    if not hmac.compare_digest(found.group(3), _signature(settings, purpose, number)):
        return None
    return purpose, number


def is_own_address(settings: Settings, address: str) -> bool:
    """Whether mail to `address` is for the service: a signed address (even a stale signature,
    which processing then ignores), or the configured From or Reply-To address."""
    addr = address.strip().strip("<>").lower()
    local, _, domain = addr.rpartition("@")
    if domain == address_domain(settings) and re.match(r"^(reply|bounces)\+", local):
        return True
    return addr in own_mailboxes(settings)


def own_mailboxes(settings: Settings) -> set[str]:
    """The plain addresses the service sends from or asks replies to."""
    found = set()
    for value in (settings.mail_from, settings.mail_reply_to):
        addr = parseaddr(value)[1].strip().lower()
        if addr:
            found.add(addr)
    return found
