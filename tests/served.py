"""`inbox serve` in a process of its own, as deployed: for tests of what only the real server
shows (its uvicorn limits, its log lines, what a kill -9 leaves behind).

    with serving(tmp_path, INBOX_RATE_LIMIT_IP="1/minute") as served:
        httpx.get(f"{served.url}/contact")

The environment is the test's minus every INBOX_* variable, then a private SQLite file in
`tmp_path` (or `database_url`), the tests' secret key, no worker and no mail catcher.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET_KEY, free_port

INBOX = str(Path(sys.executable).parent / "inbox")


@dataclass
class Served:
    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> str:
        """Stop it as an operator would (SIGTERM); what it wrote to stderr, if kept."""
        if self.process.poll() is None:
            self.process.terminate()
        _, errors = self.process.communicate(timeout=30)
        return errors or ""

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, nothing finished."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


def start(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    keep_stderr: bool = False,
    preexec_fn: Callable[[], None] | None = None,
    **env: str,
) -> Served:
    """Start `inbox serve` on a free port and wait (at most 120 s: a crowded machine) until
    /healthz answers."""
    port = free_port()
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("INBOX_")},
        "INBOX_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'inbox.db'}",
        "INBOX_SECRET_KEY": TEST_SECRET_KEY,
        "INBOX_LOG_LEVEL": "WARNING",
        "INBOX_RUN_WORKER": "false",
        "INBOX_MAIL_CATCHER": "false",
        **env,
    }
    process = subprocess.Popen(
        [INBOX, "serve", "--port", str(port)],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if keep_stderr else subprocess.DEVNULL,
        text=True,
        preexec_fn=preexec_fn,
    )
    served = Served(process, port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{served.url}/healthz").status_code == 200:
                return served
        except httpx.TransportError:
            time.sleep(0.2)
    if process.poll() is None:
        served.kill()
    raise AssertionError("inbox serve did not start")


@contextmanager
def serving(tmp_path: Path, **options) -> Iterator[Served]:
    """`start`, then stop it whatever the test did."""
    served = start(tmp_path, **options)
    try:
        yield served
    finally:
        served.stop()
