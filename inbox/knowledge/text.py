"""Turning a message into tokens: lower case, contractions, number words, misspellings, stems."""

from __future__ import annotations

import re
from typing import NamedTuple

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

_TOKEN = re.compile(r"\d+(?:\.\d+|,\d{1,2}(?!\d))?|[^\W\d_]+(?:['’][^\W\d_]+)*|[.!?;\n]|/")
_SENTENCE_END = frozenset(".!?;\n")
CLAUSE_WORDS = frozenset({"but", "however", "although", "though", "whereas", "except"})
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip
_CONTRACTIONS = {
    "can't": ("can", "not"), "cannot": ("can", "not"), "cant": ("can", "not"),
    "won't": ("will", "not"), "wont": ("will", "not"), "ain't": ("is", "not"),
    "i'm": ("i", "am"), "im": ("i", "am"), "it's": ("it", "is"), "he's": ("he", "is"),
    "she's": ("she", "is"), "let's": ("let", "us"),
}  # fmt: skip
_NOT_BASES = frozenset(
    {
        "do", "does", "did", "is", "was", "were", "are", "have", "has", "had", "could",
        "would", "should", "must", "need"
    }
)  # fmt: skip
_SUFFIXES = ("'s", "'ve", "'ll", "'d", "'re")
# Common words that are never treated as misspellings of a cue word.
STOPWORDS = frozenset(
    {
        "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
        "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
        "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
        "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it",
        "its", "just", "me", "more", "most", "my", "no", "nor", "not", "now", "of", "off",
        "on", "once", "only", "or", "other", "our", "out", "over", "own", "same", "she",
        "should", "so", "some", "such", "than", "that", "the", "their", "them", "then",
        "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
        "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who",
        "whom", "why", "will", "with", "would", "you", "your", "yours", "thanks", "thank",
        "please", "hello", "dear", "doctor", "sorry", "always", "never", "every", "since",
        "still", "whose"
    }
)  # fmt: skip
# Everyday words one or two letters away from a cue word ("later"/"liter", "state"/"stage",
# "charged"/"changed"), found by running the normaliser over ordinary English prose.
COMMON_WORDS = frozenset(
    {
        "string", "charge", "charged", "charges", "state", "states", "block", "blocked",
        "timer", "world", "header", "cases", "whole", "stated", "facet", "three", "breach",
        "known", "remote", "stating", "tables", "tiled", "theme", "width", "angle",
        "angles", "fails", "curve", "starred", "attach", "strand", "strands", "pairs",
        "flush", "white", "decay", "alike", "starter", "skipper", "parsing", "parsed",
        "paint", "blank", "skill", "bloom", "breadth", "hints", "reset", "marking",
        "filler", "failing", "newer", "thirty", "overt", "recovery", "movie", "weaver",
        "chance", "stars", "tried", "stepping", "shout", "woods", "haven", "stale", "quirk",
        "meant", "maker", "whale", "abort", "worms", "later", "plain", "clamp", "selling",
        "filling", "listing", "least", "alter", "logger", "clause", "smart", "grain",
        "usable", "stage", "lasting", "visiting", "tailed", "tries", "trial", "trials",
        "plant", "plants", "stand", "stands", "start", "starts", "sweet", "steady", "water",
        "waters", "wheel", "cover", "lover", "mover", "lower", "tower", "power", "sight",
        "light", "might", "fight", "night", "right", "tight", "chart", "charts", "stake",
        "steak", "share", "shave", "brain", "brand", "grand", "bread", "break", "bring",
        "bride", "pride", "price", "prize", "spend", "spent", "sheet", "shirt", "short",
        "shore", "store", "storm", "stone", "stove", "drive", "drove", "dress", "press",
        "cross", "crowd", "brown", "frown", "front", "fruit", "trust", "truth", "youth",
        "worth", "north", "south", "mouth", "month"
    }
)  # fmt: skip
MAX_CACHE = 50_000


class Token(NamedTuple):  # a tuple: made ~20 times per message, while the patient waits
    norm: str  # lower case, contractions split, misspelling corrected
    stem: str
    start: int  # character offsets of the original word in the message
    end: int
    sentence: int
    clause: int
    value: float | None  # the number, for numeric tokens


class Normaliser:
    """Tokenises text; corrects words close to the cue lexicon; caches stems and corrections."""

    def __init__(self, lexicon: set[str]) -> None:
        self._stemmer = snowballstemmer.stemmer("english")
        self._stems: dict[str, str] = {}
        self._corrections: dict[str, str] = {}
        self._raw: dict[str, tuple[tuple[str, str, float | None], ...]] = {}
        self._lexicon = frozenset(word for word in lexicon if word.isalpha())
        self._lexicon_stems = frozenset(self.stem(word) for word in self._lexicon)
        buckets: dict[tuple[str, int], list[str]] = {}
        for word in sorted(self._lexicon):
            if len(word) >= 4:
                buckets.setdefault((word[0], len(word)), []).append(word)
        self._buckets = buckets

    def stem(self, word: str) -> str:
        """The Snowball stem of a lower-case word (numbers are their own stem)."""
        found = self._stems.get(word)
        if found is None:
            found = word if not word.isalpha() else self._stemmer.stemWord(word)
            if len(self._stems) > MAX_CACHE:
                self._stems.clear()
            self._stems[word] = found
        return found

    def words(self, text: str) -> list[str]:
        """The normalised words of a cue phrase (no spelling correction)."""
        out: list[str] = []
        for raw in text.lower().split():
            exact = raw.startswith("=")
            for word in _expand(raw.lstrip("=")):
                out.append("=" + word if exact else word)
        return out

    def tokens(self, text: str, *, correct: bool = True) -> list[Token]:
        """The tokens of a message, with sentence and clause numbers."""
        # the hottest loop of the first look at a message: _words' cache is read inline, and
        # tokens are made with tuple.__new__, skipping the named tuple's Python-level __new__
        tokens: list[Token] = []
        append = tokens.append
        make = tuple.__new__
        known = self._raw if correct else {}
        sentence = clause = 0
        counted = -1  # the sentence that already has a token
        for found in _TOKEN.finditer(text):
            raw = found.group().lower()  # curly apostrophes: _expand straightens them
            if raw in _SENTENCE_END:
                if counted == sentence:
                    sentence += 1
                    clause += 1
                continue
            if raw in CLAUSE_WORDS:
                clause += 1
            start, end = found.span()
            for norm, stem, value in known.get(raw) or self._words(raw, correct):
                append(make(Token, (norm, stem, start, end, sentence, clause, value)))
            counted = sentence
        return tokens

    def _words(self, raw: str, correct: bool) -> tuple[tuple[str, str, float | None], ...]:
        key = raw if correct else "=" + raw
        found = self._raw.get(key)
        if found is None:
            words = []
            for word in _expand(raw):
                if correct and len(word) >= 5 and word.isalpha():
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
            word not in STOPWORDS
            and word not in COMMON_WORDS
            and word not in self._lexicon
            and self.stem(word) not in self._lexicon_stems
        ):
            limit = 1 if len(word) <= 6 else 2
            choices = [
                choice
                for size in range(len(word) - limit, len(word) + limit + 1)
                for choice in self._buckets.get((word[0], size), ())
            ]
            best = process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=limit)
            if best is not None and _plausible_typo(word, best[0], best[1]):
                found = best[0]
        if len(self._corrections) > MAX_CACHE:
            self._corrections.clear()
        self._corrections[word] = found
        return found


def _plausible_typo(word: str, target: str, distance: float) -> bool:
    """Typos keep the first two letters or only swap letters; real words often do not.

    Two edits are accepted only when they rearrange the same letters ("dialisys" ->
    "dialysis"), so that "visiting" is not taken for "vomiting", nor "plain" for "pain".
    """
    same_letters = sorted(word) == sorted(target)
    if distance > 1 and not same_letters:
        return False
    return same_letters or word[:2] == target[:2]


def _expand(word: str) -> tuple[str, ...]:
    word = word.replace("’", "'")
    if word in _CONTRACTIONS:
        return _CONTRACTIONS[word]
    if word.endswith("n't"):
        return (word[:-3] or "not", "not")
    if word.endswith("nt") and word[:-2] in _NOT_BASES:
        return (word[:-2], "not")
    for suffix in _SUFFIXES:
        if word.endswith(suffix):
            return (word[: -len(suffix)],)
    if word in NUMBER_WORDS:
        return (str(NUMBER_WORDS[word]),)
    return (word,)


def _number(word: str) -> float | None:
    if not word[:1].isdigit():
        return None
    try:
        return float(word.replace(",", "."))
    except ValueError:
        return None


def _format(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)
