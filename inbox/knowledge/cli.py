"""The `inbox eval` command: measure the matcher on a labelled JSONL file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from inbox.config import Settings
from inbox.knowledge.evaluation import LabelledDataError, evaluate, format_report, read_labelled
from inbox.knowledge.loader import KnowledgeFileError, load_knowledge


def register(app: typer.Typer) -> None:
    """Add the `eval` command to the `inbox` application."""
    app.command("eval")(eval_command)


def eval_command(
    path: Annotated[Path, typer.Argument(help="Labelled messages, one JSON object per line.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a report.")
    ] = False,
) -> None:
    """Score section suggestions and urgency against labelled messages."""
    settings = Settings()
    try:
        knowledge = load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)
        messages = read_labelled(path)
    except (KnowledgeFileError, LabelledDataError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    report = evaluate(knowledge=knowledge, messages=messages)
    typer.echo(json.dumps(report, ensure_ascii=False) if as_json else format_report(report))
