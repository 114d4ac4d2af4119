"""Plain factory functions for test data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox.clock import FrozenClock
from inbox.intake.spam import issue_form_token
from tests.conftest import TEST_SECRET_KEY


def form_fields(settings, clock: FrozenClock, **overrides: str) -> dict[str, str]:
    """A valid Leave Message form post, with a time-trap token issued a minute ago."""
    issued = clock.now() - timedelta(minutes=1)
    fields = {
        "name": "Karim Haddad",
        "email": "karim.h@example.com",
        "subject": "cramps at the end",
        "message": "Near the end of every session my calf goes hard. Why?",
        "page": "https://hospital.example/leg-cramps.html",
        "form_token": issue_form_token(settings.secret_key, now=issued),
        "website": "",
    }
    fields.update(overrides)
    return fields


API_TOKEN_ISSUED_AT = datetime(2026, 1, 1, tzinfo=UTC)  # well before any test clock


def api_payload(**overrides: str) -> dict[str, str]:
    """A valid JSON submission, with a form token fetched long before (signed with the test
    suite's secret key)."""
    payload = {
        "form_token": issue_form_token(TEST_SECRET_KEY, now=API_TOKEN_ISSUED_AT),
        "name": "Linda Morales",
        "email": "lmorales58@example.net",
        "subject": "Mom's dry weight",
        "message": "Since her dry weight was lowered she cramps in the last half hour.",
        "page": "https://hospital.example/leg-cramps.html",
    }
    payload.update(overrides)
    return payload
