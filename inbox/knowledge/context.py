"""One ConText/NegEx-style algorithm: is a found phrase negated, past, hypothetical, ruled out…?

The rules are data (data/context.toml). Each trigger has a category, a direction (forward,
backward, bidirectional, terminate, pseudo) and a scope; a phrase is modified by every trigger
whose scope reaches it, within its sentence, without a terminating trigger (or, for some
categories, a comma) in between. Longer triggers win over the shorter ones they overlap, and
pseudo-triggers ("not sure") only mask others. A trigger never modifies a phrase it is part of.
Some backward triggers that open their sentence reach the sentence before ("It settled."), and a
red flag only the subject line names is judged by the message's own triggers.
A category blocks some kinds of finding (urgency, section cues, section numbers) unless another
category that cancels it ("now" against "last year") also modifies the phrase.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from inbox.knowledge.patterns import ClassKeys, Doc, Match, Pattern
from inbox.knowledge.rulebook import Category, ContextRule, ContextRules
from inbox.knowledge.text import Normaliser

PSEUDO = "pseudo"
TERMINATE = "terminate"


@dataclass(frozen=True, slots=True)
class Trigger:
    """A context trigger found in a message."""

    category: str
    direction: str
    first: int
    last: int
    rule: int  # index of its rule in context.toml


@dataclass(frozen=True, slots=True)
class Decision:
    """How the context treats one found phrase."""

    blocked_by: str | None  # the category that takes the phrase away, or None: it counts
    modifiers: tuple[Trigger, ...] = ()

    @property
    def counts(self) -> bool:
        return self.blocked_by is None


class ContextRulesCompiled:
    """The context rules compiled once per Knowledge."""

    def __init__(
        self, rules: ContextRules, normaliser: Normaliser, classes: ClassKeys | None = None
    ) -> None:
        self.rules = rules.rules
        self.categories: dict[str, Category] = dict(rules.categories)
        self._by_key: dict[str, list[tuple[int, Pattern]]] = {}
        for number, rule in enumerate(rules.rules):
            patterns = [
                Pattern(trigger, normaliser, window=rule.window, classes=classes)
                for trigger in rule.triggers
            ]
            # a rule's one-group triggers ("last year", "no|not") are one pattern whose
            # alternatives they are: a message is searched once per rule, not once per trigger
            single = [pattern for pattern in patterns if len(pattern.groups) == 1]
            if len(single) > 1:
                merged = tuple(dict.fromkeys(keys for item in single for keys in item.groups[0]))
                joined = " | ".join(item.cue for item in single)
                patterns = [pattern for pattern in patterns if len(pattern.groups) > 1]
                patterns.append(Pattern(joined, normaliser, window=rule.window, groups=[merged]))
            for pattern in patterns:
                for key in pattern.opening_keys:
                    self._by_key.setdefault(key, []).append((number, pattern))

    def read(self, doc: Doc) -> DocContext:
        """The triggers of one message, ready to judge phrases."""
        found: list[Trigger] = []
        seen: set[int] = set()
        for key in doc.index:
            for number, pattern in self._by_key.get(key, ()):
                if id(pattern) in seen:
                    continue
                seen.add(id(pattern))
                rule = self.rules[number]
                for match in pattern.find(doc):
                    trigger = self._fits(doc, rule, number, match)
                    if trigger is not None:
                        found.append(trigger)
        return DocContext(self, doc, _resolve_overlaps(found))

    def _fits(self, doc: Doc, rule: ContextRule, number: int, match: Match) -> Trigger | None:
        tokens = doc.tokens
        first, last = match.first, match.last
        sentence = tokens[first].sentence
        if rule.sentence_start and first > 0 and tokens[first - 1].sentence == sentence:
            return None
        end = last
        while end + 1 < len(tokens) and tokens[end + 1].sentence == sentence:
            end += 1
        if rule.number is not None:
            after = last + 1
            value = tokens[after].value if after < len(tokens) else None
            if value is None or not rule.number.min <= value <= rule.number.max:
                return None
            last = after
        if rule.sentence_end and last != end:
            return None
        if rule.question:
            stop = tokens[end + 1].start if end + 1 < len(tokens) else len(doc.text)
            if "?" not in doc.text[tokens[end].end : stop]:
                return None
        return Trigger(rule.category, rule.direction, first, last, number)


@dataclass
class DocContext:
    """The triggers found in one message; judges the phrases found in it."""

    compiled: ContextRulesCompiled
    doc: Doc
    triggers: list[Trigger]
    _terminators: list[Trigger] = field(init=False)

    def __post_init__(self) -> None:
        self._terminators = [item for item in self.triggers if item.direction == TERMINATE]

    def decide(self, match: Match, kind: str, *, ignores: Collection[str] = ()) -> Decision:
        """Whether the phrase counts as a finding of this kind (urgency, cues, measures)."""
        applied = [trigger for trigger in self.triggers if self._reaches(trigger, match)]
        if not applied:
            return Decision(None)
        categories = self.compiled.categories
        for trigger in applied:
            category = categories[trigger.category]
            if kind not in category.blocks or trigger.category in ignores:
                continue
            if not any(
                self._cancels(other, trigger, mode, match)
                for other in applied
                if (mode := category.cancelled_by.get(other.category)) is not None
            ):
                return Decision(trigger.category, tuple(applied))
        return Decision(None, tuple(applied))

    def subject_set_aside(self, kind: str) -> str | None:
        """The category that sets aside, for the whole message, a finding of this kind that
        only the subject line holds: the message tells whether the subject's topic is current."""
        body = [
            trigger
            for trigger in self.triggers
            if self.doc.tokens[trigger.first].start >= self.doc.body_start
        ]
        found = {trigger.category for trigger in body}
        categories = self.compiled.categories
        for name in sorted(found):
            category = categories[name]
            if (
                category.covers_subject
                and kind in category.blocks
                and not found.intersection(category.cancelled_by)
            ):
                return name
        return None

    def _reaches(self, trigger: Trigger, match: Match) -> bool:
        if trigger.direction == TERMINATE:
            return False
        tokens = self.doc.tokens
        rule = self.compiled.rules[trigger.rule]
        behind = tokens[trigger.first].sentence - tokens[match.first].sentence
        if behind and not (
            trigger.direction in ("backward", "bidirectional")
            and 0 < behind <= rule.sentences_back
            and (
                trigger.first == 0
                or tokens[trigger.first - 1].sentence != tokens[trigger.first].sentence
            )
        ):
            return False
        if all(
            any(first <= position <= last for first, last in match.spans)
            for position in range(trigger.first, trigger.last + 1)
        ):
            return False  # the trigger is part of the phrase ("can not lift")
        category = self.compiled.categories[trigger.category]
        stops = category.stop_at
        if (
            stops
            and category.opening_crosses_stops
            and (
                trigger.first == 0
                or tokens[trigger.first - 1].sentence != tokens[trigger.first].sentence
            )
        ):
            stops = []
        forward = trigger.direction in ("forward", "bidirectional")
        backward = trigger.direction in ("backward", "bidirectional")
        for first, last in match.spans:
            if forward and first > trigger.first and last > trigger.last:
                gap = (trigger.last + 1, max(first, trigger.last + 1))
            elif backward and last < trigger.last and first < trigger.first:
                gap = (min(last + 1, trigger.first), trigger.first)
            else:
                continue
            if rule.max_scope is not None and gap[1] - gap[0] > rule.max_scope:
                continue
            if stops and any(tokens[position].pause for position in range(gap[0], gap[1] + 1)):
                continue
            if not rule.crosses_terminators and any(
                gap[0] <= item.first and item.last < gap[1] for item in self._terminators
            ):
                continue
            return True
        return False

    @staticmethod
    def _cancels(other: Trigger, trigger: Trigger, mode: str, match: Match) -> bool:
        if mode == "any":
            return True
        if mode == "after":
            return other.first > trigger.last
        return _distance(other, match) < _distance(trigger, match)


def _resolve_overlaps(found: list[Trigger]) -> list[Trigger]:
    """Longer triggers win over shorter ones they overlap; pseudo-triggers only mask.
    Terminating triggers are kept apart: "and now" ends a scope and still says "now"."""
    kept: list[Trigger] = []
    for terminating in (True, False):
        ordered = sorted(
            (item for item in found if (item.direction == TERMINATE) is terminating),
            key=lambda item: (
                item.first - item.last,
                item.direction != PSEUDO,
                item.rule,
                item.first,
            ),
        )
        chosen: list[Trigger] = []
        for trigger in ordered:
            if not any(
                trigger.first <= other.last
                and other.first <= trigger.last
                and not _twin(trigger, other)
                for other in chosen
            ):
                chosen.append(trigger)
        kept += chosen
    return sorted(
        (trigger for trigger in kept if trigger.direction != PSEUDO), key=lambda t: t.first
    )


def _twin(one: Trigger, other: Trigger) -> bool:
    """The same words as a trigger of the same category from another rule ("one day" looks
    both ways; "it settled" also reaches the sentence before): both are kept."""
    return (
        one.first == other.first
        and one.last == other.last
        and one.category == other.category
        and one.rule != other.rule
        and PSEUDO not in (one.direction, other.direction)
    )


def _distance(trigger: Trigger, match: Match) -> int:
    return min(max(0, first - trigger.last, trigger.first - last) for first, last in match.spans)
