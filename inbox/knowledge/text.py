"""Turning a message into tokens: lower case, contractions, number words, misspellings, stems.

The words it needs (contractions, number words) come from data/text.toml. A word is corrected
towards the rules' vocabulary only when it is rare in everyday text (wordfreq's Zipf frequency),
so that adding vocabulary can never rewrite a common word.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from typing import NamedTuple

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA
from wordfreq import zipf_frequency

from inbox.knowledge.rulebook import TextRules

_TOKEN = re.compile(r"\d+(?:\.\d+|,\d{1,2}(?!\d))?|[^\W\d_]+(?:['’][^\W\d_]+)*|[.!?;\n]|[,:/]")
_SENTENCE_END = frozenset(".!?;\n")
_PAUSE = frozenset(",:")
MAX_CACHE = 50_000


class Token(NamedTuple):  # a tuple: made ~20 times per message, while the patient waits
    norm: str  # lower case, contractions split, misspelling corrected
    stem: str
    start: int  # character offsets of the original word in the message
    end: int
    sentence: int
    pause: bool  # a comma or colon comes right before this token
    value: float | None  # the number, for numeric tokens


class Normaliser:
    """Tokenises text; corrects rare words close to the lexicon; caches stems and corrections."""

    def __init__(
        self, rules: TextRules, lexicon: set[str], *, always_targets: AbstractSet[str] = frozenset()
    ) -> None:
        self._rules = rules
        self._contractions = {key: tuple(value) for key, value in rules.contractions.items()}
        self._not_bases = frozenset(rules.negated_verbs.bases)
        self._suffixes = tuple(rules.negated_verbs.suffixes)
        self._numbers = dict(rules.numbers)
        self._stemmer = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}
        self._corrections: dict[str, str] = {}
        self._zipf: dict[str, float] = {}
        self._raw: dict[str, tuple[tuple[str, str, float | None], ...]] = {}
        self.lexicon = frozenset(word for word in lexicon if word.isalpha())
        self._lexicon_stems = frozenset(self.stem(word) for word in self.lexicon)
        # correction targets: the articles' words, and the rules' words that are in use in
        # English (so that a rare word is never "corrected" into another language's word)
        spelling = rules.spelling
        buckets: dict[tuple[str, int], list[str]] = {}
        for word in sorted(self.lexicon):
            if len(word) >= spelling.min_length and (
                word in always_targets
                or zipf_frequency(word, spelling.language) >= spelling.min_target_zipf
            ):
                buckets.setdefault((word[0], len(word)), []).append(word)
        self._buckets = buckets
        self.zipf("the")  # loads the frequency tables now, not on the first message

    def stem(self, word: str) -> str:
        """The Snowball stem of a lower-case word (numbers are their own stem)."""
        found = self._stems.get(word)
        if found is None:
            found = word if not word.isalpha() else self._stemmer.stemWord(word)
            if len(self._stems) > MAX_CACHE:
                self._stems.clear()
            self._stems[word] = found
        return found

    def zipf(self, word: str) -> float:
        """How common the word is in everyday text (Zipf scale: 3 is once per million words)."""
        found = self._zipf.get(word)
        if found is None:
            found = zipf_frequency(word, self._rules.spelling.language)
            if len(self._zipf) > MAX_CACHE:
                self._zipf.clear()
            self._zipf[word] = found
        return found

    def words(self, text: str) -> list[str]:
        """The normalised words of a cue phrase (no spelling correction)."""
        out: list[str] = []
        for raw in text.lower().split():
            exact = raw.startswith("=")
            for word in self._expand(raw.lstrip("=")):
                out.append("=" + word if exact else word)
        return out

    def tokens(self, text: str, *, correct: bool = True) -> list[Token]:
        """The tokens of a message, with sentence numbers and pauses (commas)."""
        # the hottest loop of the first look at a message: _words' cache is read inline, and
        # tokens are made with tuple.__new__, skipping the named tuple's Python-level __new__
        tokens: list[Token] = []
        append = tokens.append
        make = tuple.__new__
        known = self._raw if correct else {}
        sentence = 0
        counted = -1  # the sentence that already has a token
        pause = False
        for found in _TOKEN.finditer(text):
            raw = found.group().lower()  # curly apostrophes: _expand straightens them
            if raw in _SENTENCE_END:
                if counted == sentence:
                    sentence += 1
                pause = False
                continue
            if raw in _PAUSE:
                pause = True
                continue
            start, end = found.span()
            for norm, stem, value in known.get(raw) or self._words(raw, correct):
                append(make(Token, (norm, stem, start, end, sentence, pause, value)))
                pause = False
            counted = sentence
        return tokens

    def _words(self, raw: str, correct: bool) -> tuple[tuple[str, str, float | None], ...]:
        key = raw if correct else "=" + raw
        found = self._raw.get(key)
        if found is None:
            words = []
            for word in self._expand(raw):
                if correct and word.isalpha() and len(word) >= self._rules.spelling.min_length:
                    word = self.correct(word)
                value = _number(word)
                norm = word if value is None else _format(value)
                words.append((norm, self.stem(norm), value))
            found = tuple(words)
            if len(self._raw) > MAX_CACHE:
                self._raw.clear()
            self._raw[key] = found
        return found

    def correct(self, word: str) -> str:
        """The lexicon word a misspelt word most likely meant, or the word itself."""
        found = self._corrections.get(word)
        if found is not None:
            return found
        found = word
        if (
            word not in self.lexicon
            and self.stem(word) not in self._lexicon_stems
            and self.zipf(word) < self._rules.spelling.keep_at_zipf
        ):
            limit = 1 if len(word) <= 6 else 2
            choices = [
                choice
                for size in range(len(word) - limit, len(word) + limit + 1)
                for choice in self._buckets.get((word[0], size), ())
            ]
            best = process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=limit)
            # a typo is rarer than the word it stands for: a word at least as common as the
            # target is a word of its own, often of another language ("lita" is not "lito")
            if (
                best is not None
                and _plausible_typo(word, best[0], best[1])
                and self.zipf(best[0]) > self.zipf(word)
            ):
                found = best[0]
        if len(self._corrections) > MAX_CACHE:
            self._corrections.clear()
        self._corrections[word] = found
        return found

    def _expand(self, word: str) -> tuple[str, ...]:
        word = word.replace("’", "'")
        if word in self._contractions:
            return self._contractions[word]
        verbs = self._rules.negated_verbs
        if word.endswith(verbs.ending):
            return (word[: -len(verbs.ending)] or verbs.particle, verbs.particle)
        if (
            word.endswith(verbs.loose_ending)
            and word[: -len(verbs.loose_ending)] in self._not_bases
        ):
            return (word[: -len(verbs.loose_ending)], verbs.particle)
        for suffix in self._suffixes:
            if word.endswith(suffix):
                return (word[: -len(suffix)],)
        if word in self._numbers:
            return (_format(self._numbers[word]),)
        return (word,)


def _plausible_typo(word: str, target: str, distance: float) -> bool:
    """Typos keep the first two letters or only swap letters; real words often do not.

    Two edits are accepted only when they rearrange the same letters ("dialisys" ->
    "dialysis"), so that "visiting" is not taken for "vomiting", nor "plain" for "pain".
    """
    same_letters = sorted(word) == sorted(target)
    if distance > 1 and not same_letters:
        return False
    return same_letters or word[:2] == target[:2]


def _number(word: str) -> float | None:
    if not word[:1].isdigit():
        return None
    try:
        return float(word.replace(",", "."))
    except ValueError:
        return None


def _format(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)
