"""`inbox purge`, `inbox export EMAIL`, `inbox erase EMAIL`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from inbox.config import Settings
from inbox.db import session_scope
from inbox.errors import InboxError
from inbox.privacy.deletion import wipe_deleted
from inbox.privacy.purge import purge as run_purge
from inbox.privacy.rights import audit_export, erase_address, export_address
from inbox.runtime import build_runtime


def purge() -> None:
    """Delete spam, closed conversations and sent mail bodies past their retention; print counts."""
    runtime = build_runtime(Settings())
    try:
        with session_scope(runtime.engine) as session:
            counts = run_purge(session, settings=runtime.settings, now=runtime.clock.now())
    finally:
        runtime.engine.dispose()
    for key, value in counts.items():
        typer.echo(f"{key.replace('_', ' ')}: {value}")


def export(
    email: str = typer.Argument(..., help="The person's e-mail address."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Write the JSON here (default: stdout)."
    ),
) -> None:
    """Write everything held about an e-mail address as JSON."""
    runtime = build_runtime(Settings())
    try:
        with session_scope(runtime.engine) as session:
            now = runtime.clock.now()
            data = export_address(session, email=email, now=now)
            audit_export(
                session, email=email, actor="cli", now=now, secret_key=runtime.settings.secret_key
            )
    finally:
        runtime.engine.dispose()
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"written to {output}", err=True)


def erase(
    email: str = typer.Argument(..., help="The person's e-mail address."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete everything held about an e-mail address (an audit entry without it remains)."""
    if not yes:
        typer.confirm(f"Erase everything held about {email}? This cannot be undone", abort=True)
    runtime = build_runtime(Settings())
    try:
        with session_scope(runtime.engine) as session:
            counts = erase_address(
                session, email=email, actor="cli", now=runtime.clock.now(),
                secret_key=runtime.settings.secret_key,
            )  # fmt: skip
        wipe_deleted(runtime.engine)
    except InboxError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.engine.dispose()
    for key, value in counts.items():
        typer.echo(f"{key.replace('_', ' ')}: {value}")


def register(app: typer.Typer) -> None:
    """Add the privacy commands to the `inbox` command."""
    app.command()(purge)
    app.command()(export)
    app.command()(erase)
