"""`inbox knowledge check` and `inbox knowledge explain`, as an article editor runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from inbox.cli import app


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def test_check_validates_and_prints_the_figures_of_examples_and_corpus():
    result = run("knowledge", "check", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    figures = report["figures"]
    assert "examples of leg-cramps-end-of-dialysis" in figures
    assert {"corpus train", "corpus test"} <= set(figures)
    for row in figures.values():
        assert 0.0 <= row["micro_f1"] <= 1.0 and row["messages"] > 0


def test_check_names_the_file_and_field_of_a_broken_article(tmp_path):
    from inbox.config import Settings

    articles = tmp_path / "articles"
    shutil.copytree(Settings().knowledge_dir(), articles)
    broken = articles / "leg-cramps-end-of-dialysis.toml"
    broken.write_text(
        broken.read_text().replace("[sections.cues]", "[sections.cues]\nsometimes = []", 1)
    )
    result = run("knowledge", "check", env={"INBOX_ARTICLES_DIR": str(articles)})
    assert result.exit_code == 2
    assert "leg-cramps-end-of-dialysis.toml" in result.output
    assert "sometimes" in result.output


def test_explain_shows_context_decisions_and_the_red_flag_with_its_words():
    result = run(
        "knowledge", "explain", "No chest pain, but since an hour her mouth droops on one side."
    )
    assert result.exit_code == 0, result.output
    assert "negated" in result.output
    assert "chest-pain" in result.output and "“chest pain”" in result.output
    assert "stroke" in result.output and "mouth droops" in result.output
    assert "decision: URGENT" in result.output


def test_explain_as_json_has_a_place_for_the_model():
    result = run("knowledge", "explain", "--json", "my legs cramp when they take 4 litres off")
    report = json.loads(result.output)
    assert "model" in report
    assert report["sections"][0]["section"] == "fluid-removal-too-fast"
    assert any(item["measure"] == "litres" for item in report["measurements"])


def test_eval_still_answers_on_a_labelled_file(tmp_path: Path):
    path = tmp_path / "one.jsonl"
    row = {"id": "1", "subject": "q", "message": "she can't lift her right arm", "urgent": True}
    path.write_text(json.dumps(row) + "\n")
    result = run("eval", str(path), "--json")
    assert json.loads(result.output)["urgent_recall"] == 1.0
