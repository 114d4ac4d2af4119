"""Compiled cues: finding phrases and nearby word groups in a tokenised message."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inbox.knowledge.cues import parse_cue
from inbox.knowledge.text import Normaliser, Token

Keys = tuple[str, ...]  # the word keys of one phrase: stems, or "=word" for exact words
ClassKeys = Mapping[str, tuple[Keys, ...]]  # lexicon class name -> its phrases' keys

MAX_EVIDENCE_TOKENS = 8


@dataclass(frozen=True, slots=True)
class Match:
    first: int
    last: int
    spans: tuple[tuple[int, int], ...]


class Doc:
    """A message as tokens, with an index from word keys to token positions."""

    def __init__(self, text: str, tokens: list[Token], *, body_start: int = 0) -> None:
        self.text = text
        self.tokens = tokens
        self.body_start = body_start  # where the subject line ends and the message begins
        index: dict[str, list[int]] = {}
        for position, token in enumerate(tokens):
            index.setdefault(token.stem, []).append(position)
            index.setdefault("=" + token.norm, []).append(position)
        self.index = index
        self.keys = frozenset(index)
        self.memo: dict[int, Any] = {}  # what compiled parts worked out once for this message

    def in_subject(self, match: Match) -> bool:
        """True when the match lies in the subject line."""
        return self.tokens[match.first].start < self.body_start

    def quote(self, match: Match) -> str:
        """The words of the message that a match covers."""
        if match.last - match.first <= MAX_EVIDENCE_TOKENS:
            return self._slice(match.first, match.last)
        return " … ".join(self._slice(first, last) for first, last in sorted(match.spans))

    def quote_span(self, first: int, last: int) -> str:
        """The words of the message from one token to another."""
        return self._slice(first, last)

    def _slice(self, first: int, last: int) -> str:
        return " ".join(self.text[self.tokens[first].start : self.tokens[last].end].split())


class Pattern:
    """One cue, compiled against a normaliser, that finds its matches in a Doc."""

    def __init__(
        self,
        cue: str,
        normaliser: Normaliser,
        *,
        window: int,
        classes: ClassKeys | None = None,
        groups: Sequence[tuple[Keys, ...]] | None = None,
    ) -> None:
        self.cue = cue
        self.window = window
        if groups is None:
            groups = tuple(
                tuple(
                    keys
                    for phrase in group
                    for keys in _phrase_keys(phrase, normaliser, classes or {})
                )
                for group in parse_cue(cue)
            )
        self.groups = tuple(tuple(group) for group in groups)
        # The first word of every alternative, per group: a cheap test that rules most cues out.
        self._first_keys = tuple(frozenset(keys[0] for keys in group) for group in self.groups)
        # per group, the alternatives by their first word (a lexicon class has hundreds), each
        # as the checks of its later words: (token field, value), a norm for "=word" keys
        self._by_first: tuple[dict[str, tuple[_Checks, ...]], ...] = tuple(
            {
                first: tuple(
                    _checks(keys)
                    for keys in dict.fromkeys(keys for keys in group if keys[0] == first)
                )
                for first in first_keys
            }
            for group, first_keys in zip(self.groups, self._first_keys, strict=True)
        )

    @property
    def opening_keys(self) -> frozenset[str]:
        """Word keys of which a message must hold at least one for the cue to match."""
        return self._first_keys[0]

    def may_match(self, doc: Doc) -> bool:
        """False when the message lacks a first word of some group: then `find` finds nothing."""
        return not any(first_keys.isdisjoint(doc.keys) for first_keys in self._first_keys)

    def find(self, doc: Doc) -> list[Match]:
        """Every match of the cue in the message, in order."""
        if not self.may_match(doc):
            return []
        spans: list[list[tuple[int, int]]] = []
        memo = doc.memo
        for group, by_first, first_keys in zip(
            self.groups, self._by_first, self._first_keys, strict=True
        ):
            # a lexicon class is one tuple shared by every pattern using it: its spans in
            # this message are worked out once
            entry = memo.get(id(group))
            if entry is None or entry[0] is not group:  # the group is kept: no id reuse
                entry = memo[id(group)] = (group, self._group_spans(doc, by_first, first_keys))
            found = entry[1]
            if not found:
                return []
            spans.append(found)
        if len(spans) == 1:
            return [Match(first, last, ((first, last),)) for first, last in spans[0]]
        matches: list[Match] = []
        for anchor in spans[0]:
            chosen = [anchor]
            for others in spans[1:]:
                near = self._nearest(doc, anchor, others)
                if near is None:
                    break
                chosen.append(near)
            else:
                first = min(span[0] for span in chosen)
                last = max(span[1] for span in chosen)
                matches.append(Match(first, last, tuple(chosen)))
        return matches

    def _nearest(
        self, doc: Doc, anchor: tuple[int, int], others: list[tuple[int, int]]
    ) -> tuple[int, int] | None:
        sentence = doc.tokens[anchor[0]].sentence
        best: tuple[int, int] | None = None
        best_gap = self.window + 1
        for other in others:
            if doc.tokens[other[0]].sentence != sentence:
                continue
            gap = max(0, other[0] - anchor[1], anchor[0] - other[1])
            if gap < best_gap and not _overlap(anchor, other):
                best, best_gap = other, gap
        return best

    @staticmethod
    def _group_spans(
        doc: Doc, group: dict[str, tuple[_Checks, ...]], first_keys: frozenset[str]
    ) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        tokens = doc.tokens
        count = len(tokens)
        index = doc.index
        for first in doc.keys & first_keys:  # a set intersection walks the smaller side
            starts = index[first]
            for checks in group[first]:
                if not checks:  # a one-word phrase
                    spans += [(start, start) for start in starts]
                elif len(checks) == 1:  # a two-word phrase, the common case
                    field, value = checks[0]
                    spans += [
                        (start, start + 1)
                        for start in starts
                        if start + 1 < count and tokens[start + 1][field] == value
                    ]
                else:
                    size = len(checks)
                    for start in starts:
                        end = start + size
                        if end < count and all(
                            tokens[start + offset][field] == value
                            for offset, (field, value) in enumerate(checks, 1)
                        ):
                            spans.append((start, end))
        return sorted(set(spans))


class PatternIndex:
    """Many patterns by their opening words: which of them a message can match at all."""

    def __init__(self, patterns: Iterable[Pattern]) -> None:
        self._by_key: dict[str, list[Pattern]] = {}
        for pattern in patterns:
            for key in pattern.opening_keys:
                self._by_key.setdefault(key, []).append(pattern)

    def candidates(self, doc: Doc) -> set[Pattern]:
        """The patterns whose first group opens with a word of the message (the others'
        ``find`` finds nothing), worked out once per message."""
        entry = doc.memo.get(id(self))
        if entry is None or entry[0] is not self:
            found: set[Pattern] = set()
            by_key = self._by_key
            for key in doc.index:
                patterns = by_key.get(key)
                if patterns:
                    found.update(patterns)
            entry = doc.memo[id(self)] = (self, found)
        return entry[1]


def compile_cues(
    cues: Sequence[str], normaliser: Normaliser, *, window: int, classes: ClassKeys | None = None
) -> tuple[Pattern, ...]:
    """Every cue of a list, compiled with the same window."""
    return tuple(Pattern(cue, normaliser, window=window, classes=classes) for cue in cues)


def class_keys(
    classes: Mapping[str, Sequence[str]], normaliser: Normaliser
) -> dict[str, tuple[Keys, ...]]:
    """The word keys of every phrase of every lexicon class."""
    return {
        name: tuple(
            dict.fromkeys(keys for phrase in phrases if (keys := phrase_keys(phrase, normaliser)))
        )
        for name, phrases in classes.items()
    }


def phrase_keys(phrase: str, normaliser: Normaliser) -> Keys:
    """The word keys of one phrase of plain words."""
    return _keys(tuple(phrase.lower().split()), normaliser)


def _phrase_keys(
    phrase: tuple[str, ...], normaliser: Normaliser, classes: ClassKeys
) -> tuple[Keys, ...]:
    if len(phrase) == 1 and phrase[0].startswith("@"):
        return classes.get(phrase[0][1:], ())
    keys = _keys(phrase, normaliser)
    return (keys,) if keys else ()


def find_all(patterns: tuple[Pattern, ...], doc: Doc) -> list[Match]:
    """Every match of every pattern, pattern by pattern."""
    return [match for pattern in patterns for match in pattern.find(doc)]


def _keys(phrase: tuple[str, ...], normaliser: Normaliser) -> tuple[str, ...]:
    keys: list[str] = []
    for word in normaliser.words(" ".join(phrase)):
        keys.append(word if word.startswith("=") else normaliser.stem(word))
    return tuple(keys)


_Checks = tuple[tuple[int, str], ...]  # per later word of a phrase: (token field, value)
_NORM, _STEM = Token._fields.index("norm"), Token._fields.index("stem")


def _checks(keys: Keys) -> _Checks:
    """How the words after the first of a phrase are recognised: "=word" by the token's norm,
    any other key by its stem."""
    return tuple((_NORM, key[1:]) if key.startswith("=") else (_STEM, key) for key in keys[1:])


def _overlap(one: tuple[int, int], other: tuple[int, int]) -> bool:
    return one[0] <= other[1] and other[0] <= one[1]
