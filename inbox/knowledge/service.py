"""The one entry point of the knowledge package: triage a message.

Two layers decide together: the rules (``RuleEngine``: sections and red-flag concepts, each
with the patient's words as evidence) and the learned model (TF-IDF and logistic regression,
trained by ``inbox triage train``). ``combination.Combination`` says how; without a model file
the rules decide alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from inbox.knowledge.combination import MAX_SECTIONS, Combination
from inbox.knowledge.engine import RuleEngine
from inbox.knowledge.kinds import KindSuggester
from inbox.knowledge.learned.features import message_text, surface_forms
from inbox.knowledge.learned.model import (
    MODEL_PATH,
    URGENT,
    LearnedModel,
    Reading,
    load_model,
    sigmoid,
)
from inbox.knowledge.loader import Knowledge
from inbox.knowledge.results import SectionMatch

__all__ = [
    "SectionMatch",
    "Triage",
    "assess_urgency",
    "explain",
    "explain_model",
    "is_model_reason",
    "prepare",
    "ready",
    "rule_triage",
    "triage_message",
    "use_model",
]

_LEARNED_KEY = "learned-layer"
MODEL_WORDS = 3  # the model's heaviest words shown per decision


@dataclass(frozen=True)
class Triage:
    sections: tuple[SectionMatch, ...]
    urgent: bool  # urgent or a possible emergency: either way staff look at it now
    urgency_reasons: tuple[str, ...]
    possible: bool = False  # only a possible emergency ("check now"), not a sure one
    language: str = "en"
    needs_reader: bool = False  # mostly in a language the rules cannot read
    urgency_probability: float | None = None  # the learned model's, when there is one
    filtered: str | None = None  # why the rules suggest no section: "advertising", …
    ruled_out: frozenset[str] = frozenset()  # sections whose cues the message negates
    set_aside: frozenset[str] = frozenset()  # red flags mentioned but negated, past, feared


class _Learned:
    """The learned model loaded for one Knowledge, with how it combines with the rules."""

    def __init__(self, knowledge: Knowledge, model: LearnedModel | None) -> None:
        self.section_ids = frozenset(section.id for section in knowledge.sections())
        self.article_paths = {
            section.id: article.path
            for article in knowledge.articles
            for section in article.sections
        }
        self.model = model
        self.combination = (
            Combination.from_dict(model.metadata["combination"])
            if model is not None and "combination" in model.metadata
            else None
        )


def prepare(*, knowledge: Knowledge, model_path: Path | None = MODEL_PATH) -> None:
    """Compile the rules and load the model for this knowledge now rather than on the first
    message; ``model_path=None`` leaves the rules to decide alone."""
    RuleEngine.of(knowledge)
    KindSuggester.of(knowledge)  # data/kinds.toml is validated at start-up too
    model = load_model(model_path) if model_path is not None and model_path.exists() else None
    knowledge.compiled[_LEARNED_KEY] = _Learned(knowledge, model)


def ready(knowledge: Knowledge) -> None:
    """Compile the rules and load the model for this knowledge unless that was done already
    (by ``prepare``, ``use_model`` or a first triage): a no-op once done, unlike ``prepare``.
    The language detector is loaded too: workers call this before their write transactions.
    Threads that call it together load once: the others wait for the first."""
    with knowledge.loading:
        RuleEngine.of(knowledge).languages.load()
        KindSuggester.of(knowledge)
        _learned(knowledge)


def use_model(knowledge: Knowledge, model: LearnedModel | None) -> None:
    """Triage with this model (None: rules alone) from now on."""
    knowledge.compiled[_LEARNED_KEY] = _Learned(knowledge, model)


def rule_triage(
    knowledge: Knowledge, *, subject: str, text: str, page: str | None = None
) -> Triage:
    """What the rule layer alone decides: ranked sections with evidence, urgency with reasons."""
    result = RuleEngine.of(knowledge).assess(subject=subject, text=text, page=page)
    return Triage(
        sections=result.sections,
        urgent=result.urgent or result.possible,
        urgency_reasons=result.reasons,
        possible=result.possible,
        language=result.language,
        needs_reader=result.needs_reader,
        filtered=result.filtered,
        ruled_out=result.ruled_out,
        set_aside=result.set_aside,
    )


def triage_message(
    knowledge: Knowledge, *, subject: str, text: str, page: str | None = None
) -> Triage:
    """Up to three ranked sections with evidence, and whether the message is urgent (and why)."""
    rules = rule_triage(knowledge, subject=subject, text=text, page=page)
    learned = _learned(knowledge)
    if learned.model is None or learned.combination is None:
        return rules
    preferred = frozenset(
        section_id for section_id, path in learned.article_paths.items() if page and path in page
    )
    return combine(
        rules,
        learned.model,
        learned.combination,
        text=message_text(subject, text),
        section_ids=learned.section_ids,
        preferred=preferred,
        set_aside=lambda: bool(rules.set_aside),
    )


def combine(
    rules: Triage,
    model: LearnedModel,
    combination: Combination,
    *,
    text: str,
    section_ids: frozenset[str],
    preferred: frozenset[str] = frozenset(),
    set_aside: Callable[[], bool] = lambda: False,
) -> Triage:
    """The rules' decision joined with the model's (see ``combination``).

    The model catches what the rules miss; it does not overrule what they read. When a red
    flag fired, its tier (urgent or possible) stands. When the rules found a red flag
    mentioned but set it aside (``set_aside``: negated, past, feared), the message is urgent
    only from the model's set-aside threshold (at least the urgent one) and never a possible
    emergency. ``preferred`` sections win near-ties (those of the page the
    form was posted under); a section the model was not trained on is the rules' alone."""
    reading = model.read(text)
    log_odds = model.decision(reading)
    probability = sigmoid(log_odds.pop(URGENT))
    log_odds = {key: value for key, value in log_odds.items() if key in section_ids}
    rule_scores = {match.section_id: match.score for match in rules.sections}
    rule_evidence = {match.section_id: match.evidence for match in rules.sections}
    chosen = (
        []
        if rules.filtered
        else combination.sections(
            log_odds, rule_scores, preferred=preferred, ruled_out=rules.ruled_out
        )
    )
    unknown = [
        (match.section_id, match.score)
        for match in rules.sections
        if match.section_id not in log_odds and not rules.filtered
    ]
    chosen = (chosen + unknown)[:MAX_SECTIONS]
    urgent, possible = (
        (False, False)
        if rules.urgent
        else combination.urgency(probability, needs_reader=rules.needs_reader)
    )
    if (urgent or possible) and set_aside():
        # a red flag the rules read as negated, past or feared: a weak model score is not
        # enough to overrule them, a sure one still is
        urgent, possible = not combination.vetoed(probability), False
    labels = [section_id for section_id, _ in chosen if section_id in log_odds]
    labels += [URGENT] if urgent or possible else []
    heavy = _model_words(model, reading, labels, surface_forms(text))
    sections = []
    for section_id, combined in chosen:
        evidence = rule_evidence.get(section_id, ())
        said = " ".join(evidence).casefold()
        words = heavy.get(section_id, ())
        extra = tuple(word for word in words if word.casefold() not in said)
        sections.append(
            SectionMatch(section_id, round(combined, 3), evidence + extra, model_words=words)
        )
    if not (urgent or possible):
        return replace(rules, sections=tuple(sections), urgency_probability=round(probability, 4))
    reader = possible and probability < combination.possible_threshold
    reason = _model_reason(heavy[URGENT], probability, urgent=urgent, reader=reader)
    return replace(
        rules,
        sections=tuple(sections),
        urgent=True,
        possible=possible,
        urgency_reasons=(*rules.urgency_reasons, reason),
        urgency_probability=round(probability, 4),
    )


def assess_urgency(knowledge: Knowledge, *, subject: str, text: str) -> tuple[str, ...]:
    """Only the urgency part of the triage (the reasons; empty when neither urgent nor a
    possible emergency): cheap enough to run while the patient waits for the thank-you page."""
    found = RuleEngine.of(knowledge).assess_urgency(subject=subject, text=text)
    reasons = found.reasons
    learned = _learned(knowledge)
    if reasons or learned.model is None or learned.combination is None:
        return reasons
    body = message_text(subject, text)
    reading = learned.model.read(body)  # read once: the words shown come from it too
    probability = learned.model.urgency_probability(reading)
    combination = learned.combination
    urgent, possible = combination.urgency(probability, needs_reader=found.needs_reader)
    if (urgent or possible) and found.set_aside:  # as in ``combine``
        urgent, possible = not combination.vetoed(probability), False
    if not (urgent or possible):
        return reasons
    words = _model_words(learned.model, reading, [URGENT], surface_forms(body))[URGENT]
    reader = possible and probability < combination.possible_threshold
    return (*reasons, _model_reason(words, probability, urgent=urgent, reader=reader))


def explain(knowledge: Knowledge, *, subject: str, text: str) -> dict[str, Any]:
    """Every step of the triage of one message, for `inbox knowledge explain`: the rules' own
    trace, with the learned layer's contributions under "model" (None without a model)."""
    report = RuleEngine.of(knowledge).explain(subject=subject, text=text)
    report["model"] = explain_model(knowledge, subject=subject, text=text)
    return report


def explain_model(
    knowledge: Knowledge, *, subject: str, text: str, page: str | None = None, limit: int = 5
) -> dict[str, Any] | None:
    """What the learned layer makes of one message and how it joins the rules, for
    `inbox knowledge explain`; None without a model."""
    learned = _learned(knowledge)
    model, combination = learned.model, learned.combination
    if model is None or combination is None:
        return None
    body = message_text(subject, text)
    reading = model.read(body)
    log_odds = model.decision(reading)
    found = model.contributions(reading, list(model.labels), limit=limit)
    rules = rule_triage(knowledge, subject=subject, text=text, page=page)
    rule_scores = {match.section_id: match.score for match in rules.sections}
    chosen = {
        match.section_id
        for match in triage_message(knowledge, subject=subject, text=text, page=page).sections
    }

    def words(label: str) -> list[dict[str, Any]]:
        return [{"words": item.phrase, "weight": item.weight} for item in found[label]]

    sections: list[dict[str, Any]] = [
        {
            "section": section_id,
            "model_probability": round(sigmoid(log_odds[section_id]), 4),
            "rule_score": rule_scores.get(section_id, 0.0),
            "combined": round(
                combination.section_probability(
                    log_odds[section_id],
                    rule_scores.get(section_id, 0.0),
                    bool(rule_scores),
                    ruled_out=section_id in rules.ruled_out,
                ),
                4,
            ),
            "suggested": section_id in chosen,
            "words": words(section_id),
        }
        for section_id in model.section_labels
        if section_id in learned.section_ids
    ]
    sections.sort(key=lambda item: -item["combined"])
    return {
        "trained_on": model.metadata.get("messages"),
        "corpus_sha256": model.metadata.get("corpus_sha256"),
        "urgency": {
            "probability": round(sigmoid(log_odds[URGENT]), 4),
            "possible_from": combination.possible_threshold,
            "possible_from_if_unread": combination.possible_from(needs_reader=True),
            "urgent_from": combination.urgent_threshold,
            "urgent_from_if_set_aside": max(
                combination.urgent_threshold,
                combination.aside_threshold or combination.urgent_threshold,
            ),
            "words": words(URGENT),
        },
        "section_threshold": combination.section_threshold,
        "sections": sections,
    }


def _model_words(
    model: LearnedModel, reading: Reading, labels: list[str], forms: dict[str, str]
) -> dict[str, tuple[str, ...]]:
    """Per label, the model's heaviest words, as the patient wrote them."""
    found = model.contributions(reading, labels, limit=MODEL_WORDS)
    return {
        label: tuple(
            " ".join(forms.get(word, word) for word in item.phrase.split()) for item in items
        )
        for label, items in found.items()
    }


_MODEL_TIERS = ("emergency likely (", "possible emergency, check now (")


def is_model_reason(reason: str) -> bool:
    """Whether an urgency reason is the learned model's (staff read it; a patient's mail
    quotes only the red flags the rules found in their words)."""
    return reason.startswith(_MODEL_TIERS)


def _model_reason(
    words: tuple[str, ...], probability: float, *, urgent: bool, reader: bool = False
) -> str:
    quoted = ", ".join(f"“{word}”" for word in words)
    tier = _MODEL_TIERS[0] if urgent else _MODEL_TIERS[1]
    source = "needs a reader; learned model" if reader else "learned model"
    return f"{tier}{source}, {probability:.0%}): {quoted}"


def _learned(knowledge: Knowledge) -> _Learned:
    learned = knowledge.compiled.get(_LEARNED_KEY)
    if not isinstance(learned, _Learned):
        prepare(knowledge=knowledge)
        learned = knowledge.compiled[_LEARNED_KEY]
    return learned
