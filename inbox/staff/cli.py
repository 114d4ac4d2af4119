"""Commands of staff (filled in by its issue)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the `inbox` command."""
    return None
