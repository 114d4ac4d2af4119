"""What operators use: the embedded catcher, `inbox worker` / `queue` / `mail …`, `/metrics`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from inbox.cli import app as cli_app
from inbox.main import create_app
from inbox.outbox.catcher import list_caught
from inbox.outbox.models import MailState
from inbox.runtime import build_runtime
from inbox.worker import start_background
from tests.conftest import TEST_METRICS_TOKEN
from tests.outbox.conftest import bulk_queue, enqueue_committed, load_mail

INBOX_COMMAND = [sys.executable, "-c", "from inbox.cli import app; app()"]


def _cli_env(settings, **extra: str) -> dict[str, str]:
    return {
        "INBOX_SECRET_KEY": settings.secret_key,  # the worker refuses to start without one
        "INBOX_DATABASE_URL": settings.database_url,
        "INBOX_SMTP_HOST": settings.smtp_host,
        "INBOX_SMTP_PORT": str(settings.smtp_port),
        "INBOX_MAIL_CATCHER": "false",
        "INBOX_WORKER_POLL_SECONDS": "0.1",
        **extra,
    }


async def test_without_smtp_host_the_catcher_receives_and_stores_the_mails(settings, clock):
    catcher_settings = settings.model_copy(
        update={
            "smtp_host": "",
            "mail_catcher": True,
            "mail_catcher_port": 0,
            "worker_poll_seconds": 0.05,
        }
    )
    runtime = build_runtime(catcher_settings, clock=clock)
    background = await start_background(runtime)
    try:
        mail_id = enqueue_committed(runtime, subject="Your question, answered")
        for _ in range(100):
            with Session(runtime.engine) as session:
                caught = list_caught(session)
            if caught:
                break
            await asyncio.sleep(0.05)
    finally:
        await background.stop()
    [mail] = caught
    assert mail.subject == "Your question, answered"
    assert mail.message_id == load_mail(runtime, mail_id).message_id
    assert mail.recipients == "patient@example.org"
    assert load_mail(runtime, mail_id).state == MailState.SENT
    runtime.engine.dispose()


def test_the_app_starts_the_worker_and_catcher_in_process(settings, clock):
    app_settings = settings.model_copy(
        update={
            "smtp_host": "",
            "mail_catcher": True,
            "run_worker": True,
            "worker_poll_seconds": 0.05,
        }
    )
    runtime = build_runtime(app_settings, clock=clock)
    with TestClient(create_app(runtime=runtime)):
        mail_id = enqueue_committed(runtime)
        for _ in range(100):
            if load_mail(runtime, mail_id).state == MailState.SENT:
                break
            time.sleep(0.05)
    assert load_mail(runtime, mail_id).state == MailState.SENT
    with Session(runtime.engine) as session:
        assert len(list_caught(session)) == 1


def test_metrics_show_queue_depth_from_the_database_and_delivery_counters(client, runtime):
    enqueue_committed(runtime)
    enqueue_committed(runtime, recipient="broken")
    response = client.get("/metrics", headers={"authorization": f"Bearer {TEST_METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert 'inbox_outbox_mails{state="queued"} 1.0' in body
    assert 'inbox_outbox_mails{state="failed"} 1.0' in body
    assert "inbox_outbox_sent_total 0.0" in body
    assert "inbox_outbox_send_seconds_bucket" in body


async def test_metrics_count_what_the_worker_did(outbox_runtime, worker, smtp_server):
    smtp_server.script = ["451 busy"]
    enqueue_committed(outbox_runtime)
    enqueue_committed(outbox_runtime)
    await worker.drain()
    body = worker.metrics.render().decode()
    assert "inbox_outbox_sent_total 1.0" in body
    assert "inbox_outbox_retried_total 1.0" in body
    assert "inbox_outbox_send_seconds_count 1.0" in body


def test_queue_mail_list_and_retry_commands(outbox_settings, outbox_runtime, monkeypatch):
    for name, value in _cli_env(outbox_settings).items():
        monkeypatch.setenv(name, value)
    failed = enqueue_committed(outbox_runtime, recipient="nobody")
    runner = CliRunner()

    result = runner.invoke(cli_app, ["queue"])
    assert result.exit_code == 0, result.output
    assert "queued: 0" in result.output and "failed: 1" in result.output
    assert f"failed #{failed}" in result.output

    result = runner.invoke(cli_app, ["mail", "retry", str(failed)])
    assert result.exit_code == 1 and "could not be built" in result.output

    result = runner.invoke(cli_app, ["mail", "list"])
    assert result.exit_code == 0 and "no mails caught yet" in result.output


def test_mail_retry_command_requeues_a_failed_mail(outbox_settings, outbox_runtime, monkeypatch):
    for name, value in _cli_env(outbox_settings).items():
        monkeypatch.setenv(name, value)
    mail_id = enqueue_committed(outbox_runtime)
    with outbox_runtime.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE outbox_mail SET state='failed' WHERE id={mail_id}")
    result = CliRunner().invoke(cli_app, ["mail", "retry", str(mail_id)])
    assert result.exit_code == 0, result.output
    assert load_mail(outbox_runtime, mail_id).state == MailState.QUEUED


def test_worker_process_delivers_and_exits_cleanly_on_sigterm(
    outbox_settings, outbox_runtime, smtp_server
):
    bulk_queue(outbox_runtime, 5)
    env = {**os.environ, **_cli_env(outbox_settings)}
    env.pop("INBOX_TEST_DATABASE_URL", None)
    process = subprocess.Popen(
        [*INBOX_COMMAND, "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        smtp_server.wait_for(5, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    assert process.returncode == 0, output
    assert "started" in output


async def test_without_smtp_host_and_with_the_catcher_off_nothing_starts(settings):
    off = settings.model_copy(update={"smtp_host": "", "mail_catcher": False})
    runtime = build_runtime(off)
    try:
        with pytest.raises(RuntimeError, match="mail catcher is off"):
            await start_background(runtime)
    finally:
        runtime.engine.dispose()
