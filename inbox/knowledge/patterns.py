"""Compiled cues: finding phrases and nearby word groups in a tokenised message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
        # per group, the alternatives by their first word (a lexicon class has hundreds)
        self._by_first: tuple[dict[str, tuple[Keys, ...]], ...] = tuple(
            {
                first: tuple(dict.fromkeys(keys for keys in group if keys[0] == first))
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
        spans = [self._group_spans(doc, group) for group in self._by_first]
        if any(not found for found in spans):
            return []
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
    def _group_spans(doc: Doc, group: dict[str, tuple[Keys, ...]]) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        tokens = doc.tokens
        index = doc.index
        firsts = group.keys() & doc.keys if len(group) > len(doc.keys) else group.keys()
        for first in firsts:
            starts = index.get(first)
            if not starts:
                continue
            for keys in group[first]:
                size = len(keys)
                for start in starts:
                    end = start + size - 1
                    if end < len(tokens) and all(
                        _fits(tokens[start + offset], keys[offset]) for offset in range(1, size)
                    ):
                        spans.append((start, end))
        return sorted(set(spans))


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


def _fits(token: Token, key: str) -> bool:
    return token.norm == key[1:] if key.startswith("=") else token.stem == key


def _overlap(one: tuple[int, int], other: tuple[int, int]) -> bool:
    return one[0] <= other[1] and other[0] <= one[1]
