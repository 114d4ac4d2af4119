"""Optional DKIM: a signed mail, as the patient's provider receives it from the relay, verifies
against the published key (a stub DNS answers for the selector), covers List-Unsubscribe and
List-Unsubscribe-Post, and breaks when one of them is changed on the way."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import dkim
import pytest

from inbox.followups.unsubscribe import unsubscribe_headers
from inbox.outbox.models import MailKind
from inbox.runtime import Runtime, build_runtime
from tests.outbox.conftest import enqueue_committed, make_worker
from tests.smtp import SmtpServer

SELECTOR, DOMAIN = "inbox2026", "kidney-hospital.example"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(path), "2048"], check=True,
                   capture_output=True)  # fmt: skip
    return path


def dns_record(key_file: Path) -> bytes:
    der = subprocess.run(
        ["openssl", "rsa", "-in", str(key_file), "-pubout", "-outform", "DER"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


@pytest.fixture
def signing_runtime(outbox_settings, clock, key_file: Path):
    settings = outbox_settings.model_copy(
        update={"dkim_selector": SELECTOR, "dkim_domain": DOMAIN, "dkim_key_file": key_file}
    )
    runtime = build_runtime(settings, clock=clock)
    yield runtime
    runtime.engine.dispose()


async def test_a_signed_follow_up_verifies_and_covers_the_unsubscribe_headers(
    signing_runtime: Runtime, smtp_server: SmtpServer, key_file: Path
):
    record = dns_record(key_file)
    asked: list[bytes] = []

    def stub_dns(name: bytes, timeout: int = 5) -> bytes:
        asked.append(name)
        return record

    headers = unsubscribe_headers(signing_runtime.settings, "patient@example.org")
    enqueue_committed(signing_runtime, kind=MailKind.FOLLOW_UP, extra_headers=headers)
    await make_worker(signing_runtime).drain()
    [received] = smtp_server.received

    assert dkim.verify(received.data, dnsfunc=stub_dns)
    assert asked == [f"{SELECTOR}._domainkey.{DOMAIN}.".encode()]
    signature = received.parsed()["DKIM-Signature"]
    signed = [name.strip().lower() for name in signature.split("h=", 1)[1].split(";")[0].split(":")]
    assert "list-unsubscribe" in signed and "list-unsubscribe-post" in signed
    tampered = received.data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                                     b"List-Unsubscribe-Post: nothing")  # fmt: skip
    assert tampered != received.data
    assert not dkim.verify(tampered, dnsfunc=stub_dns)


async def test_without_dkim_settings_nothing_is_signed(outbox_runtime, smtp_server: SmtpServer):
    enqueue_committed(outbox_runtime)
    await make_worker(outbox_runtime).drain()
    [received] = smtp_server.received
    assert received.parsed()["DKIM-Signature"] is None
