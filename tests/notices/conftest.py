"""Automatic-mail tests run against the real test SMTP server (the follow-up tests' settings)."""

from tests.followups.conftest import settings  # noqa: F401
