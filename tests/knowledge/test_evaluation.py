"""`inbox eval`: the figures on the labelled dev set, as a report and as one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from inbox.config import Settings
from inbox.knowledge.cli import register
from inbox.knowledge.evaluation import LabelledDataError, evaluate, read_labelled
from inbox.knowledge.loader import load_knowledge

DEV_SET = Path(__file__).resolve().parents[3] / "shared" / "eval" / "messages-dev.jsonl"
needs_dev_set = pytest.mark.skipif(not DEV_SET.exists(), reason="dev set not beside the repo")
JSON_KEYS = {
    "micro_precision",
    "micro_recall",
    "micro_f1",
    "exact_match",
    "urgent_recall",
    "urgent_fpr",
    "per_section",
    "errors",
    "predictions",
}


def labelled(tmp_path: Path, *rows: dict) -> Path:
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def run_eval(*args: str):
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, so that `eval` is addressed by name as in `inbox`
        """Placeholder."""

    return CliRunner().invoke(app, ["eval", *args])


@needs_dev_set
def test_the_dev_set_reaches_the_targets():
    settings = Settings()
    knowledge = load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)
    report = evaluate(knowledge=knowledge, messages=read_labelled(DEV_SET))
    assert report["micro_f1"] >= 0.90
    assert report["urgent_recall"] == 1.0
    assert report["urgent_fpr"] <= 0.05


@needs_dev_set
def test_eval_json_is_one_object_with_a_prediction_per_message():
    result = run_eval(str(DEV_SET), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) >= JSON_KEYS
    ids = [json.loads(line)["id"] for line in DEV_SET.read_text().splitlines() if line.strip()]
    assert [item["id"] for item in report["predictions"]] == ids
    assert all(set(item) == {"id", "sections", "urgent"} for item in report["predictions"])
    assert "fluid-removal-too-fast" in report["per_section"]


def test_eval_report_lists_the_wrong_messages_with_evidence(tmp_path):
    path = labelled(
        tmp_path,
        {"id": "a", "subject": "s", "message": "they take off 4 litres and I cramp",
         "sections": ["fluid-removal-too-fast"], "urgent": False},
        {"id": "b", "subject": "s", "message": "my dry weight was lowered and I cramp",
         "sections": ["low-sodium-dialysate"], "urgent": False},
    )  # fmt: skip
    result = run_eval(str(path))
    assert result.exit_code == 0, result.output
    assert "micro F1" in result.stdout
    assert "urgent recall" in result.stdout
    assert "- b (s): expected ['low-sodium-dialysate']" in result.stdout
    assert "below-dry-weight: dry weight was lowered" in result.stdout
    assert "- a " not in result.stdout


def test_eval_figures_count_both_misses_and_false_alarms(tmp_path):
    path = labelled(
        tmp_path,
        {"id": "1", "subject": "help", "message": "he cannot breathe right now",
         "sections": [], "urgent": True},
        {"id": "2", "subject": "bill", "message": "please send the receipt",
         "sections": ["other-causes"], "urgent": False},
    )  # fmt: skip
    report = json.loads(run_eval(str(path), "--json").stdout)
    assert report["urgent_recall"] == 1.0
    assert report["urgent_fpr"] == 0.0
    assert report["micro_recall"] == 0.0
    assert report["exact_match"] == 0.5
    assert report["per_section"]["other-causes"]["false_negatives"] == 1
    assert [error["id"] for error in report["errors"]] == ["2"]


def test_a_broken_labelled_file_names_the_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"id": "1", "message": "x"}\n{not json\n', encoding="utf-8")
    with pytest.raises(LabelledDataError, match="line 2"):
        read_labelled(path)
    result = run_eval(str(path))
    assert result.exit_code == 2


def test_messages_written_for_these_tests_reach_the_same_targets():
    """own-messages.jsonl: 153 messages worded afresh (typos, lay words, paraphrases of the
    dev-set situations, non-topic mail). Several guided the vocabulary, so this guards against
    regressions rather than proving generalisation; the held-out set does that."""
    settings = Settings()
    knowledge = load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)
    own = Path(__file__).with_name("own-messages.jsonl")
    report = evaluate(knowledge=knowledge, messages=read_labelled(own))
    assert report["messages"] == 153
    assert report["micro_f1"] >= 0.90
    assert report["urgent_recall"] == 1.0
    assert report["urgent_fpr"] <= 0.05
