"""Inbound tests: the real test SMTP server for what the service sends, a staff alert address,
and the service's own LMTP/SMTP listener on a free port (in a thread with its own event loop)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from inbox.config import Settings
from inbox.inbound.receiver import InboundListener
from inbox.runtime import Runtime
from tests.conftest import free_port
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
            "inbound": "lmtp",
            "inbound_port": free_port(),
            "inbound_max_bytes": 200_000,
        }
    )


class RunningListener:
    """An InboundListener served from a background thread's event loop."""

    def __init__(self, runtime: Runtime, *, lmtp: bool):
        self.listener = InboundListener(runtime.settings, runtime.engine, runtime.clock, lmtp=lmtp)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.listener.port

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.listener.start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.listener.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def lmtp_listener(runtime: Runtime) -> Iterator[RunningListener]:
    running = RunningListener(runtime, lmtp=True)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def smtp_listener(runtime: Runtime) -> Iterator[RunningListener]:
    running = RunningListener(runtime, lmtp=False)
    running.start()
    yield running
    running.stop()
