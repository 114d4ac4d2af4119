"""The one entry point of the knowledge package: triage a message."""

from __future__ import annotations

from dataclasses import dataclass

from inbox.knowledge.engine import RuleEngine
from inbox.knowledge.loader import Knowledge
from inbox.knowledge.results import SectionMatch

__all__ = ["SectionMatch", "Triage", "assess_urgency", "prepare", "triage_message"]


@dataclass(frozen=True)
class Triage:
    sections: tuple[SectionMatch, ...]
    urgent: bool  # urgent or a possible emergency: either way staff look at it now
    urgency_reasons: tuple[str, ...]
    possible: bool = False  # only a possible emergency ("check now"), not a sure one
    language: str = "en"
    needs_reader: bool = False  # mostly in a language the rules cannot read


def prepare(*, knowledge: Knowledge) -> None:
    """Compile the engine for this knowledge now rather than on the first message."""
    RuleEngine.of(knowledge)


def triage_message(
    knowledge: Knowledge, *, subject: str, text: str, page: str | None = None
) -> Triage:
    """Up to three ranked sections with evidence, and whether the message is urgent (and why)."""
    result = RuleEngine.of(knowledge).assess(subject=subject, text=text, page=page)
    return Triage(
        sections=result.sections,
        urgent=result.urgent or result.possible,
        urgency_reasons=result.reasons,
        possible=result.possible,
        language=result.language,
        needs_reader=result.needs_reader,
    )


def assess_urgency(knowledge: Knowledge, *, subject: str, text: str) -> tuple[str, ...]:
    """Only the urgency part of the triage (the reasons; empty when not urgent): cheap enough
    to run while the patient waits for the thank-you page."""
    return RuleEngine.of(knowledge).assess_urgency(subject=subject, text=text).reasons
