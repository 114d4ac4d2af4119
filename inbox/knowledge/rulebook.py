"""The rules' data files (inbox/knowledge/data/*.toml), validated by pydantic at start-up.

Every word list, context trigger, red-flag concept, filter and unit table lives in those files;
this module only describes their shape. An invalid file raises ``KnowledgeFileError`` naming
the file and the field.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from inbox.knowledge.cues import CueSyntaxError, parse_cue

DATA_DIR = Path(__file__).resolve().parent / "data"
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Direction = Literal["forward", "backward", "bidirectional", "terminate", "pseudo"]
TargetKind = Literal["urgency", "cues", "measures", "filters"]
CancelMode = Literal["any", "nearer", "after"]


class KnowledgeFileError(Exception):
    """An article or rules file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _cues(values: list[str]) -> list[str]:
    for value in values:
        try:
            parse_cue(value)
        except CueSyntaxError as error:
            raise ValueError(str(error)) from error
    return values


# ---------------------------------------------------------------- text.toml
class Spelling(_Strict):
    language: str = "en"
    keep_at_zipf: float = Field(3.0, ge=0, le=8)
    min_target_zipf: float = Field(2.0, ge=0, le=8)
    min_length: int = Field(4, ge=3, le=10)


class NegatedVerbs(_Strict):
    particle: str = Field(min_length=1)
    ending: str = Field(min_length=2)
    loose_ending: str = Field(min_length=1)
    bases: list[str]
    suffixes: list[str]


class TextRules(_Strict):
    contractions: dict[str, list[str]]
    negated_verbs: NegatedVerbs
    numbers: dict[str, float]
    spelling: Spelling


# ---------------------------------------------------------------- context.toml
class Category(_Strict):
    blocks: list[TargetKind] = []
    cancelled_by: dict[Name, CancelMode] = {}
    stop_at: list[Annotated[str, Field(min_length=1, max_length=1)]] = []
    opening_crosses_stops: bool = False  # "Last year, I fainted": a sentence opener reaches on
    # found in the message, it also sets aside a red flag that only the subject line names
    # ("brain bleed" over "she had a bleed in 2022 and recovered"), unless a category that
    # cancels it is found in the message too
    covers_subject: bool = False


class NumberRange(_Strict):
    min: float
    max: float


class ContextRule(_Strict):
    category: Name
    direction: Direction
    triggers: list[str] = Field(min_length=1)
    max_scope: int | None = Field(None, ge=0, le=40)
    window: int = Field(1, ge=1, le=10)
    sentence_start: bool = False
    sentence_end: bool = False
    question: bool = False
    crosses_terminators: bool = False
    # a backward trigger that opens its sentence ("It settled in ten minutes.") may reach this
    # many sentences back
    sentences_back: int = Field(0, ge=0, le=2)
    number: NumberRange | None = None

    @model_validator(mode="after")
    def _valid_triggers(self) -> ContextRule:
        _cues(self.triggers)
        return self


class ContextRules(_Strict):
    categories: dict[Name, Category]
    rules: list[ContextRule]

    @model_validator(mode="after")
    def _known_categories(self) -> ContextRules:
        for index, rule in enumerate(self.rules):
            if rule.category not in self.categories:
                raise ValueError(f"rules[{index}].category: unknown category {rule.category!r}")
        for name, category in self.categories.items():
            for other in category.cancelled_by:
                if other not in self.categories:
                    raise ValueError(f"categories.{name}.cancelled_by: unknown {other!r}")
        return self


# ---------------------------------------------------------------- lexicon.toml, redflags.toml
class WordClass(_Strict):
    words: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _valid_words(self) -> WordClass:
        for word in self.words:
            if "+" in word or "|" in word:
                raise ValueError(f"{word!r}: one phrase per entry (no '+' or '|')")
        _cues(self.words)
        return self


class Lexicon(_Strict):
    classes: dict[Name, WordClass]


class MeasureBound(_Strict):
    measure: Name
    min: float | None = None
    max: float | None = None


Sign = Annotated[list[Name], Field(min_length=1, max_length=4)]


class Concept(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    label: str = Field(min_length=3)
    tier: Literal["urgent", "possible"]
    signs: list[Sign] = []
    measures: list[MeasureBound] = []
    requires: list[Sign] = []
    unless: list[Sign] = []
    ignores: list[Name] = []
    yields_to: list[str] = []  # concepts that, found too, explain this one's words better
    window: int = Field(6, ge=1, le=20)

    @model_validator(mode="after")
    def _fires_on_something(self) -> Concept:
        if not self.signs and not self.measures:
            raise ValueError("a concept needs signs or measures")
        return self


class RedFlags(_Strict):
    concepts: list[Concept]


# ---------------------------------------------------------------- filters.toml
class Filter(_Strict):
    min_hits: int = Field(1, ge=1, le=10)
    cues: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _valid_cues(self) -> Filter:
        _cues(self.cues)
        return self


class Filters(_Strict):
    advertising: Filter
    administrative: Filter
    thanks: Filter
    symptoms: Filter


# ---------------------------------------------------------------- measures.toml
class Conversion(_Strict):
    measure: Name
    below: float | None = None
    above: float | None = None
    factor: float
    offset: float = 0.0


class Implied(_Strict):
    measure: Name
    min: float
    max: float
    before: list[str] = []
    after: list[str] = []
    reach: int = Field(2, ge=0, le=6)


class PressurePair(_Strict):
    measure: Name
    separators: list[str] = Field(min_length=1)
    high_min: float
    high_max: float
    low_min: float
    low_max: float


class BodyWeight(_Strict):
    measure: Name
    reference_kg: float = Field(gt=0)
    min_kg: float
    max_kg: float
    near: list[str]
    max_gain_kg: float


class MeasureRules(_Strict):
    measures: list[Name]
    units: dict[str, tuple[Name, float]]
    labs: dict[str, Name]
    short_label_reach: int = Field(2, ge=1, le=5)
    lookahead: int = Field(5, ge=1, le=10)
    not_a_value: list[str]
    one_words: list[str] = []
    pressure_pair: PressurePair
    conversions: list[Conversion] = []
    implied: list[Implied] = []
    body_weight: BodyWeight | None = None

    @model_validator(mode="after")
    def _known_measures(self) -> MeasureRules:
        known = set(self.measures)
        named = [unit for unit, _ in self.units.values()] + list(self.labs.values())
        named += [item.measure for item in self.conversions]
        named += [item.measure for item in self.implied]
        named.append(self.pressure_pair.measure)
        if self.body_weight is not None:
            named.append(self.body_weight.measure)
        for name in named:
            if name not in known:
                raise ValueError(f"{name!r} is not in measures")
        return self


# ---------------------------------------------------------------- languages.toml
class Languages(_Strict):
    detect: list[str] = Field(min_length=2)
    readable: list[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]]
    known_share: float = Field(ge=0, le=1)
    common_zipf: float = Field(ge=0, le=8)
    reader_share: float = Field(ge=0, le=1)
    min_words: int = Field(3, ge=1)


class Rulebook(_Strict):
    text: TextRules
    context: ContextRules
    lexicon: Lexicon
    redflags: RedFlags
    filters: Filters
    measures: MeasureRules
    languages: Languages

    @model_validator(mode="after")
    def _known_classes(self) -> Rulebook:
        known = set(self.lexicon.classes)
        for index, concept in enumerate(self.redflags.concepts):
            for field in ("signs", "requires", "unless"):
                for sign in getattr(concept, field):
                    for name in sign:
                        if name not in known:
                            raise ValueError(
                                f"redflags.toml: concepts[{index}].{field}: unknown class {name!r}"
                            )
            for bound in concept.measures:
                if bound.measure not in self.measures.measures:
                    raise ValueError(
                        f"redflags.toml: concepts[{index}].measures: unknown {bound.measure!r}"
                    )
            ids = {item.id for item in self.redflags.concepts}
            for name in concept.yields_to:
                if name not in ids:
                    raise ValueError(
                        f"redflags.toml: concepts[{index}].yields_to: unknown concept {name!r}"
                    )
            for name in concept.ignores:
                if name not in self.context.categories:
                    raise ValueError(
                        f"redflags.toml: concepts[{index}].ignores: unknown category {name!r}"
                    )
        return self


_FILES: dict[str, type[_Strict]] = {
    "text": TextRules,
    "context": ContextRules,
    "lexicon": Lexicon,
    "redflags": RedFlags,
    "filters": Filters,
    "measures": MeasureRules,
    "languages": Languages,
}


def load_rulebook(directory: Path = DATA_DIR) -> Rulebook:
    """Read and validate every data file of the rules."""
    parts = {name: _load(Path(directory), name) for name in _FILES}
    try:
        return Rulebook.model_validate(parts)
    except ValidationError as error:
        raise KnowledgeFileError(_describe(Path(directory), error)) from error


def measure_names(directory: Path = DATA_DIR) -> tuple[str, ...]:
    """The measures a section may name (from measures.toml)."""
    rules = _load(Path(directory), "measures")
    assert isinstance(rules, MeasureRules)
    return tuple(rules.measures)


def _load(directory: Path, name: str) -> _Strict:
    path = directory / f"{name}.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise KnowledgeFileError(f"{path}: cannot be read as TOML: {error}") from error
    try:
        return _FILES[name].model_validate(raw)
    except ValidationError as error:
        raise KnowledgeFileError(_describe(path, error)) from error


def _describe(path: Path, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in item["loc"]
        ).lstrip(".")
        lines.append(f"{path}: {where or '(file)'}: {item['msg']}")
    return "\n".join(lines)
