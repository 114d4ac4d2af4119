"""The `inbox` command as an operator meets it."""

import pytest
from typer.testing import CliRunner

from inbox.cli import app


@pytest.mark.parametrize("database", ["postgresql://nobody@127.0.0.1:1/none", "sqlite://"])
@pytest.mark.parametrize("key", [None, "change-me", "change-me-in-production", "x" * 64])
def test_serve_and_worker_refuse_a_missing_or_weak_secret(monkeypatch, database, key):
    if key is None:
        monkeypatch.delenv("INBOX_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("INBOX_SECRET_KEY", key)
    monkeypatch.setenv("INBOX_DATABASE_URL", database)
    monkeypatch.delenv("INBOX_DEV_MODE", raising=False)

    for command in (["serve", "--no-migrate"], ["worker"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2, command
        assert "INBOX_SECRET_KEY" in result.output


def test_help_lists_the_commands_the_readme_promises():
    output = CliRunner().invoke(app, ["--help"]).output
    for command in (
        "serve",
        "worker",
        "db",
        "staff",
        "eval",
        "queue",
        "mail",
        "purge",
        "export",
        "erase",
    ):
        assert command in output, command
