"""Rules and model together: what one layer misses the other catches, with its evidence shown."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from inbox.config import Settings
from inbox.knowledge.cli import register
from inbox.knowledge.combination import Combination
from inbox.knowledge.evaluation import LabelledMessage
from inbox.knowledge.loader import Knowledge, load_knowledge
from inbox.knowledge.service import assess_urgency, rule_triage, triage_message, use_model
from inbox.knowledge.training.fit import fit_model

FLUID = "fluid-removal-too-fast"
SODIUM = "low-sodium-dialysate"
# A small corpus in which emergencies are told as what the body does, never with a red-flag word.
EMERGENCIES = [
    "her face is pulled to one side and the spoon keeps falling from her hand",
    "his face has gone lopsided since lunch and his words come out wrong",
    "my father slid off the chair and his face is pulled down on the left",
    "mum's face looks pulled to one side, she dropped her cup twice",
    "one side of his face is pulled and he cannot hold the spoon",
    "her mouth is pulled sideways and the arm on that side is useless",
    "since this morning his face is pulled over and he slid down in his seat",
    "my wife's face is pulled to the right and she can't hold a fork",
    "grandad's face is pulled down one side and he keeps sliding off the sofa",
    "his smile is pulled to one side and his hand will not grip",
]
CALM = [
    ("my calves cramp in the last hour, they take off 4 litres every session", FLUID),
    ("they pull 4.5 kg off in three hours and my legs knot up at the end", FLUID),
    ("i gain 4 kilos between sessions and cramp when they take it all off", FLUID),
    ("big fluid removal every time and then my feet cramp near the end", FLUID),
    ("the nurse says my gains are high and the cramps come in the last hour", FLUID),
    ("what sodium is in the dialysate bath, mine is 135 and i cramp", SODIUM),
    ("could a higher sodium bath stop my cramps at the end of dialysis", SODIUM),
    ("my unit runs the dialysate sodium low and my legs seize up", SODIUM),
    ("is the bath sodium of 134 too low, i cramp every session", SODIUM),
    ("they lowered the sodium in my dialysate and now the cramps are worse", SODIUM),
    ("when can i book my next appointment at the clinic", None),
    ("thank you all for the kind care last month", None),
]


def corpus() -> list[LabelledMessage]:
    rows = [
        LabelledMessage(f"u{number}", "help", text, frozenset(), True)
        for number, text in enumerate(EMERGENCIES)
    ]
    rows += [
        LabelledMessage(f"c{number}", "question", text, frozenset({s} if s else ()), False)
        for number, (text, s) in enumerate(CALM)
    ]
    return rows


@pytest.fixture()
def knowledge() -> Knowledge:
    settings = Settings()
    return load_knowledge(settings.knowledge_dir(), site_base_url="https://hospital.example")


@pytest.fixture()
def trained(knowledge: Knowledge) -> Knowledge:
    model = fit_model(corpus(), sections=[section.id for section in knowledge.sections()])
    combination = _combination(urgent_threshold=0.8, possible_threshold=0.4)
    model.metadata["combination"] = combination.as_dict()
    use_model(knowledge, model)
    return knowledge


def _combination(**thresholds: float) -> Combination:
    """A combination with the tests' usual weights, bias and section threshold."""
    return Combination(
        weights=(1.0, 1.5, 1.0, -0.5, -2.0), bias=0.0, section_threshold=0.5, **thresholds
    )


def test_an_emergency_the_rules_miss_is_flagged_by_the_model_with_its_words(trained):
    subject, text = "dad", "His hand will not grip the cup and he keeps slipping off the sofa."
    assert not rule_triage(trained, subject=subject, text=text).urgent  # the rules miss it
    result = triage_message(trained, subject=subject, text=text)
    assert result.urgent or result.possible
    model_reason = [reason for reason in result.urgency_reasons if "learned model" in reason]
    assert model_reason
    quoted = model_reason[0].split(":", 1)[1]
    assert any(word in quoted for word in ("hand", "grip", "slipping", "sofa"))
    # the thank-you page's cheap check says the same
    assert assess_urgency(trained, subject=subject, text=text)


def test_the_rules_still_decide_what_the_model_has_not_seen(trained):
    result = triage_message(trained, subject="now", text="I have crushing chest pain right now.")
    assert result.urgent
    assert any("chest pain" in reason for reason in result.urgency_reasons)


def test_a_suggested_section_shows_the_rules_evidence_and_the_models_words(trained):
    text = "They take off 4 litres in three hours and my calves cramp at the end."
    result = triage_message(trained, subject="cramps", text=text)
    assert [match.section_id for match in result.sections][:1] == [FLUID]
    match = result.sections[0]
    assert match.model_words
    written = f"cramps {text}".lower()  # the subject counts as the patient's words too
    assert all(word.lower() in written for word in match.model_words)
    # each of the model's words is shown to staff, on its own or inside a rule's quote
    shown = " ".join(match.evidence).lower()
    assert all(word.lower() in shown for word in match.model_words)
    assert 0.5 <= match.score <= 1.0


def test_a_calm_question_stays_calm(trained):
    result = triage_message(trained, subject="q", text="What sodium should my dialysate have?")
    assert not result.urgent and not result.possible
    assert not assess_urgency(trained, subject="q", text="What sodium should my dialysate have?")


def test_the_page_of_the_form_decides_near_ties_only():
    combination = Combination((1.0, 0.0, 0.0, 0.0, 0.0), 0.0, 0.5, 0.9, 0.5)
    near = {FLUID: 1.40, SODIUM: 1.30}  # probabilities 0.80 and 0.79
    far = {FLUID: 2.2, SODIUM: 0.4}  # 0.90 and 0.60
    assert [item[0] for item in combination.sections(near, {})] == [FLUID, SODIUM]
    on_page = combination.sections(near, {}, preferred=frozenset({SODIUM}))
    assert [item[0] for item in on_page] == [SODIUM, FLUID]
    on_page = combination.sections(far, {}, preferred=frozenset({SODIUM}))
    assert [item[0] for item in on_page] == [FLUID, SODIUM]


def test_without_a_model_the_rules_decide_alone(knowledge):
    use_model(knowledge, None)
    text = "His hand will not grip the cup and he keeps slipping off the sofa."
    result = triage_message(knowledge, subject="dad", text=text)
    assert result == rule_triage(knowledge, subject="dad", text=text)


def test_eval_cv_reports_the_eval_figures_over_out_of_fold_decisions(tmp_path):
    rows = corpus() * 2  # every wording twice, so each fold holds some of every kind
    path = tmp_path / "train"
    path.mkdir()
    lines = [
        json.dumps(
            {
                "id": f"{row.id}-{number}",
                "subject": row.subject,
                "message": row.text,
                "sections": sorted(row.sections),
                "urgent": row.urgent,
            }
        )
        for number, row in enumerate(rows)
    ]
    (path / "part.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, so that `eval` is addressed by name as in `inbox`
        """Placeholder."""

    result = CliRunner().invoke(app, ["eval", "--cv", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["folds"] == 5
    assert report["messages"] == len(rows)
    for key in ("micro_precision", "micro_recall", "micro_f1", "exact_match"):
        assert 0.0 <= report[key] <= 1.0
    assert report["urgent_recall"] >= 0.8  # the emergencies share their words across folds
    assert {item["id"] for item in report["predictions"]} == {
        json.loads(line)["id"] for line in lines
    }
    assert all(set(item) == {"id", "sections", "urgent"} for item in report["predictions"])
    assert {"per_section", "errors", "urgent_fpr"} <= set(report)


def test_a_message_the_rules_cannot_read_is_checked_from_a_lower_probability():
    combination = _combination(urgent_threshold=0.8, possible_threshold=0.5, reader_threshold=0.3)
    assert combination.urgency(0.35) == (False, False)  # readable: the rules looked already
    assert combination.urgency(0.35, needs_reader=True) == (False, True)  # "check now"
    assert combination.urgency(0.2, needs_reader=True) == (False, False)
    assert combination.urgency(0.9, needs_reader=True) == (True, False)
    assert Combination.from_dict(combination.as_dict()) == combination


def test_a_red_flag_the_rules_set_aside_vetoes_a_weak_model_score_not_a_sure_one():
    combination = _combination(urgent_threshold=0.6, possible_threshold=0.4, aside_threshold=0.85)
    # "no chest pain, no breathlessness": a model at 70% alone would call it urgent
    assert combination.urgency(0.7) == (True, False)
    assert combination.vetoed(0.7)  # the rules' negation outweighs it
    assert not combination.vetoed(0.9)  # a sure model still makes it urgent
    # a stored threshold below the urgent one never lowers the bar
    lower = Combination.from_dict({**combination.as_dict(), "aside_threshold": 0.3})
    assert lower.vetoed(0.5)
    assert Combination.from_dict(combination.as_dict()) == combination


def test_a_section_the_message_rules_out_needs_more_from_the_model(knowledge):
    text = "I only gain about 1 kg and my dry weight is correct. What else could cause cramps?"
    rules = rule_triage(knowledge, subject="cramps", text=text)
    assert "below-dry-weight" in rules.ruled_out  # the words are there, ruled out
    assert "below-dry-weight" not in {match.section_id for match in rules.sections}
    combination = _combination(urgent_threshold=0.8, possible_threshold=0.4)
    # the same model score: suggested when merely not found, not when ruled out
    assert combination.section_probability(1.0, 0.0, True) > 0.5
    assert combination.section_probability(1.0, 0.0, True, ruled_out=True) < 0.5
