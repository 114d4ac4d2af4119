"""Follow-up tests run against the real test SMTP server, with a staff alert address set."""

from __future__ import annotations

import pytest

from inbox.config import Settings
from tests.smtp import SmtpServer


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_timeout": 2.0,
            "smtp_send_timeout": 3.0,
            "staff_alert_to": "duty-nurse@hospital.example",
            "retry_base_seconds": 60.0,
        }
    )
