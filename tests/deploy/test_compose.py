"""docker-compose.yml cannot run here (no Docker engine), so read it against the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from inbox.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_inbox_variable_in_compose_is_a_setting():
    known = {f"INBOX_{name.upper()}" for name in Settings.model_fields}
    services = compose()["services"]
    used = {key for service in services.values() for key in (service.get("environment") or {})}
    inbox_vars = {key for key in used if key.startswith("INBOX_")}
    assert inbox_vars, "compose sets no INBOX_* variable"
    assert inbox_vars <= known, sorted(inbox_vars - known)


def test_topology_has_database_mail_catcher_web_and_worker_from_the_dockerfile():
    services = compose()["services"]
    assert {"db", "mailpit", "web", "worker"} <= set(services)
    assert services["web"]["build"] == "." and services["worker"]["build"] == "."
    assert (ROOT / "Dockerfile").exists()
    assert services["worker"]["command"][:2] == ["inbox", "worker"]
    assert services["web"]["environment"]["INBOX_RUN_WORKER"] == "false"
    assert services["web"]["environment"]["INBOX_DATABASE_URL"].startswith("postgresql://")


def test_compose_commands_exist_in_the_cli():
    from typer.testing import CliRunner

    from inbox.cli import app

    runner = CliRunner()
    for service in compose()["services"].values():
        command = service.get("command")
        if command and command[0] == "inbox":
            words = [word for word in command[1:] if not word.startswith("-")][:2]
            result = runner.invoke(
                app, [*words[:1], "--help"] if words[0] != "db" else ["db", "upgrade", "--help"]
            )
            assert result.exit_code == 0, (command, result.output)
