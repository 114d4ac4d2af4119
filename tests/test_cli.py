"""The `inbox` command as an operator meets it."""

from typer.testing import CliRunner

from inbox.cli import app


def test_serve_refuses_the_default_secret_with_postgresql(monkeypatch):
    monkeypatch.delenv("INBOX_SECRET_KEY", raising=False)
    monkeypatch.setenv("INBOX_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(app, ["serve", "--no-migrate"])
    assert result.exit_code == 2
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
