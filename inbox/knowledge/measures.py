"""Numbers with a meaning: kilograms, litres, lab values and blood pressure found in a message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inbox.knowledge.text import Token

# Units: kg (pounds converted), litres (ml converted); calcium and creatinine in mg/dL
# (mmol/L and µmol/L converted); potassium and sodium in mmol/L; systolic in mmHg.
MEASURES = (
    "kg", "litres", "calcium", "potassium", "sodium", "magnesium",
    "creatinine", "urea", "bun", "egfr", "systolic",
)  # fmt: skip
_UNITS = {
    **dict.fromkeys(("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms"), ("kg", 1.0)),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), ("kg", 1 / 2.2046)),
    **dict.fromkeys(
        ("l", "lt", "ltr", "ltrs", "litre", "litres", "liter", "liters"), ("litres", 1.0)
    ),
    "ml": ("litres", 0.001),
}
_LABS = {
    "calcium": "calcium", "ca": "calcium", "potassium": "potassium", "k": "potassium",
    "sodium": "sodium", "na": "sodium", "magnesium": "magnesium", "creatinine": "creatinine",
    "creat": "creatinine", "cr": "creatinine", "scr": "creatinine", "urea": "urea",
    "bun": "bun", "egfr": "egfr", "gfr": "egfr", "pressure": "systolic", "bp": "systolic",
}  # fmt: skip
_NOT_A_VALUE = frozenset(
    {
        "day", "days", "week", "weeks", "month", "months", "year", "years", "time", "times",
        "hour", "hours", "minute", "minutes", "min", "mins", "am", "pm", "tablet",
        "tablets", "pill", "pills", "session", "sessions"
    }
)  # fmt: skip
LOOKAHEAD = 5


def lab_words(measure: str) -> tuple[str, ...]:
    """The words that name a lab value in a message ("k", "potassium")."""
    return tuple(word for word, named in _LABS.items() if named == measure)


@dataclass(frozen=True, slots=True)
class Measurement:
    measure: str
    value: float  # in the unit listed above
    first: int  # token span that shows the measurement (label and number)
    last: int


def find_measurements(tokens: Sequence[Token]) -> list[Measurement]:
    """Every measurement in the message, in order of appearance."""
    found: list[Measurement] = []
    used: set[int] = set()
    for index, token in enumerate(tokens):
        if token.norm in ("a", "an") and index + 1 < len(tokens):
            word = tokens[index + 1].norm  # "a kilo", "a litre", "a pound"
            unit = _UNITS.get(word) if len(word) > 2 else None
            if unit is not None:
                found.append(Measurement(unit[0], unit[1], index, index + 1))
        elif token.value is not None and index + 1 < len(tokens):
            unit = _UNITS.get(tokens[index + 1].norm)
            if unit is not None:
                found.append(Measurement(unit[0], token.value * unit[1], index, index + 1))
                used.add(index)
            elif _is_pressure_pair(tokens, index):
                found.append(Measurement("systolic", token.value, index, index + 2))
                used.add(index)
    for index, token in enumerate(tokens):
        lab = _LABS.get(token.norm)
        if lab is None or (len(token.norm) <= 2 and not _number_follows(tokens, index, 2)):
            continue
        number = _lab_value(tokens, index, used)
        if number is not None:
            used.add(number)
            value = _in_unit(lab, tokens[number].value or 0.0)
            found.append(Measurement(lab, value, index, number))
    found.sort(key=lambda item: item.first)
    return found


def _lab_value(tokens: Sequence[Token], index: int, used: set[int]) -> int | None:
    sentence = tokens[index].sentence
    for ahead in range(index + 1, min(len(tokens), index + 1 + LOOKAHEAD)):
        token = tokens[ahead]
        if token.sentence != sentence or token.norm in _LABS:
            return None
        if token.value is not None:
            following = tokens[ahead + 1].norm if ahead + 1 < len(tokens) else ""
            if ahead in used or following in _NOT_A_VALUE or following in _UNITS:
                return None
            return ahead
    return None


def _number_follows(tokens: Sequence[Token], index: int, distance: int) -> bool:
    ahead = tokens[index + 1 : index + 1 + distance]
    return any(token.value is not None for token in ahead)


def _is_pressure_pair(tokens: Sequence[Token], index: int) -> bool:
    if index + 2 >= len(tokens) or tokens[index + 1].norm not in ("/", "over"):
        return False
    high, low = tokens[index].value, tokens[index + 2].value
    return high is not None and low is not None and 60 <= high <= 260 and 30 <= low <= 160


def _in_unit(lab: str, value: float) -> float:
    if lab == "calcium" and value < 4:
        return value * 4.008  # mmol/L to mg/dL
    if lab == "creatinine" and value > 25:
        return value / 88.4  # µmol/L to mg/dL
    return value
