"""The name an automatic mail may greet with.

Anyone can type anything into the form's name field and any address into its e-mail field, so
an acknowledgement that greets with the submitted name would let a stranger make the hospital's
relay carry "Dear WIN $500 NOW at https://evil.example/claim," to a third party. Mails nobody
reviewed before they left (the acknowledgement, the follow-up) greet with the name only when it
looks like one: letters, spaces, hyphens, apostrophes and dots, a few words, a short length.
A name holding a link, an address, markup or a run of digits is left out whole (what would remain
of it after cutting those out is the attacker's text too), and the mail says "Hello,".
"""

from __future__ import annotations

import re
import unicodedata

MAX_GREETING_LENGTH = 40
MAX_GREETING_WORDS = 4

# links and host names (with or without a scheme), addresses, markup, and 3+ digits in a row
_HOSTILE = re.compile(
    r"""
      [a-z][a-z0-9+.-]*://        # a scheme
    | \bwww\.                     # a bare web host
    | [\w-]+\.[a-z]{2,}\b         # a domain-like word: evil.example, bit.ly
    | @                           # an address or a handle
    | [<>&{}\[\]]                 # markup, entities, template syntax
    | \d{3,}                      # a price, a phone number, a code
    """,
    re.IGNORECASE | re.VERBOSE,
)
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:['’.-][^\W\d_]*)*\.?$")


def greeting_name(name: str | None) -> str:
    """The submitted name if it can safely follow "Dear", else "" (the mail greets without it)."""
    text = " ".join(unicodedata.normalize("NFKC", name or "").split())
    if not text or len(text) > MAX_GREETING_LENGTH or _HOSTILE.search(text):
        return ""
    words = text.split(" ")
    if len(words) > MAX_GREETING_WORDS or not all(_NAME_WORD.match(word) for word in words):
        return ""
    return text
