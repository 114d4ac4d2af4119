"""Urgency as red-flag concepts (data/redflags.toml) built from the concept lexicon's classes.

A concept fires on a sign (classes found near each other: "mouth" + "droops") or a measurement
("potassium 7.1") that the context leaves current, when its requirements are met and no
exception overlaps it. Recall comes first: a missed emergency costs far more than a false alarm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inbox.knowledge.context import DocContext
from inbox.knowledge.measures import Measurement
from inbox.knowledge.patterns import ClassKeys, Doc, Match, Pattern
from inbox.knowledge.results import URGENT, ConceptHit
from inbox.knowledge.rulebook import Concept
from inbox.knowledge.text import Normaliser

KIND = "urgency"
REQUIREMENT = "filters"  # the kind of finding only a negation takes away (context.toml)
# a sign that is current but lacks its companion symptom: not set aside, merely not enough
REQUIREMENT_MISSING = "requirement missing"


@dataclass(frozen=True, slots=True)
class CompiledConcept:
    concept: Concept
    signs: tuple[Pattern, ...]
    requires: tuple[Pattern, ...]
    unless: tuple[Pattern, ...]


@dataclass(frozen=True, slots=True)
class SignTrace:
    """One sign or measurement of a concept found in a message, and what the context said."""

    concept_id: str
    quote: str
    decision: str  # "counts", a blocking category, "unless", "requirement missing"


class RedFlagFinder:
    """The red-flag concepts, compiled once per Knowledge."""

    def __init__(self, concepts: list[Concept], normaliser: Normaliser, classes: ClassKeys):
        def patterns(signs: list[list[str]], window: int) -> tuple[Pattern, ...]:
            return tuple(
                Pattern(
                    " + ".join("@" + name for name in sign),
                    normaliser,
                    window=window,
                    groups=[classes[name] for name in sign],
                )
                for sign in signs
            )

        self._concepts = tuple(
            CompiledConcept(
                concept,
                patterns(concept.signs, concept.window),
                patterns(concept.requires, concept.window),
                patterns(concept.unless, concept.window),
            )
            for concept in concepts
        )
        # which concepts a word can open: a message is checked only against those
        self._opened_by: dict[str, set[int]] = {}
        for number, compiled in enumerate(self._concepts):
            for sign in compiled.signs:
                for key in sign.opening_keys:
                    self._opened_by.setdefault(key, set()).add(number)
        self._by_measure = tuple(
            number for number, compiled in enumerate(self._concepts) if compiled.concept.measures
        )

    def find(
        self,
        doc: Doc,
        context: Callable[[], DocContext],
        measurements: Callable[[], list[Measurement]],
        trace: list[SignTrace] | None = None,
    ) -> tuple[ConceptHit, ...]:
        """The concepts the message shows now, urgent ones first."""
        numbers: set[int] = set()
        opened_by = self._opened_by
        for key in doc.keys & opened_by.keys():
            numbers |= opened_by[key]
        if any(token.value is not None for token in doc.tokens):
            numbers.update(self._by_measure)
        hits: list[ConceptHit] = []
        for number in sorted(numbers):
            compiled = self._concepts[number]
            quote = self._first_current(doc, compiled, context, measurements, trace)
            if quote is not None:
                concept = compiled.concept
                hits.append(ConceptHit(concept.id, concept.label, concept.tier, quote))
        found = {hit.concept_id for hit in hits}
        yielding = {
            self._concepts[number].concept.id
            for number in numbers
            if found.intersection(self._concepts[number].concept.yields_to)
        }
        return _strongest_first([hit for hit in hits if hit.concept_id not in yielding])

    def _first_current(
        self,
        doc: Doc,
        compiled: CompiledConcept,
        context: Callable[[], DocContext],
        measurements: Callable[[], list[Measurement]],
        trace: list[SignTrace] | None,
    ) -> str | None:
        concept = compiled.concept
        found = [match for sign in compiled.signs for match in sign.find(doc)]
        if any(not doc.in_subject(match) for match in found):
            found = [match for match in found if not doc.in_subject(match)]
        found.sort(key=lambda item: item.first)
        if concept.measures:
            found += [
                Match(item.first, item.last, ((item.first, item.last),))
                for item in measurements()
                if any(
                    bound.measure == item.measure
                    and (bound.min is None or item.value >= bound.min)
                    and (bound.max is None or item.value <= bound.max)
                    for bound in concept.measures
                )
            ]
        if not found:
            return None
        subject_only = all(doc.in_subject(match) for match in found)
        exceptions = [match for pattern in compiled.unless for match in pattern.find(doc)]
        for match in found:
            quote = doc.quote(match)
            if any(_overlaps(match, other) for other in exceptions):
                _note(trace, concept.id, quote, "unless")
                continue
            decision = context().decide(match, KIND, ignores=concept.ignores)
            if not decision.counts:
                _note(trace, concept.id, quote, decision.blocked_by or "")
                continue
            aside = context().subject_set_aside(KIND) if subject_only else None
            if aside is not None and aside not in concept.ignores:
                _note(trace, concept.id, quote, aside)
                continue
            if compiled.requires and not self._required(doc, compiled, context):
                _note(trace, concept.id, quote, REQUIREMENT_MISSING)
                continue
            _note(trace, concept.id, quote, "counts")
            return quote
        return None

    @staticmethod
    def _required(doc: Doc, compiled: CompiledConcept, context: Callable[[], DocContext]) -> bool:
        # a requirement is met unless it is denied ("no swelling"): the sign itself has
        # already passed the context, and its companion symptom may be told as a habit
        return any(
            context().decide(match, REQUIREMENT).counts
            for pattern in compiled.requires
            for match in pattern.find(doc)
        )


def _strongest_first(hits: list[ConceptHit]) -> tuple[ConceptHit, ...]:
    """Urgent hits first; a possible hit that only repeats an urgent one's words is dropped."""
    urgent = [hit for hit in hits if hit.tier == URGENT]
    quotes = {hit.quote for hit in urgent}
    return tuple(urgent + [hit for hit in hits if hit.tier != URGENT and hit.quote not in quotes])


def _note(trace: list[SignTrace] | None, concept_id: str, quote: str, decision: str) -> None:
    if trace is not None:
        trace.append(SignTrace(concept_id, quote, decision))


def _overlaps(one: Match, other: Match) -> bool:
    return one.first <= other.last and other.first <= one.last
