"""What the rule layer of triage finds in one message (see engine.py for who makes it)."""

from __future__ import annotations

from dataclasses import dataclass

URGENT = "urgent"
POSSIBLE = "possible"


@dataclass(frozen=True)
class SectionMatch:
    section_id: str
    # the rules alone: the sum of the weights of the cues found (1.0 is one strong cue); with the
    # learned model (service.combine): the combined probability that the section answers (0-1)
    score: float
    evidence: tuple[str, ...]  # words and phrases of the message that led to the section
    model_words: tuple[str, ...] = ()  # of those, the ones the learned model weighed most


@dataclass(frozen=True)
class ConceptHit:
    """One red-flag concept found in the message, with the words that showed it."""

    concept_id: str
    label: str  # what staff read: "stroke sign"
    tier: str  # URGENT or POSSIBLE
    quote: str  # the patient's words

    @property
    def reason(self) -> str:
        """The line shown to staff: the concept and the quoted words."""
        return f"{self.label}: “{self.quote}”"


@dataclass(frozen=True)
class UrgencyResult:
    concepts: tuple[ConceptHit, ...] = ()
    language: str = "en"
    needs_reader: bool = False  # mostly in a language the rules cannot read
    # red-flag concepts mentioned but set aside by the context (negated, past, feared)
    set_aside: frozenset[str] = frozenset()

    @property
    def urgent(self) -> bool:
        """A red flag of the urgent tier fired."""
        return any(hit.tier == URGENT for hit in self.concepts)

    @property
    def possible(self) -> bool:
        """Only weak red flags fired: a possible emergency, to be checked now."""
        return bool(self.concepts) and not self.urgent

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons shown to staff, urgent ones first."""
        ordered = sorted(self.concepts, key=lambda hit: hit.tier != URGENT)
        return tuple(hit.reason for hit in ordered)


@dataclass(frozen=True)
class RuleResult(UrgencyResult):
    sections: tuple[SectionMatch, ...] = ()
    filtered: str | None = None  # why no section is suggested: "advertising", "administrative"…
    # sections whose cues the message has only as negated or ruled out ("my dry weight is
    # correct"): the learned layer needs more to suggest them
    ruled_out: frozenset[str] = frozenset()
