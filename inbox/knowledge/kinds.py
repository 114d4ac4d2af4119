"""What a message is about (a clinical question, an appointment, billing, thanks, other),
suggested from triage's result and the validated data file data/kinds.toml.

Builds on the rules' filters: a message that triage found clinical (a section, a red flag, no
filter) stays clinical; one a filter set aside is told apart by the kinds' cues. The engine
holds no words.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from inbox.knowledge.cues import CueSyntaxError, parse_cue
from inbox.knowledge.engine import RuleEngine
from inbox.knowledge.loader import Knowledge, KnowledgeFileError
from inbox.knowledge.patterns import Doc, Pattern, class_keys
from inbox.knowledge.rulebook import DATA_DIR

CLINICAL = "clinical"
KINDS = ("clinical", "appointment", "billing", "thanks", "other")
Kind = Literal["clinical", "appointment", "billing", "thanks", "other"]
FilterName = Literal["administrative", "thanks", "advertising"]
_KEY = "kind-suggester"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KindRule(_Strict):
    kind: Kind
    filters: list[FilterName] = Field(min_length=1)
    min_hits: int = Field(1, ge=1, le=10)
    cues: list[str] = Field(min_length=1)

    @field_validator("cues")
    @classmethod
    def _valid_cues(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                parse_cue(value)
            except CueSyntaxError as error:
                raise ValueError(str(error)) from error
        return values


class KindRules(_Strict):
    fallback: dict[FilterName, Kind]
    kinds: list[KindRule] = []


def load_kind_rules(directory: Path = DATA_DIR) -> KindRules:
    """Read and validate data/kinds.toml; KnowledgeFileError names the file and the field."""
    path = Path(directory) / "kinds.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return KindRules(**data)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise KnowledgeFileError(f"{path}: {error}") from error
    except ValidationError as error:
        where = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise KnowledgeFileError(f"{path}: {where}") from error


@dataclass(frozen=True)
class _Compiled:
    kind: str
    filters: frozenset[str]
    min_hits: int
    patterns: tuple[Pattern, ...]


class KindSuggester:
    """The kinds' cues compiled with the rule engine's normaliser and lexicon, built once."""

    def __init__(self, engine: RuleEngine, rules: KindRules) -> None:
        self._engine = engine
        classes = class_keys(
            {name: item.words for name, item in engine.rulebook.lexicon.classes.items()},
            engine.normaliser,
        )
        self._fallback = dict(rules.fallback)
        self._rules = tuple(
            _Compiled(
                kind=rule.kind,
                filters=frozenset(rule.filters),
                min_hits=rule.min_hits,
                patterns=tuple(
                    Pattern(cue, engine.normaliser, window=3, classes=classes) for cue in rule.cues
                ),
            )
            for rule in rules.kinds
        )

    @classmethod
    def of(cls, knowledge: Knowledge, *, data_dir: Path = DATA_DIR) -> KindSuggester:
        """The suggester for this Knowledge (built on first use, then kept with it)."""
        found = knowledge.compiled.get(_KEY)
        if not isinstance(found, cls):
            found = cls(RuleEngine.of(knowledge), load_kind_rules(data_dir))
            knowledge.compiled[_KEY] = found
        return found

    def suggest(
        self, *, subject: str, text: str, filtered: str | None, clinical_signs: bool
    ) -> str:
        """The kind of a message that triage set aside with `filtered` (None: not set aside);
        `clinical_signs`: triage found a section or a red flag in it."""
        if clinical_signs or filtered is None:
            return CLINICAL
        body = f"{subject}\n{text}"
        doc = Doc(body, self._engine.normaliser.tokens(body), body_start=len(subject) + 1)
        for rule in self._rules:
            if filtered in rule.filters:
                hits = sum(1 for pattern in rule.patterns if pattern.find(doc))
                if hits >= rule.min_hits:
                    return rule.kind
        return self._fallback.get(filtered, "other")  # type: ignore[call-overload, no-any-return]


def suggest_kind(
    knowledge: Knowledge, *, subject: str, text: str, filtered: str | None, clinical_signs: bool
) -> str:
    """What the message is about: "clinical", "appointment", "billing", "thanks" or "other"."""
    return KindSuggester.of(knowledge).suggest(
        subject=subject, text=text, filtered=filtered, clinical_signs=clinical_signs
    )
