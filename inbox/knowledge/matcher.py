"""The section matcher: scores every section by the cues and numbers found in a message."""

from __future__ import annotations

from dataclasses import dataclass

from inbox.knowledge.cues import cue_words, parse_cue
from inbox.knowledge.loader import Knowledge, MeasureCue
from inbox.knowledge.measures import Measurement, find_measurements
from inbox.knowledge.patterns import Doc, Match, Pattern, compile_cues
from inbox.knowledge.scope import is_negated
from inbox.knowledge.text import Normaliser

THRESHOLD = 0.999  # a strong cue, or a medium and a weak one, or several weak ones
MAX_SECTIONS = 3
PAGE_BONUS = 0.2  # breaks ties in favour of the article the form was posted under
# Marks of advertising and other commercial mail: two of them and no section is suggested.
SOLICITATION_CUES = (
    "seo", "ranking|rankings", "keyword|keywords", "website owner", "affordable",
    "free audit|quote|trial|consultation", "package|packages + month|price|starting",
    "discount|promotion|promo", "marketing", "backlink|backlinks", "traffic",
    "click here", "our services|products|company|agency|team offer", "per month",
    "wholesale|supplier|suppliers|distributor", "investment|crypto|bitcoin|loan|casino",
    "unsubscribe", "=http|=https|=www",
    "we sell|we supply|we offer|we provide|our company|our products|our product",
    "order now|buy now|shop now|free shipping|best price|best prices|factory price|catalogue"
    "|catalog|for your patients",
)  # fmt: skip


# "my dry weight is fine": a cue followed by one of these is ruled out, not suggested.
LINKING_VERBS = frozenset({"is", "are", "was", "were", "seems", "looks", "has", "have"})
RULED_OUT_WORDS = frozenset({"fine", "correct", "right", "ok", "okay", "normal", "perfect"})
NOT_THE_CAUSE = frozenset({"issue", "problem", "cause", "reason"})
RULED_OUT_REACH = 4

# Mail about something else (a bill, an appointment, thanks) that only mentions a topic word:
# no section, unless the patient also describes a symptom.
ADMINISTRATIVE_CUES = (
    "bill|billing|invoice|invoices|insurance|insurer|payment|payments|refund|receipt|charged",
    "reimburse|reimbursement|appointment|appointments|booking|referral|visa|waiting list",
    "vacancy|vacancies|hiring|=cv|resume|leaflet|brochure|parking|opening hours",
)
GRATITUDE_CUES = ("thank|thanks|grateful|gratitude|appreciate|bless",)
SYMPTOM_CUES = (
    "cramp|cramps|cramping|spasm|spasms|pain|ache|aches|headache|dizzy|dizziness|nausea|vomit",
    "numb|tingling|tired|weak|weakness|swelling|swollen|itch|itchy|breath|breathe|faint",
    "confused|lightheaded|woozy|sick|lock up|seize|knot|stiff|charley horse|hurt|hurts|sore",
)


@dataclass(frozen=True, slots=True)
class SectionScore:
    section_id: str
    score: float
    evidence: tuple[str, ...]


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


def knowledge_lexicon(knowledge: Knowledge) -> set[str]:
    """Every word that the article cues use (the targets of spelling correction)."""
    words: set[str] = set()
    for section in knowledge.sections():
        for cue, _ in section.cues:
            words |= cue_words(parse_cue(cue))
        for measure in section.measures:
            words.add(measure.measure)
            for cue in (measure.near, measure.unless):
                if cue:
                    words |= cue_words(parse_cue(cue))
    words |= {"litre", "liter", "litres", "liters", "kilos", "kilograms", "pounds"}
    return words


class SectionMatcher:
    """Compiled vocabulary of every section; built once per Knowledge."""

    def __init__(self, knowledge: Knowledge, normaliser: Normaliser) -> None:
        self._sections = tuple(
            _CompiledSection(
                id=section.id,
                article_path=article.path,
                cues=tuple(
                    (Pattern(cue, normaliser, window=section.window), weight)
                    for cue, weight in section.cues
                ),
                measures=tuple(
                    _CompiledMeasure(
                        measure,
                        _optional(measure.near, normaliser, section.window),
                        _optional(measure.unless, normaliser, section.window),
                    )
                    for measure in section.measures
                ),
                window=section.window,
                unless=compile_cues(section.unless, normaliser, window=section.window),
            )
            for article in knowledge.articles
            for section in article.sections
        )

        self._solicitation = compile_cues(SOLICITATION_CUES, normaliser, window=3)
        self._administrative = compile_cues(ADMINISTRATIVE_CUES, normaliser, window=3)
        self._gratitude = compile_cues(GRATITUDE_CUES, normaliser, window=3)
        self._symptoms = compile_cues(SYMPTOM_CUES, normaliser, window=3)

    def is_solicitation(self, doc: Doc) -> bool:
        """True for advertising and similar commercial mail."""
        return sum(1 for pattern in self._solicitation if pattern.find(doc)) >= 2

    def is_off_topic(self, doc: Doc) -> bool:
        """True for administrative mail or thanks that describe no symptom."""
        if _found(self._symptoms, doc):
            return False
        if _found(self._administrative, doc):
            return True
        asks = "?" in doc.text[doc.body_start :]
        return not asks and _found(self._gratitude, doc)

    def match(self, doc: Doc, *, page: str | None = None) -> list[SectionScore]:
        """Up to three sections, best first, each with the words that led to it."""
        if self.is_solicitation(doc) or self.is_off_topic(doc):
            return []
        measurements = find_measurements(doc.tokens)
        scored: list[tuple[float, int, SectionScore]] = []
        for order, section in enumerate(self._sections):
            total, evidence = self._score(doc, section, measurements)
            if total < THRESHOLD:
                continue
            bonus = PAGE_BONUS if page and section.article_path in page else 0.0
            result = SectionScore(section.id, round(total, 2), tuple(evidence))
            scored.append((total + bonus, -order, result))
        scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [item[2] for item in scored[:MAX_SECTIONS]]

    def _score(
        self, doc: Doc, section: _CompiledSection, measurements: list[Measurement]
    ) -> tuple[float, list[str]]:
        total = 0.0
        evidence: list[str] = []
        cancels = [found for pattern in section.unless for found in pattern.find(doc)]
        for pattern, weight in section.cues:
            for match in pattern.find(doc):
                if (
                    not is_negated(doc, match)
                    and not any(_overlap(match, other) for other in cancels)
                    and not _ruled_out(doc, match)
                    and not _too_small(doc, match, section, measurements)
                ):
                    total += weight
                    _add(evidence, doc.quote(match))
                    break
        for measure in section.measures:
            match = _measure_match(doc, measure, measurements, section.window)
            if match is not None:
                total += measure.cue.weight
                _add(evidence, doc.quote(match))
        return total, evidence


def _found(patterns: tuple[Pattern, ...], doc: Doc) -> bool:
    return any(not is_negated(doc, match) for pattern in patterns for match in pattern.find(doc))


def _overlap(one: Match, other: Match) -> bool:
    return one.first <= other.last and other.first <= one.last


def _ruled_out(doc: Doc, match: Match) -> bool:
    """True for "my dry weight is fine", "the sodium was checked and is normal"."""
    tokens = doc.tokens
    for _, last in match.spans:
        sentence = tokens[last].sentence
        after = [
            token.norm
            for token in tokens[last + 1 : last + 1 + RULED_OUT_REACH]
            if token.sentence == sentence
        ]
        if len(after) < 2 or after[0] not in LINKING_VERBS:
            continue
        if any(word in RULED_OUT_WORDS for word in after[1:]):
            return True
        if after[1] == "not" and any(word in NOT_THE_CAUSE for word in after[2:]):
            return True  # "fluid is not the issue"
    return False


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
    doc: Doc, measure: _CompiledMeasure, measurements: list[Measurement], window: int
) -> Match | None:
    cue = measure.cue
    contexts = _unnegated(doc, measure.near)
    cancels = _unnegated(doc, measure.unless)
    for found in measurements:
        if found.measure != cue.measure:
            continue
        if cue.minimum is not None and found.value < cue.minimum:
            continue
        if cue.maximum is not None and found.value > cue.maximum:
            continue
        span = (found.first, found.last)
        if any(_close(doc, found, other, window) for other in cancels):
            continue
        if measure.near is None:
            return Match(found.first, found.last, (span,))
        for context in contexts:
            if _close(doc, found, context, window):
                first, last = min(found.first, context.first), max(found.last, context.last)
                return Match(first, last, (span, (context.first, context.last)))
    return None


def _close(doc: Doc, found: Measurement, other: Match, window: int) -> bool:
    gap = max(0, other.first - found.last, found.first - other.last)
    return doc.tokens[other.first].sentence == doc.tokens[found.first].sentence and gap <= window


def _unnegated(doc: Doc, pattern: Pattern | None) -> list[Match]:
    if pattern is None:
        return []
    return [match for match in pattern.find(doc) if not is_negated(doc, match)]


def _optional(cue: str | None, normaliser: Normaliser, window: int) -> Pattern | None:
    return None if cue is None else Pattern(cue, normaliser, window=window)


def _add(evidence: list[str], quote: str) -> None:
    if quote and not any(quote.lower() in seen.lower() for seen in evidence):
        evidence[:] = [seen for seen in evidence if seen.lower() not in quote.lower()]
        evidence.append(quote)
