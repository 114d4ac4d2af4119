"""Articles and their sections, loaded and validated from one TOML file per article."""

from __future__ import annotations

import json
import re
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inbox.knowledge.cues import CueSyntaxError, parse_cue
from inbox.knowledge.rulebook import KnowledgeFileError, measure_names

__all__ = [
    "Article",
    "Example",
    "Knowledge",
    "KnowledgeFileError",
    "MeasureCue",
    "Section",
    "load_knowledge",
]

WEIGHTS = {"strong": 1.0, "medium": 0.6, "weak": 0.4}
DEFAULT_WINDOW = 7

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
_ARTICLE_KEYS = {"id", "title", "path", "sections"}
_SECTION_KEYS = {
    "id",
    "title",
    "anchor",
    "summary",
    "window",
    "cues",
    "measures",
    "unless",
    "concepts",
    "pairs",
}
_MEASURE_KEYS = {"measure", "min", "max", "near", "unless", "weight"}


@dataclass(frozen=True)
class MeasureCue:
    """A number in the message (a lab value, kilograms, litres) that points to a section."""

    measure: str
    minimum: float | None
    maximum: float | None
    near: str | None  # a cue that must be close to the number
    unless: str | None  # a cue that, close to the number, cancels it
    weight: float


@dataclass(frozen=True)
class Section:
    id: str
    article_id: str
    title: str
    anchor: str
    url: str
    summary: str
    cues: tuple[tuple[str, float], ...] = ()
    measures: tuple[MeasureCue, ...] = ()
    window: int = DEFAULT_WINDOW
    # phrases that, overlapping a cue's match, cancel it ("sudden worst headache" is not the
    # headache of an efficient session)
    unless: tuple[str, ...] = ()
    # red-flag concepts (data/redflags.toml) that, found now, are a strong cue for the section
    concepts: tuple[str, ...] = ()
    # two cues that, both found anywhere in the message (any sentences), make a strong cue
    pairs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Example:
    """A labelled message kept beside an article (``<article>.examples.jsonl``)."""

    id: str
    subject: str
    text: str
    sections: frozenset[str]
    urgent: bool


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    path: str
    url: str
    sections: tuple[Section, ...]
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True)
class Knowledge:
    articles: tuple[Article, ...]
    # What the matcher compiles from these articles, built on first use (see service.py).
    compiled: dict[str, Any] = field(
        default_factory=dict, init=False, compare=False, repr=False, hash=False
    )
    # Held while `compiled` is filled, so that threads starting together load it once.
    loading: threading.Lock = field(
        default_factory=threading.Lock, init=False, compare=False, repr=False, hash=False
    )

    def section(self, section_id: str) -> Section | None:
        """The section with this id, or None."""
        for section in self.sections():
            if section.id == section_id:
                return section
        return None

    def sections(self) -> tuple[Section, ...]:
        """Every section of every article, in file order."""
        return tuple(section for article in self.articles for section in article.sections)


def load_knowledge(directory: Path, *, site_base_url: str) -> Knowledge:
    """Read and validate every ``*.toml`` article in ``directory``."""
    files = sorted(Path(directory).glob("*.toml"))
    if not files:
        raise KnowledgeFileError(f"{directory}: no article files (*.toml) found")
    base = site_base_url.rstrip("/")
    articles = tuple(_load_article(path, base) for path in files)
    seen: dict[str, Path] = {}
    for path, article in zip(files, articles, strict=True):
        for section in article.sections:
            if section.id in seen:
                raise KnowledgeFileError(
                    f"{path}: sections.id: {section.id!r} is already used in {seen[section.id]}"
                )
            seen[section.id] = path
    return Knowledge(articles=articles)


def _load_article(path: Path, base: str) -> Article:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise KnowledgeFileError(f"{path}: cannot be read as TOML: {error}") from error
    _no_unknown_keys(path, "", data, _ARTICLE_KEYS)
    article_id = _ident(path, "id", data.get("id"))
    title = _text(path, "title", data.get("title"))
    article_path = data.get("path")
    if not isinstance(article_path, str) or not _PATH.match(article_path):
        raise KnowledgeFileError(f"{path}: path: must be a URL path starting with '/'")
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise KnowledgeFileError(f"{path}: sections: at least one [[sections]] table is needed")
    examples = _load_examples(path.parent / f"{path.stem}.examples.jsonl")
    with_examples = {section_id for example in examples for section_id in example.sections}
    sections: list[Section] = []
    for index, raw in enumerate(raw_sections):
        where = f"sections[{index}]"
        if not isinstance(raw, dict):
            raise KnowledgeFileError(f"{path}: {where}: must be a table")
        section = _load_section(path, where, raw, article_id, base + article_path)
        if not section.cues and not section.measures and section.id not in with_examples:
            raise KnowledgeFileError(
                f"{path}: {where}.cues: a section needs at least one cue (or examples)"
            )
        sections.append(section)
    anchors = [section.anchor for section in sections]
    for index, anchor in enumerate(anchors):
        if anchor in anchors[:index]:
            raise KnowledgeFileError(f"{path}: sections[{index}].anchor: {anchor!r} repeats")
    return Article(
        id=article_id,
        title=title,
        path=article_path,
        url=base + article_path,
        sections=tuple(sections),
        examples=examples,
    )


def _load_examples(path: Path) -> tuple[Example, ...]:
    """The labelled examples beside an article, if it has any."""
    if not path.exists():
        return ()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise KnowledgeFileError(f"{path}: cannot be read: {error}") from error
    examples: list[Example] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            examples.append(
                Example(
                    id=str(row["id"]),
                    subject=str(row.get("subject") or ""),
                    text=str(row["message"]),
                    sections=frozenset(str(item) for item in row.get("sections") or ()),
                    urgent=bool(row.get("urgent", False)),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
            raise KnowledgeFileError(f"{path}: line {number}: not an example ({error})") from error
    return tuple(examples)


def _load_section(
    path: Path, where: str, raw: dict[str, Any], article_id: str, page_url: str
) -> Section:
    _no_unknown_keys(path, where + ".", raw, _SECTION_KEYS)
    section_id = _ident(path, f"{where}.id", raw.get("id"))
    anchor = _ident(path, f"{where}.anchor", raw.get("anchor", section_id))
    window = raw.get("window", DEFAULT_WINDOW)
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 30:
        raise KnowledgeFileError(f"{path}: {where}.window: must be a whole number from 1 to 30")
    cues = _load_cues(path, f"{where}.cues", raw.get("cues", {}))
    measures = tuple(
        _load_measure(path, f"{where}.measures[{index}]", item)
        for index, item in enumerate(_list(path, f"{where}.measures", raw.get("measures", [])))
    )
    unless = _list(path, f"{where}.unless", raw.get("unless", []))
    for index, cue in enumerate(unless):
        _cue(path, f"{where}.unless[{index}]", cue)
    pairs = _list(path, f"{where}.pairs", raw.get("pairs", []))
    for index, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise KnowledgeFileError(f"{path}: {where}.pairs[{index}]: must be a list of two cues")
        for number, cue in enumerate(pair):
            _cue(path, f"{where}.pairs[{index}][{number}]", cue)
    concepts = _list(path, f"{where}.concepts", raw.get("concepts", []))
    for index, concept in enumerate(concepts):
        _ident(path, f"{where}.concepts[{index}]", concept)
    return Section(
        id=section_id,
        article_id=article_id,
        title=_text(path, f"{where}.title", raw.get("title")),
        anchor=anchor,
        url=f"{page_url}#{anchor}",
        summary=_text(path, f"{where}.summary", raw.get("summary")),
        cues=cues,
        measures=measures,
        window=window,
        unless=tuple(unless),
        concepts=tuple(concepts),
        pairs=tuple((first, second) for first, second in pairs),
    )


def _load_cues(path: Path, where: str, raw: object) -> tuple[tuple[str, float], ...]:
    if not isinstance(raw, dict):
        raise KnowledgeFileError(f"{path}: {where}: must be a table of strong/medium/weak lists")
    _no_unknown_keys(path, where + ".", raw, set(WEIGHTS))
    cues: list[tuple[str, float]] = []
    for tier, weight in WEIGHTS.items():
        for index, cue in enumerate(_list(path, f"{where}.{tier}", raw.get(tier, []))):
            _cue(path, f"{where}.{tier}[{index}]", cue)
            cues.append((cue, weight))
    return tuple(cues)


def _load_measure(path: Path, where: str, raw: object) -> MeasureCue:
    if not isinstance(raw, dict):
        raise KnowledgeFileError(f"{path}: {where}: must be a table")
    _no_unknown_keys(path, where + ".", raw, _MEASURE_KEYS)
    measure = raw.get("measure")
    known = measure_names()
    if measure not in known:
        raise KnowledgeFileError(f"{path}: {where}.measure: must be one of {', '.join(known)}")
    bounds: list[float | None] = []
    for key in ("min", "max"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise KnowledgeFileError(f"{path}: {where}.{key}: must be a number")
        bounds.append(None if value is None else float(value))
    near, unless = raw.get("near"), raw.get("unless")
    for key, value in (("near", near), ("unless", unless)):
        if value is not None:
            _cue(path, f"{where}.{key}", value)
    weight = raw.get("weight", "strong")
    if weight not in WEIGHTS:
        raise KnowledgeFileError(f"{path}: {where}.weight: must be one of {', '.join(WEIGHTS)}")
    return MeasureCue(
        measure=measure,
        minimum=bounds[0],
        maximum=bounds[1],
        near=near,
        unless=unless,
        weight=WEIGHTS[weight],
    )


def _cue(path: Path, where: str, value: object) -> None:
    try:
        parse_cue(value)  # type: ignore[arg-type]
    except CueSyntaxError as error:
        raise KnowledgeFileError(f"{path}: {where}: {error}") from error


def _list(path: Path, where: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise KnowledgeFileError(f"{path}: {where}: must be a list")
    return value


def _ident(path: Path, where: str, value: object) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise KnowledgeFileError(f"{path}: {where}: must be lower-case words joined by '-'")
    return value


def _text(path: Path, where: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeFileError(f"{path}: {where}: must be a non-empty string")
    return " ".join(value.split())


def _no_unknown_keys(path: Path, prefix: str, data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            raise KnowledgeFileError(f"{path}: {prefix}{key}: unknown field (expected {expected})")
