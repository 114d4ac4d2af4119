"""The language stored with a message (an ISO 639-1 code from triage), named for staff."""

from __future__ import annotations

from functools import lru_cache

from lingua import IsoCode639_1, Language

UNDETERMINED = "und"  # triage could not tell


@lru_cache(maxsize=128)
def language_name(code: str | None) -> str:
    """'tl' -> 'Tagalog'; 'und' -> 'unknown language'; an unknown code is shown as it is."""
    if not code:
        return "not triaged yet"
    if code == UNDETERMINED:
        return "unknown language"
    iso = getattr(IsoCode639_1, code.upper(), None)
    if not isinstance(iso, IsoCode639_1):
        return code
    return Language.from_iso_code_639_1(iso).name.title()
