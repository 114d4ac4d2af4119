"""The section matcher: scores every section by the cues, numbers and vocabulary of a message.

Cues and numbers come from the article files; a cue may name a class of the concept lexicon
("@breathless"), so that sections and red flags share their words. What a cue or number means
in its sentence (negated, ruled out, resolved, past) is decided by the context rules; the
filters for advertising, administrative mail and thanks are data/filters.toml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inbox.knowledge.context import DocContext
from inbox.knowledge.loader import Knowledge, MeasureCue
from inbox.knowledge.measures import Measurement
from inbox.knowledge.patterns import ClassKeys, Doc, Match, Pattern, PatternIndex, compile_cues
from inbox.knowledge.results import ConceptHit, SectionMatch
from inbox.knowledge.rulebook import Filter, Filters
from inbox.knowledge.text import Normaliser
from inbox.knowledge.vocabulary import SectionVocabulary

THRESHOLD = 0.999  # a strong cue, or a medium and a weak one, or several weak ones
MAX_SECTIONS = 3
PAGE_BONUS = 0.2  # breaks ties in favour of the article the form was posted under
CONCEPT_WEIGHT = 1.0  # a red flag the section names counts as a strong cue
STRONG = 1.0  # a pair of cues found in the same message
ADVERTISING, ADMINISTRATIVE, THANKS = "advertising", "administrative", "thanks"  # filters
CUES, MEASURES, PLAIN = "cues", "measures", "filters"  # kinds of finding (context.toml)


@dataclass(frozen=True, slots=True)
class _CompiledMeasure:
    cue: MeasureCue
    near: Pattern | None
    unless: Pattern | None


@dataclass(frozen=True, slots=True)
class _CompiledSection:
    id: str
    article_path: str
    cues: tuple[tuple[Pattern, float], ...]
    measures: tuple[_CompiledMeasure, ...]
    window: int
    unless: tuple[Pattern, ...] = ()
    concepts: frozenset[str] = frozenset()
    pairs: tuple[tuple[Pattern, Pattern], ...] = ()


@dataclass(frozen=True, slots=True)
class _CompiledFilter:
    min_hits: int
    patterns: tuple[Pattern, ...]


class SectionMatcher:
    """Compiled cues and vocabulary of every section; built once per Knowledge."""

    def __init__(
        self,
        knowledge: Knowledge,
        normaliser: Normaliser,
        classes: ClassKeys,
        filters: Filters,
        vocabulary: SectionVocabulary,
    ) -> None:
        def pattern(cue: str | None, window: int) -> Pattern | None:
            return None if cue is None else Pattern(cue, normaliser, window=window, classes=classes)

        self._sections = tuple(
            _CompiledSection(
                id=section.id,
                article_path=article.path,
                cues=tuple(
                    (Pattern(cue, normaliser, window=section.window, classes=classes), weight)
                    for cue, weight in section.cues
                ),
                measures=tuple(
                    _CompiledMeasure(
                        measure,
                        pattern(measure.near, section.window),
                        pattern(measure.unless, section.window),
                    )
                    for measure in section.measures
                ),
                window=section.window,
                unless=compile_cues(
                    section.unless, normaliser, window=section.window, classes=classes
                ),
                concepts=frozenset(section.concepts),
                pairs=tuple(
                    (
                        Pattern(first, normaliser, window=section.window, classes=classes),
                        Pattern(second, normaliser, window=section.window, classes=classes),
                    )
                    for first, second in section.pairs
                ),
            )
            for article in knowledge.articles
            for section in article.sections
        )

        def compiled(item: Filter) -> _CompiledFilter:
            cues = compile_cues(item.cues, normaliser, window=3, classes=classes)
            return _CompiledFilter(item.min_hits, cues)

        self._advertising = compiled(filters.advertising)
        self._administrative = compiled(filters.administrative)
        self._thanks = compiled(filters.thanks)
        self._symptoms = compiled(filters.symptoms)
        self._vocabulary = vocabulary
        everything: list[Pattern] = []
        for item in (self._advertising, self._administrative, self._thanks, self._symptoms):
            everything += item.patterns
        for compiled_section in self._sections:
            everything += [pattern for pattern, _ in compiled_section.cues]
            everything += compiled_section.unless
            everything += [pattern for pair in compiled_section.pairs for pattern in pair]
        self._index = PatternIndex(everything)

    def filtered(self, doc: Doc, context: Callable[[], DocContext]) -> str | None:
        """Why the message gets no section ("advertising", "administrative", "thanks")."""
        possible = self._index.candidates(doc)
        if self._hits(self._advertising, doc, None, possible) >= self._advertising.min_hits:
            return ADVERTISING
        if self._hits(self._symptoms, doc, context, possible) >= self._symptoms.min_hits:
            return None
        administrative = self._administrative
        if self._hits(administrative, doc, context, possible) >= administrative.min_hits:
            return ADMINISTRATIVE
        asks = "?" in doc.text[doc.body_start :]
        if not asks and self._hits(self._thanks, doc, context, possible) >= self._thanks.min_hits:
            return THANKS
        return None

    def match(
        self,
        doc: Doc,
        context: Callable[[], DocContext],
        measurements: Callable[[], list[Measurement]],
        *,
        concepts: tuple[ConceptHit, ...] = (),
        page: str | None = None,
        ruled_out: set[str] | None = None,
    ) -> list[SectionMatch]:
        """Up to three sections, best first, each with the words that led to it; ``ruled_out``
        collects the sections whose cues the message has, but only negated or ruled out."""
        vocabulary = self._vocabulary.scores(doc, context)
        scored: list[tuple[float, int, SectionMatch]] = []
        for order, section in enumerate(self._sections):
            total, evidence, set_aside = self._score(doc, section, context, measurements)
            if ruled_out is not None and set_aside and not total:
                ruled_out.add(section.id)
            for hit in concepts:
                if hit.concept_id in section.concepts:
                    total += CONCEPT_WEIGHT
                    _add(evidence, hit.quote)
            extra, words = vocabulary.get(section.id, (0.0, ()))
            if extra:
                total += extra
                for word in words:
                    _add(evidence, word)
            if total < THRESHOLD:
                continue
            bonus = PAGE_BONUS if page and section.article_path in page else 0.0
            result = SectionMatch(section.id, round(total, 2), tuple(evidence))
            scored.append((total + bonus, -order, result))
        scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [item[2] for item in scored[:MAX_SECTIONS]]

    @staticmethod
    def _first_counting(
        doc: Doc, pattern: Pattern, context: Callable[[], DocContext]
    ) -> Match | None:
        return next(
            (match for match in pattern.find(doc) if context().decide(match, CUES).counts), None
        )

    @staticmethod
    def _hits(
        item: _CompiledFilter,
        doc: Doc,
        context: Callable[[], DocContext] | None,
        possible: set[Pattern],
    ) -> int:
        return sum(
            1
            for pattern in item.patterns
            if pattern in possible
            and any(
                context is None or context().decide(match, PLAIN).counts
                for match in pattern.find(doc)
            )
        )

    def _score(
        self,
        doc: Doc,
        section: _CompiledSection,
        context: Callable[[], DocContext],
        measurements: Callable[[], list[Measurement]],
    ) -> tuple[float, list[str], bool]:
        total = 0.0
        evidence: list[str] = []
        set_aside = False  # a cue was found but negated or ruled out
        possible = self._index.candidates(doc)
        cancels = [
            found
            for pattern in section.unless
            if pattern in possible
            for found in pattern.find(doc)
        ]
        counted: set[int] = set()  # words already counted: a cue adding no new word adds nothing
        for pattern, weight in section.cues:
            if pattern not in possible:
                continue
            for match in pattern.find(doc):
                words = {p for first, last in match.spans for p in range(first, last + 1)}
                if words <= counted or any(_overlap(match, other) for other in cancels):
                    continue
                decision = context().decide(match, CUES)
                if not decision.counts:
                    set_aside = True  # only negation and ruling out block cues (context.toml)
                    continue
                if not _too_small(doc, match, section, measurements()):
                    total += weight
                    counted |= words
                    _add(evidence, doc.quote(match))
                    break
        for pair in section.pairs:
            if not all(pattern in possible for pattern in pair):
                continue
            found = [self._first_counting(doc, pattern, context) for pattern in pair]
            hits = [hit for hit in found if hit is not None]
            if len(hits) == len(found):
                total += STRONG
                for hit in hits:
                    _add(evidence, doc.quote(hit))
        if section.measures:
            for measure in section.measures:
                measured = _measure_match(doc, measure, measurements(), section.window, context)
                if measured is not None:
                    total += measure.cue.weight
                    _add(evidence, doc.quote(measured))
        return total, evidence, set_aside


def _overlap(one: Match, other: Match) -> bool:
    return one.first <= other.last and other.first <= one.last


def _too_small(
    doc: Doc, match: Match, section: _CompiledSection, measurements: list[Measurement]
) -> bool:
    """True when a number next to the cue is below every range the section cares about.

    "I only gain about 1 kg between sessions" speaks against fluid removal, not for it.
    """
    sentence = doc.tokens[match.first].sentence
    for found in measurements:
        gap = max(0, found.first - match.last, match.first - found.last)
        if doc.tokens[found.first].sentence != sentence or gap > section.window:
            continue
        minimums = [
            measure.cue.minimum
            for measure in section.measures
            if measure.cue.measure == found.measure and measure.cue.minimum is not None
        ]
        if minimums and found.value < min(minimums):
            return True
    return False


def _measure_match(
    doc: Doc,
    measure: _CompiledMeasure,
    measurements: list[Measurement],
    window: int,
    context: Callable[[], DocContext],
) -> Match | None:
    cue = measure.cue
    candidates = [
        found
        for found in measurements
        if found.measure == cue.measure
        and (cue.minimum is None or found.value >= cue.minimum)
        and (cue.maximum is None or found.value <= cue.maximum)
    ]
    if not candidates:
        return None
    contexts = _current(doc, measure.near, context)
    cancels = _current(doc, measure.unless, context)
    for found in candidates:
        span = (found.first, found.last)
        match = Match(found.first, found.last, (span,))
        if any(_close(doc, found, other, window) for other in cancels):
            continue
        if not context().decide(match, MEASURES).counts:
            continue
        if measure.near is None:
            return match
        for near in contexts:
            if _close(doc, found, near, window):
                first, last = min(found.first, near.first), max(found.last, near.last)
                return Match(first, last, (span, (near.first, near.last)))
    return None


def _close(doc: Doc, found: Measurement, other: Match, window: int) -> bool:
    gap = max(0, other.first - found.last, found.first - other.last)
    return doc.tokens[other.first].sentence == doc.tokens[found.first].sentence and gap <= window


def _current(doc: Doc, pattern: Pattern | None, context: Callable[[], DocContext]) -> list[Match]:
    if pattern is None:
        return []
    return [match for match in pattern.find(doc) if context().decide(match, PLAIN).counts]


def _add(evidence: list[str], quote: str) -> None:
    if quote and not any(quote.lower() in seen.lower() for seen in evidence):
        evidence[:] = [seen for seen in evidence if seen.lower() not in quote.lower()]
        evidence.append(quote)
