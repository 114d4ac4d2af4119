"""The `inbox eval` command: measure the triage on labelled JSONL messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from inbox.config import Settings
from inbox.knowledge.evaluation import (
    TEST_SPLIT,
    TRAIN_SPLIT,
    LabelledDataError,
    evaluate,
    format_report,
    read_corpus,
)
from inbox.knowledge.loader import KnowledgeFileError, load_knowledge


def register(app: typer.Typer) -> None:
    """Add the `eval` command to the `inbox` application."""
    app.command("eval")(eval_command)


def eval_command(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Labelled messages, one JSON object per line, or a folder of such files"
            " (default: the frozen test split; with --cv: the training corpus)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a report.")
    ] = False,
    cv: Annotated[
        bool,
        typer.Option(
            "--cv",
            help="5-fold cross-validation over the corpus: the model is retrained per fold.",
        ),
    ] = False,
) -> None:
    """Score section suggestions and urgency against labelled messages."""
    settings = Settings()
    try:
        knowledge = load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)
        source = path or (TRAIN_SPLIT if cv else TEST_SPLIT)
        messages = read_corpus(source)
    except (KnowledgeFileError, LabelledDataError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    if not messages:
        typer.echo(f"error: {source}: no labelled messages", err=True)
        raise typer.Exit(code=2)
    if cv:
        from inbox.knowledge.training.crossval import cross_validate  # scikit-learn: slow import

        report = cross_validate(knowledge, messages)
    else:
        report = evaluate(knowledge=knowledge, messages=messages)
    typer.echo(json.dumps(report, ensure_ascii=False) if as_json else format_report(report))
