"""`inbox staff create|password|disable|enable`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from inbox.cli import app
from inbox.db import session_scope
from inbox.staff import passwords, service
from tests.staff.factories import PASSWORD


@pytest.fixture
def run(settings, monkeypatch):
    monkeypatch.setenv("INBOX_DATABASE_URL", settings.database_url)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, ["staff", *args], input=input)

    return invoke


def account(runtime, email: str):
    with session_scope(runtime.engine) as session:
        return service.get_by_email(session, email=email)


def test_create_reads_the_password_from_stdin(run, runtime):
    result = run(
        "create",
        "Head.Nurse@hospital.example",
        "--admin",
        "--password-stdin",
        input=PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    created = account(runtime, "head.nurse@hospital.example")
    assert created.role == "admin" and created.active
    assert passwords.verify_password(PASSWORD, created.password_hash)[0]


def test_create_asks_twice_without_stdin(run, runtime):
    result = run("create", "nurse@hospital.example", input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert account(runtime, "nurse@hospital.example").role == "staff"


def test_create_refuses_a_short_password_and_a_taken_address(run):
    short = run("create", "nurse@hospital.example", "--password-stdin", input="short\n")
    run("create", "nurse@hospital.example", "--password-stdin", input=PASSWORD + "\n")
    taken = run("create", "nurse@hospital.example", "--password-stdin", input=PASSWORD + "\n")

    assert short.exit_code == 2 and "at least 12 characters" in short.output
    assert taken.exit_code == 1 and "already a staff account" in taken.output


def test_password_and_disable(run, runtime):
    run("create", "nurse@hospital.example", "--password-stdin", input=PASSWORD + "\n")

    changed = run(
        "password", "nurse@hospital.example", "--password-stdin", input="a completely new one\n"
    )
    disabled = run("disable", "nurse@hospital.example")

    assert changed.exit_code == 0 and disabled.exit_code == 0
    stored = account(runtime, "nurse@hospital.example")
    assert passwords.verify_password("a completely new one", stored.password_hash)[0]
    assert not stored.active
    assert run("enable", "nurse@hospital.example").exit_code == 0
    assert account(runtime, "nurse@hospital.example").active


def test_unknown_account_is_an_error(run):
    result = run("disable", "ghost@hospital.example")

    assert result.exit_code == 1
    assert "No staff account matches ghost@hospital.example" in result.output
