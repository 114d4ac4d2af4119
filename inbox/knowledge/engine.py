"""The rule layer of triage, behind one small interface.

``RuleEngine.of(knowledge).assess(subject=..., text=..., page=...)`` returns a ``RuleResult``
(results.py): ranked sections with evidence and scores, the red-flag concepts found (each with
its tier, urgent or possible, and the patient's words), the language of the message and whether
it needs a human reader. ``assess_urgency`` is the cheap part for the thank-you page (no
section matching, no language detection). ``explain`` shows every step for editors. Other
layers (the learned model, combined in service.py) use these results; they do not reach into
the engine's parts.

The engine holds no words: they are the article files and the data files under data/.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from inbox.knowledge.context import ContextRulesCompiled, DocContext
from inbox.knowledge.cues import cue_classes, cue_words, parse_cue
from inbox.knowledge.language import LanguageReader
from inbox.knowledge.loader import Knowledge, KnowledgeFileError
from inbox.knowledge.matcher import ADVERTISING, SectionMatcher
from inbox.knowledge.measures import Measurement, MeasureReader
from inbox.knowledge.patterns import Doc, class_keys
from inbox.knowledge.redflags import REQUIREMENT_MISSING, RedFlagFinder, SignTrace
from inbox.knowledge.results import URGENT, RuleResult, UrgencyResult
from inbox.knowledge.rulebook import DATA_DIR, Rulebook, load_rulebook
from inbox.knowledge.text import Normaliser
from inbox.knowledge.vocabulary import SectionVocabulary


class RuleEngine:
    """Everything the rules compile from one Knowledge and the data files, built once."""

    def __init__(self, knowledge: Knowledge, *, data_dir: Path = DATA_DIR) -> None:
        rulebook = load_rulebook(data_dir)
        _check_class_names(knowledge, rulebook)
        self.rulebook = rulebook
        self.normaliser = Normaliser(
            rulebook.text,
            _vocabulary(knowledge, rulebook),
            always_targets=_article_words(knowledge),
        )
        classes = class_keys(
            {name: item.words for name, item in rulebook.lexicon.classes.items()},
            self.normaliser,
        )
        self.context = ContextRulesCompiled(rulebook.context, self.normaliser, classes)
        self.measures = MeasureReader(rulebook.measures, self.normaliser)
        self.redflags = RedFlagFinder(rulebook.redflags.concepts, self.normaliser, classes)
        vocabulary = SectionVocabulary(knowledge, self.normaliser, classes)
        self.matcher = SectionMatcher(
            knowledge, self.normaliser, classes, rulebook.filters, vocabulary
        )
        self.languages = LanguageReader(rulebook.languages, self.normaliser)

    @classmethod
    def of(cls, knowledge: Knowledge) -> RuleEngine:
        """The engine compiled for this Knowledge (built on first use, then kept with it)."""
        engine = knowledge.compiled.get(cls.__name__)
        if not isinstance(engine, cls):
            engine = cls(knowledge)
            knowledge.compiled[cls.__name__] = engine
        return engine

    def assess(self, *, subject: str, text: str, page: str | None = None) -> RuleResult:
        """Sections, red flags, language and whether a reader is needed."""
        doc, context, measurements = self._read(subject, text)
        trace: list[SignTrace] = []
        concepts = self.redflags.find(doc, context, measurements, trace)
        filtered = self.matcher.filtered(doc, context)
        if filtered == ADVERTISING:  # commercial mail describes no patient: no possible flags
            concepts = tuple(hit for hit in concepts if hit.tier == URGENT)
        ruled_out: set[str] = set()
        sections = (
            ()
            if filtered
            else tuple(
                self.matcher.match(
                    doc, context, measurements, concepts=concepts, page=page, ruled_out=ruled_out
                )
            )
        )
        language = self.languages.judge(doc, detect=True)
        return RuleResult(
            concepts=concepts,
            language=language.language,
            needs_reader=language.needs_reader,
            sections=sections,
            filtered=filtered,
            ruled_out=frozenset(ruled_out),
            set_aside=_set_aside(trace),
        )

    def assess_urgency(self, *, subject: str, text: str) -> UrgencyResult:
        """Only the red flags: cheap enough for the thank-you page."""
        doc, context, measurements = self._read(subject, text)
        trace: list[SignTrace] = []
        concepts = self.redflags.find(doc, context, measurements, trace)
        language = self.languages.judge(doc, detect=False)
        return UrgencyResult(
            concepts=concepts,
            language=language.language,
            needs_reader=language.needs_reader,
            set_aside=_set_aside(trace),
        )

    def set_aside(self, *, subject: str, text: str) -> frozenset[str]:
        """The red-flag concepts the message mentions but the context rules set aside
        (negated, past, feared, general): the learned layer needs more to overrule them. A sign
        told as current whose companion symptom is missing ("black stools" without faintness)
        is not set aside: the model may still call it a possible emergency. ``assess`` and
        ``assess_urgency`` give the same in their results."""
        doc, context, measurements = self._read(subject, text)
        trace: list[SignTrace] = []
        self.redflags.find(doc, context, measurements, trace)
        return _set_aside(trace)

    def explain(self, *, subject: str, text: str) -> dict[str, Any]:
        """Every step of the rules on one message, for `inbox knowledge explain`."""
        doc, context, measurements = self._read(subject, text)
        trace: list[SignTrace] = []
        concepts = self.redflags.find(doc, context, measurements, trace)
        language = self.languages.judge(doc, detect=True)
        filtered = self.matcher.filtered(doc, context)
        sections = (
            [] if filtered else self.matcher.match(doc, context, measurements, concepts=concepts)
        )
        return {
            "language": language.language,
            "known_share": language.known_share,
            "needs_reader": language.needs_reader,
            "tokens": [
                {"word": doc.text[token.start : token.end], "norm": token.norm, "stem": token.stem}
                for token in doc.tokens
            ],
            "context": [
                {
                    "category": trigger.category,
                    "direction": trigger.direction,
                    "words": doc.quote_span(trigger.first, trigger.last),
                }
                for trigger in context().triggers
            ],
            "measurements": [
                {
                    "measure": item.measure,
                    "value": round(item.value, 2),
                    "words": doc.quote_span(item.first, item.last),
                }
                for item in measurements()
            ],
            "red_flags": [
                {"concept": item.concept_id, "words": item.quote, "decision": item.decision}
                for item in trace
            ],
            "urgent": [hit.reason for hit in concepts if hit.tier == "urgent"],
            "possible": [hit.reason for hit in concepts if hit.tier != "urgent"],
            "filtered": filtered,
            "sections": [
                {
                    "section": match.section_id,
                    "score": match.score,
                    "evidence": list(match.evidence),
                }
                for match in sections
            ],
            # the learned layer adds its contributions here (service.py)
            "model": None,
        }

    def _read(
        self, subject: str, text: str
    ) -> tuple[Doc, Callable[[], DocContext], Callable[[], list[Measurement]]]:
        body = f"{subject}\n{text}"
        doc = Doc(body, self.normaliser.tokens(body), body_start=len(subject) + 1)
        # the context and the numbers are worked out only when something asks for them
        context = cache(lambda: self.context.read(doc))
        measurements = cache(lambda: self.measures.find(doc.tokens))
        return doc, context, measurements


def _set_aside(trace: list[SignTrace]) -> frozenset[str]:
    kept = {"counts", REQUIREMENT_MISSING}
    return frozenset(item.concept_id for item in trace if item.decision not in kept)


def _article_cues(knowledge: Knowledge) -> list[str]:
    cues: list[str] = []
    for section in knowledge.sections():
        cues += [cue for cue, _ in section.cues]
        for measure in section.measures:
            cues += [cue for cue in (measure.near, measure.unless) if cue]
    return cues


def _article_words(knowledge: Knowledge) -> set[str]:
    """The words of the articles' cues."""
    words: set[str] = set()
    for cue in _article_cues(knowledge):
        words |= cue_words(parse_cue(cue))
    return words


def _vocabulary(knowledge: Knowledge, rulebook: Rulebook) -> set[str]:
    """Every word the rules use: the words the engine knows, and targets of correction."""
    cues = _article_cues(knowledge)
    for item in rulebook.lexicon.classes.values():
        cues += item.words
    for rule in rulebook.context.rules:
        cues += rule.triggers
    filters = rulebook.filters
    for kind in (filters.advertising, filters.administrative, filters.thanks, filters.symptoms):
        cues += kind.cues
    words: set[str] = set()
    for cue in cues:
        words |= cue_words(parse_cue(cue))
    return words | set(rulebook.measures.units) | set(rulebook.measures.labs)


def _check_class_names(knowledge: Knowledge, rulebook: Rulebook) -> None:
    known = set(rulebook.lexicon.classes)
    concept_ids = {concept.id for concept in rulebook.redflags.concepts}
    for article in knowledge.articles:
        for section in article.sections:
            for concept in section.concepts:
                if concept not in concept_ids:
                    raise KnowledgeFileError(
                        f"article {article.id}: section {section.id}: concepts: unknown"
                        f" red-flag concept {concept!r} (see data/redflags.toml)"
                    )
            for cue, _ in section.cues:
                unknown = cue_classes(parse_cue(cue)) - known
                if unknown:
                    raise KnowledgeFileError(
                        f"article {article.id}: section {section.id}: cues: unknown lexicon"
                        f" class @{sorted(unknown)[0]} (see data/lexicon.toml)"
                    )
