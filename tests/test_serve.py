"""`inbox serve` as `make run` starts it: migrations, demo login, URL, mails to the catcher."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port


def _helpers(pid: int) -> list[int]:
    """The helper processes `pid` started with multiprocessing (Linux: read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes() if int(fields[1]) == pid else b""
        except OSError:
            continue  # gone meanwhile
        if b"spawn_main" in command and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_serve_migrates_seeds_a_demo_login_and_prints_the_url(tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "INBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'inbox.db'}",
        "INBOX_DEMO_SEED": "true",
        "INBOX_LOG_LEVEL": "WARNING",
        "INBOX_SECRET_KEY": secrets.token_urlsafe(32),  # as `make run` makes one in var/
    }
    inbox = Path(sys.executable).parent / "inbox"
    process = subprocess.Popen(
        [str(inbox), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("inbox serve did not become ready")
        assert httpx.get(f"http://127.0.0.1:{port}/contact").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/inbox").status_code == 303  # to /login
        helpers = _helpers(process.pid)
        assert len(helpers) == 1, "the urgency check's helper process is not running"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert not any(Path(f"/proc/{pid}").exists() for pid in helpers), "the helper outlived serve"
    assert f"http://127.0.0.1:{port}" in output
    assert "demo staff login: demo@inbox.example / " in output
    assert (tmp_path / "var" / "inbox.db").exists()
    assert "Traceback" not in output
