"""Outbound SMTP encrypts whenever the relay offers STARTTLS, checks its certificate, and with
INBOX_SMTP_REQUIRE_TLS sends nothing over a connection that stays in the clear."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from datetime import timedelta

import pytest

from inbox.outbox.models import MailState
from inbox.outbox.sender import SmtpTarget
from tests.conftest import free_port
from tests.outbox.conftest import enqueue_committed, load_mail, make_worker
from tests.outbox.test_delivery import attempts_of
from tests.smtp import SmtpServer


@pytest.fixture
def relay_certificate(tmp_path) -> tuple[ssl.SSLContext, str]:
    """A server TLS context for 127.0.0.1 and the certificate file a client may trust."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "relay.pem", tmp_path / "relay-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, str(cert)


async def test_starttls_is_used_when_the_relay_offers_it(outbox_runtime, relay_certificate):
    context, cert = relay_certificate
    server = SmtpServer(port=free_port(), starttls=context)  # refuses MAIL before STARTTLS
    server.start()
    try:
        target = SmtpTarget(host=server.host, port=server.port, cert_bundle=cert)
        mail_id = enqueue_committed(outbox_runtime)
        await make_worker(outbox_runtime, target=target).drain()
        assert load_mail(outbox_runtime, mail_id).state == MailState.SENT
        assert len(server.received) == 1
    finally:
        server.stop()


async def test_a_relay_certificate_nobody_vouches_for_is_refused(outbox_runtime, relay_certificate):
    context, _ = relay_certificate
    server = SmtpServer(port=free_port(), starttls=context)
    server.start()
    try:
        target = SmtpTarget(host=server.host, port=server.port)  # the system's trusted CAs
        mail_id = enqueue_committed(outbox_runtime)
        await make_worker(outbox_runtime, target=target).drain()
        assert load_mail(outbox_runtime, mail_id).state == MailState.QUEUED  # retried later
        assert server.received == []
        [attempt] = attempts_of(outbox_runtime, mail_id)
        assert attempt.outcome == "retry"
    finally:
        server.stop()


async def test_require_tls_sends_nothing_to_a_relay_without_starttls(outbox_runtime, clock):
    server = SmtpServer(port=free_port())  # no STARTTLS offered
    server.start()
    try:
        mail_id = enqueue_committed(outbox_runtime)
        strict = SmtpTarget(host=server.host, port=server.port, require_tls=True)
        await make_worker(outbox_runtime, target=strict).drain()
        assert server.received == []
        assert load_mail(outbox_runtime, mail_id).state == MailState.QUEUED

        relaxed = SmtpTarget(host=server.host, port=server.port)
        clock.advance(timedelta(hours=1))
        await make_worker(outbox_runtime, target=relaxed).drain()
        assert len(server.received) == 1  # without the requirement, plain text is accepted
    finally:
        server.stop()


def test_the_settings_reach_the_smtp_target(settings):
    strict = settings.model_copy(update={"smtp_require_tls": True, "smtp_ca_file": "/x.pem"})

    target = SmtpTarget.from_settings(strict)

    assert target.starttls is None  # STARTTLS whenever offered
    assert target.require_tls and target.cert_bundle == "/x.pem"
