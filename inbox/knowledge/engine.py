"""The rule layer of triage, behind one small interface.

``RuleEngine.of(knowledge).assess(subject=..., text=..., page=...)`` returns a ``RuleResult``
(results.py): ranked sections with evidence and scores, the red-flag concepts found (each with
its tier, urgent or possible, and the patient's words), the language of the message and whether
it needs a human reader. ``assess_urgency`` is the cheap part for the thank-you page. Other
layers (the learned model, combined in service.py) use these results; they do not reach into the
engine's parts.
"""

from __future__ import annotations

from inbox.knowledge.loader import Knowledge
from inbox.knowledge.matcher import SectionMatcher, knowledge_lexicon
from inbox.knowledge.measures import MEASURES
from inbox.knowledge.patterns import Doc
from inbox.knowledge.results import URGENT, ConceptHit, RuleResult, SectionMatch, UrgencyResult
from inbox.knowledge.text import Normaliser
from inbox.knowledge.triage import UrgencyAssessor, urgency_lexicon


class RuleEngine:
    """Everything the rules compile from one Knowledge (and the data files), built once."""

    def __init__(self, knowledge: Knowledge) -> None:
        lexicon = knowledge_lexicon(knowledge) | urgency_lexicon() | set(MEASURES)
        self._normaliser = Normaliser(lexicon)
        self._matcher = SectionMatcher(knowledge, self._normaliser)
        self._urgency = UrgencyAssessor(self._normaliser)

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
        doc = self._doc(subject, text)
        sections = tuple(
            SectionMatch(found.section_id, found.score, found.evidence)
            for found in self._matcher.match(doc, page=page)
        )
        return RuleResult(concepts=self._concepts(doc), sections=sections)

    def assess_urgency(self, *, subject: str, text: str) -> UrgencyResult:
        """Only the red flags (and language): cheap enough for the thank-you page."""
        return UrgencyResult(concepts=self._concepts(self._doc(subject, text)))

    def _doc(self, subject: str, text: str) -> Doc:
        body = f"{subject}\n{text}"
        return Doc(body, self._normaliser.tokens(body), body_start=len(subject) + 1)

    def _concepts(self, doc: Doc) -> tuple[ConceptHit, ...]:
        hits = []
        for reason in self._urgency.assess(doc):
            label, _, quote = reason.partition(": “")
            hits.append(ConceptHit(label, label, URGENT, quote.rstrip("”")))
        return tuple(hits)
