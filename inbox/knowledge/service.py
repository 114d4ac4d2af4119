"""The one entry point of the knowledge package: triage a message."""

from __future__ import annotations

from dataclasses import dataclass

from inbox.knowledge.loader import Knowledge
from inbox.knowledge.matcher import SectionMatcher, knowledge_lexicon
from inbox.knowledge.measures import MEASURES
from inbox.knowledge.patterns import Doc
from inbox.knowledge.text import Normaliser
from inbox.knowledge.triage import UrgencyAssessor, urgency_lexicon

_ENGINE_KEY = "triage-engine"


@dataclass(frozen=True)
class SectionMatch:
    section_id: str
    score: float  # sum of the weights of the cues found: 1.0 is one strong cue
    evidence: tuple[str, ...]  # words and phrases of the message that led to the section


@dataclass(frozen=True)
class Triage:
    sections: tuple[SectionMatch, ...]
    urgent: bool
    urgency_reasons: tuple[str, ...]


class _Engine:
    """Everything compiled from one Knowledge: normaliser, section matcher, urgency rules."""

    def __init__(self, knowledge: Knowledge) -> None:
        lexicon = knowledge_lexicon(knowledge) | urgency_lexicon() | set(MEASURES)
        self.normaliser = Normaliser(lexicon)
        self.matcher = SectionMatcher(knowledge, self.normaliser)
        self.urgency = UrgencyAssessor(self.normaliser)


def prepare(*, knowledge: Knowledge) -> None:
    """Compile the matcher for this knowledge now rather than on the first message."""
    _engine(knowledge)


def triage_message(
    knowledge: Knowledge, *, subject: str, text: str, page: str | None = None
) -> Triage:
    """Up to three ranked sections with evidence, and whether the message is urgent (and why)."""
    engine = _engine(knowledge)
    body = f"{subject}\n{text}"
    doc = Doc(body, engine.normaliser.tokens(body), body_start=len(subject) + 1)
    sections = tuple(
        SectionMatch(found.section_id, found.score, found.evidence)
        for found in engine.matcher.match(doc, page=page)
    )
    reasons = engine.urgency.assess(doc)
    return Triage(sections=sections, urgent=bool(reasons), urgency_reasons=reasons)


def assess_urgency(knowledge: Knowledge, *, subject: str, text: str) -> tuple[str, ...]:
    """Only the urgency part of the triage (the reasons; empty when not urgent): cheap enough
    to run while the patient waits for the thank-you page."""
    engine = _engine(knowledge)
    body = f"{subject}\n{text}"
    doc = Doc(body, engine.normaliser.tokens(body), body_start=len(subject) + 1)
    return engine.urgency.assess(doc)


def _engine(knowledge: Knowledge) -> _Engine:
    engine = knowledge.compiled.get(_ENGINE_KEY)
    if not isinstance(engine, _Engine):
        engine = _Engine(knowledge)
        knowledge.compiled[_ENGINE_KEY] = engine
    return engine
