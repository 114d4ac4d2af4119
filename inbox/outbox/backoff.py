"""When to try a mail again: exponential backoff with jitter, capped, or the server's own hint."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

# "try again in 5 minutes", "retry after 120s", "Please retry in 30 seconds" (not any number that
# follows "try": "try again later (code 12345)" is no hint)
_HINT = re.compile(
    r"\b(?:try|retry)\b[a-z ]{0,12}?\b(?:in|after)\s+(\d{1,6})\s*"
    r"(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)?\b",
    re.IGNORECASE,
)
_UNIT = {"s": 1, "m": 60, "h": 3600}


def retry_hint(text: str | None) -> float | None:
    """Seconds the server asked us to wait, if its reply says so."""
    if not text:
        return None
    found = _HINT.search(text)
    if not found:
        return None
    unit = (found.group(2) or "s")[0].lower()
    return float(found.group(1)) * _UNIT[unit]


def retry_delay(
    attempts: int,
    *,
    base: float,
    cap: float,
    hint: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after the `attempts`-th failed try: the hint if the server gave one (within
    the cap), else base·2^(attempts−1) capped, with ±25 % jitter so that a burst of failures does
    not come back as a burst."""
    if hint is not None and hint > 0:
        return min(hint, cap)
    exponential = min(cap, base * 2 ** max(0, attempts - 1))
    jitter = (rng or random).uniform(0.75, 1.25)
    return max(0.0, min(cap, exponential * jitter))


def next_try(
    now: datetime,
    *,
    attempts: int,
    first_attempt_at: datetime,
    budget: timedelta,
    base: float,
    cap: float,
    hint: float | None = None,
) -> datetime | None:
    """When to try again, or None when that would fall past the retry budget."""
    at = now + timedelta(seconds=retry_delay(attempts, base=base, cap=cap, hint=hint))
    return at if at <= first_attempt_at + budget else None
