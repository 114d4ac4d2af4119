"""`inbox knowledge check` and `inbox knowledge explain`: the article editors' commands.

``check`` validates every article and data file (errors name the file and the field), then
scores each article's examples (``<article>.examples.jsonl``) and the corpus splits and prints
the figures. ``explain`` shows what the rules make of one message: language, tokens, context
decisions, numbers, red-flag signs and section evidence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from inbox.config import Settings
from inbox.knowledge.engine import RuleEngine
from inbox.knowledge.evaluation import LabelledDataError, LabelledMessage, evaluate, read_labelled
from inbox.knowledge.loader import Knowledge, KnowledgeFileError, load_knowledge
from inbox.knowledge.rulebook import DATA_DIR, load_rulebook
from inbox.knowledge.service import explain, triage_message

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
FIGURES = ("messages", "micro_f1", "exact_match", "urgent_recall", "urgent_fpr")

knowledge_app = typer.Typer(help="Check and explain the triage knowledge.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `knowledge` commands to the `inbox` application."""
    app.add_typer(knowledge_app, name="knowledge")


@knowledge_app.command("check")
def check_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    corpus: Annotated[
        Path, typer.Option(help="Folder of labelled JSONL splits (train/, test/).")
    ] = CORPUS_DIR,
) -> None:
    """Validate every data file, then score the articles' examples and the corpus."""
    settings = Settings()
    try:
        knowledge = load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)
        load_rulebook(DATA_DIR)
        RuleEngine.of(knowledge)
    except KnowledgeFileError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    try:
        report = check(knowledge, corpus=corpus)
    except LabelledDataError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    typer.echo("data files: valid")
    for name, figures in report["figures"].items():
        line = "  ".join(f"{key} {figures[key]}" for key in FIGURES)
        typer.echo(f"{name:<48} {line}")
    for name, errors in report["wrong_examples"].items():
        for wrong in errors:
            typer.echo(
                f"  {name}: {wrong['id']} expected {wrong['expected_sections']}"
                f" urgent={wrong['expected_urgent']}, got {wrong['predicted_sections']}"
                f" urgent={wrong['predicted_urgent']}"
            )


def check(knowledge: Knowledge, *, corpus: Path = CORPUS_DIR) -> dict[str, Any]:
    """The figures of each article's examples and of each corpus split."""
    figures: dict[str, dict[str, Any]] = {}
    wrong: dict[str, list[dict[str, Any]]] = {}
    for article in knowledge.articles:
        if not article.examples:
            continue
        messages = [
            LabelledMessage(item.id, item.subject, item.text, item.sections, item.urgent)
            for item in article.examples
        ]
        report = evaluate(knowledge=knowledge, messages=messages)
        name = f"examples of {article.id}"
        figures[name] = {key: report[key] for key in FIGURES}
        wrong[name] = report["errors"]
    for split in ("train", "test"):
        files = sorted((corpus / split).glob("*.jsonl"))
        messages = [message for path in files for message in read_labelled(path)]
        if messages:
            report = evaluate(knowledge=knowledge, messages=messages)
            figures[f"corpus {split}"] = {key: report[key] for key in FIGURES}
    return {"figures": figures, "wrong_examples": wrong}


@knowledge_app.command("explain")
def explain_command(
    text: Annotated[str, typer.Argument(help="The message to explain.")],
    subject: Annotated[str, typer.Option(help="The message's subject line.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show what the rules and the learned model make of one message, step by step."""
    settings = Settings()
    try:
        knowledge = load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)
        RuleEngine.of(knowledge)
    except KnowledgeFileError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    report = explain(knowledge, subject=subject, text=text)
    final = triage_message(knowledge, subject=subject, text=text)
    report["decision"] = {
        "sections": [match.section_id for match in final.sections],
        "urgent": final.urgent,
        "possible": final.possible,
        "reasons": list(final.urgency_reasons),
    }
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    typer.echo(_explanation(report))


def _model_lines(model: dict[str, Any]) -> list[str]:
    def words(items: list[dict[str, Any]]) -> str:
        return ", ".join(f"“{item['words']}” {item['weight']:+.2f}" for item in items) or "-"

    urgency = model["urgency"]
    lines = [
        f"learned model (trained on {model['trained_on']} messages):",
        f"  urgency {urgency['probability']:.0%} (possible from {urgency['possible_from']:.0%},"
        f" urgent from {urgency['urgent_from']:.0%}): {words(urgency['words'])}",
        f"  sections (suggested from {model['section_threshold']:.0%} combined):",
    ]
    lines += [
        f"    {item['section']:<36} model {item['model_probability']:.0%}"
        f"  rules {item['rule_score']}  combined {item['combined']:.0%}"
        f"{'  SUGGESTED' if item['suggested'] else ''}: {words(item['words'])}"
        for item in model["sections"]
    ]
    return lines


def _explanation(report: dict[str, Any]) -> str:
    lines = [
        f"language: {report['language']} (known words {report['known_share']:.0%})"
        + ("  NEEDS A READER" if report["needs_reader"] else ""),
        "tokens: " + " ".join(token["norm"] for token in report["tokens"]),
        "context:",
    ]
    lines += [
        f"  {item['category']:<13} {item['direction']:<13} “{item['words']}”"
        for item in report["context"]
    ] or ["  (no triggers)"]
    lines.append("numbers:")
    lines += [
        f"  {item['measure']} = {item['value']}  “{item['words']}”"
        for item in report["measurements"]
    ] or ["  (none)"]
    lines.append("red-flag signs:")
    lines += [
        f"  {item['concept']:<30} {item['decision']:<20} “{item['words']}”"
        for item in report["red_flags"]
    ] or ["  (none)"]
    if report["filtered"]:
        lines.append(f"no section: {report['filtered']}")
    lines.append("sections:")
    lines += [
        f"  {item['section']} {item['score']}: {'; '.join(item['evidence'])}"
        for item in report["sections"]
    ] or ["  (none)"]
    if report.get("model") is not None:
        lines += _model_lines(report["model"])
    decision = report["decision"]
    tier = (
        "URGENT"
        if decision["urgent"] and not decision["possible"]
        else ("POSSIBLE EMERGENCY (check now)" if decision["possible"] else "not urgent")
    )
    lines.append(f"decision: {tier}; sections {decision['sections'] or 'none'}")
    lines += [f"  because {reason}" for reason in decision["reasons"]]
    return "\n".join(lines)
