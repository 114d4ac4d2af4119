"""Numbers with a meaning: kilograms, litres, lab values and blood pressure found in a message.

The units, lab names, conversions and the words that imply a unit ("took 4.5 off") come from
data/measures.toml.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inbox.knowledge.rulebook import Implied, MeasureRules
from inbox.knowledge.text import Normaliser, Token


@dataclass(frozen=True, slots=True)
class Measurement:
    measure: str
    value: float  # in the unit of measures.toml (kg relative to a reference body, see there)
    first: int  # token span that shows the measurement (label and number)
    last: int


@dataclass(frozen=True, slots=True)
class _CompiledImplied:
    rule: Implied
    # the phrases that may come before the number, by their last word: (rank in the data, words)
    before_by_last: dict[str, tuple[tuple[int, tuple[str, ...]], ...]]
    after: frozenset[str]


class MeasureReader:
    """Finds measurements in tokens; compiled once from measures.toml."""

    def __init__(self, rules: MeasureRules, normaliser: Normaliser) -> None:
        self._rules = rules
        self._units = {unit: (measure, factor) for unit, (measure, factor) in rules.units.items()}
        self._labs = dict(rules.labs)
        self._not_a_value = frozenset(rules.not_a_value)
        self._one_words = frozenset(rules.one_words)
        self._separators = frozenset(rules.pressure_pair.separators)
        self._implied = tuple(
            _CompiledImplied(
                item,
                _by_last_word([tuple(normaliser.words(phrase)) for phrase in item.before]),
                frozenset(item.after),
            )
            for item in rules.implied
        )
        weight = rules.body_weight
        self._weight_near = (
            tuple(tuple(normaliser.words(phrase)) for phrase in weight.near) if weight else ()
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Every measure a section or red flag may name."""
        return tuple(self._rules.measures)

    def lab_words(self, measure: str) -> tuple[str, ...]:
        """The words that name a lab value in a message ("k", "potassium")."""
        return tuple(word for word, named in self._labs.items() if named == measure)

    def vocabulary(self) -> set[str]:
        """Every word of the tables (targets of spelling correction)."""
        words = set(self._units) | set(self._labs) | set(self._rules.measures)
        return {word for word in words if len(word) > 2}

    def find(self, tokens: Sequence[Token]) -> list[Measurement]:
        """Every measurement in the message, in order of appearance."""
        found: list[Measurement] = []
        used: set[int] = set()
        for index, token in enumerate(tokens):
            if index + 1 >= len(tokens):
                break
            following = tokens[index + 1].norm
            if token.value is None and len(following) > 2 and following in self._units:
                if token.norm in self._one_words:  # "a kilo", "a litre"
                    measure, factor = self._units[following]
                    found.append(Measurement(measure, factor, index, index + 1))
            elif token.value is not None:
                unit = self._units.get(following)
                if unit is not None:
                    found.append(Measurement(unit[0], token.value * unit[1], index, index + 1))
                    used.add(index)
                elif self._is_pressure_pair(tokens, index):
                    pair = self._rules.pressure_pair
                    found.append(Measurement(pair.measure, token.value, index, index + 2))
                    used.add(index)
        for index, token in enumerate(tokens):
            lab = self._labs.get(token.norm)
            if lab is None or (
                len(token.norm) <= 2
                and not _number_follows(tokens, index, self._rules.short_label_reach)
            ):
                continue
            number = self._lab_value(tokens, index, used)
            if number is not None:
                used.add(number)
                value = self._convert(lab, tokens[number].value or 0.0)
                found.append(Measurement(lab, value, index, number))
        for index, token in enumerate(tokens):
            if token.value is None or index in used:
                continue
            implied = self._implied_measure(tokens, index)
            if implied is not None:
                used.add(index)
                found.append(implied)
        found.sort(key=lambda item: item.first)
        return self._relative_to_body(tokens, found)

    def _lab_value(self, tokens: Sequence[Token], index: int, used: set[int]) -> int | None:
        sentence = tokens[index].sentence
        for ahead in range(index + 1, min(len(tokens), index + 1 + self._rules.lookahead)):
            token = tokens[ahead]
            if token.sentence != sentence or token.norm in self._labs:
                return None
            if token.value is not None:
                following = tokens[ahead + 1].norm if ahead + 1 < len(tokens) else ""
                if ahead in used or following in self._not_a_value or following in self._units:
                    return None
                return ahead
        return None

    def _convert(self, measure: str, value: float) -> float:
        for rule in self._rules.conversions:
            if rule.measure != measure:
                continue
            if (rule.below is not None and value < rule.below) or (
                rule.above is not None and value > rule.above
            ):
                return (value + rule.offset) * rule.factor
        return value

    def _implied_measure(self, tokens: Sequence[Token], index: int) -> Measurement | None:
        value = tokens[index].value or 0.0
        following = tokens[index + 1].norm if index + 1 < len(tokens) else ""
        if following in self._not_a_value or following in self._units:
            return None
        for item in self._implied:
            rule = item.rule
            if not rule.min <= value <= rule.max:
                continue
            sentence = tokens[index].sentence
            ahead = tokens[index + 1 : index + 1 + max(rule.reach, 1)]
            if any(t.norm in item.after and t.sentence == sentence for t in ahead):
                return Measurement(rule.measure, value, index, index + 1)
            found = self._phrase_before(tokens, index, item)
            if found is not None:
                return Measurement(rule.measure, value, found, index)
        return None

    @staticmethod
    def _phrase_before(tokens: Sequence[Token], index: int, item: _CompiledImplied) -> int | None:
        """Where the first of `item`'s phrases (in the data's order) that ends within its reach
        before `index` starts, the nearest ending first; None when none does."""
        sentence = tokens[index].sentence
        best: tuple[int, int] | None = None  # (rank of the phrase, its first token)
        for gap in range(item.rule.reach + 1):
            end = index - 1 - gap
            if end < 0:
                break
            for rank, phrase in item.before_by_last.get(tokens[end].norm, ()):
                if best is not None and rank >= best[0]:
                    break  # ranked in order: no better phrase ends here
                start = end - len(phrase) + 1
                if (
                    start >= 0
                    and tokens[start].sentence == sentence
                    and all(
                        tokens[start + offset].norm == word for offset, word in enumerate(phrase)
                    )
                ):
                    best = (rank, start)
        return best[1] if best is not None else None

    def _relative_to_body(
        self, tokens: Sequence[Token], found: list[Measurement]
    ) -> list[Measurement]:
        """Scale weight gains to a reference body when the message gives the body weight."""
        weight = self._rules.body_weight
        if weight is None:
            return found
        body = next(
            (
                item
                for item in found
                if item.measure == weight.measure
                and weight.min_kg <= item.value <= weight.max_kg
                and self._near_weight_words(tokens, item.first)
            ),
            None,
        )
        if body is None:
            return found
        scale = weight.reference_kg / body.value
        return [
            item
            if item is body or item.measure != weight.measure or item.value > weight.max_gain_kg
            else Measurement(item.measure, item.value * scale, item.first, item.last)
            for item in found
        ]

    def _is_pressure_pair(self, tokens: Sequence[Token], index: int) -> bool:
        """True for "120/80" and "90 over 50"."""
        pair = self._rules.pressure_pair
        if index + 2 >= len(tokens) or tokens[index + 1].norm not in self._separators:
            return False
        high, low = tokens[index].value, tokens[index + 2].value
        return (
            high is not None
            and low is not None
            and pair.high_min <= high <= pair.high_max
            and pair.low_min <= low <= pair.low_max
        )

    def _near_weight_words(self, tokens: Sequence[Token], first: int) -> bool:
        for phrase in self._weight_near:
            for gap in range(3):
                end = first - 1 - gap
                start = end - len(phrase) + 1
                if start >= 0 and all(
                    tokens[start + offset].norm == word for offset, word in enumerate(phrase)
                ):
                    return True
        return False


def _by_last_word(
    phrases: Sequence[tuple[str, ...]],
) -> dict[str, tuple[tuple[int, tuple[str, ...]], ...]]:
    """Each non-empty phrase under its last word, with its rank in `phrases`, in rank order."""
    index: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    for rank, phrase in enumerate(phrases):
        if phrase:
            index.setdefault(phrase[-1], []).append((rank, phrase))
    return {word: tuple(entries) for word, entries in index.items()}


def _number_follows(tokens: Sequence[Token], index: int, distance: int) -> bool:
    ahead = tokens[index + 1 : index + 1 + distance]
    return any(token.value is not None for token in ahead)
