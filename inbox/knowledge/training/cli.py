"""`inbox triage train`: rebuild the learned layer from the corpus (and staff decisions)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer

from inbox.config import Settings
from inbox.knowledge.evaluation import TRAIN_SPLIT, LabelledDataError, LabelledMessage, read_corpus
from inbox.knowledge.loader import KnowledgeFileError, load_knowledge

# reads the hospital's own final staff decisions as labelled messages (from the database)
StaffLabels = Callable[[Settings], Sequence[LabelledMessage]]


def register(app: typer.Typer, *, staff_labels: StaffLabels | None = None) -> None:
    """Add the `triage` commands to the `inbox` application."""
    triage_app = typer.Typer(help="The learned triage layer.", no_args_is_help=True)

    @triage_app.command("train")
    def train_command(
        include_staff_labels: Annotated[
            bool,
            typer.Option(
                "--include-staff-labels",
                help="Also learn from staff's final decisions stored in the database.",
            ),
        ] = False,
        corpus: Annotated[
            Path | None, typer.Option(help="Folder of labelled JSONL files (the corpus).")
        ] = None,
        output: Annotated[Path | None, typer.Option(help="Where to write the model.")] = None,
    ) -> None:
        """Train the model (fixed seed: the same labels give the same file) and save it."""
        # scikit-learn takes a second to import: only the commands that train load it
        from inbox.knowledge.learned.model import MODEL_PATH, save_model
        from inbox.knowledge.training.crossval import train

        settings = Settings()
        try:
            knowledge = load_knowledge(
                settings.knowledge_dir(), site_base_url=settings.site_base_url
            )
            messages = read_corpus(corpus or TRAIN_SPLIT)
        except (KnowledgeFileError, LabelledDataError) as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from error
        extra: Sequence[LabelledMessage] = ()
        if include_staff_labels:
            if staff_labels is None:
                typer.echo("error: staff labels are not available here", err=True)
                raise typer.Exit(code=2)
            extra = staff_labels(settings)
        if not messages and not extra:
            typer.echo("error: no labelled messages to learn from", err=True)
            raise typer.Exit(code=2)
        model = train(knowledge, [*messages, *extra])
        path = output or MODEL_PATH
        save_model(model, path)
        combination = model.metadata["combination"]
        typer.echo(
            f"trained on {len(messages)} corpus messages and {len(extra)} staff labels;"
            f" {model.coefficients.shape[0]} features;"
            f" corpus {model.metadata['corpus_sha256'][:12]}"
        )
        typer.echo(
            "thresholds: section {section_threshold}, urgent {urgent_threshold},"
            " possible {possible_threshold} (unread messages {reader_threshold});"
            " urgent despite a red flag set aside {aside_threshold}".format(**combination)
        )
        typer.echo(f"saved {path}")

    app.add_typer(triage_app, name="triage")
