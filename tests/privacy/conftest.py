"""Privacy tests use the follow-up tests' settings: the real test SMTP server, a staff address."""

from tests.followups.conftest import settings  # noqa: F401 - the fixture, overridden for this folder
