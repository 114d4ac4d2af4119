"""What the learned layer reads of a message: word 1-2-grams and in-word character 2-5-grams.

The same two functions feed scikit-learn at training time (as the vectorisers' analysers) and the
run-time scorer, so the features can never differ between the two. No English word list here:
the only knowledge is how text is cut up.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

_APOSTROPHES = re.compile(r"['’]")
CHAR_SIZES = (2, 3, 4, 5)
_BMP = 0x10000  # the scripts patients write in; marks beyond it are of historic scripts


def words(text: str) -> list[str]:
    """The message's tokens, lower case, apostrophes dropped ("can't" is "cant")."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [_APOSTROPHES.sub("", token) for token in _token().findall(folded)]


def word_grams(tokens: list[str]) -> list[str]:
    """Every token and every pair of neighbouring tokens."""
    grams = list(tokens)
    grams += [f"{first} {second}" for first, second in zip(tokens, tokens[1:], strict=False)]
    return grams


def char_grams(tokens: list[str]) -> list[str]:
    """Character 2- to 5-grams inside each token padded with a space on both sides, so that
    misspellings and compounds share most of their grams with the usual spelling."""
    grams: list[str] = []
    for token in tokens:
        padded = f" {token} "
        length = len(padded)
        for size in CHAR_SIZES:
            if size > length:
                break
            grams += [padded[start : start + size] for start in range(length - size + 1)]
    return grams


def message_text(subject: str, text: str) -> str:
    """The text the model reads: the subject, then the body."""
    return f"{subject}\n{text}"


def surface_forms(text: str) -> dict[str, str]:
    """Each token mapped to how the message first wrote it (for quoting the patient)."""
    forms: dict[str, str] = {}
    for written in _token().findall(unicodedata.normalize("NFKC", text)):
        forms.setdefault(_APOSTROPHES.sub("", written.casefold()), written)
    return forms


@cache
def _token() -> re.Pattern[str]:
    """A number with its decimal part ("4.5", "6,8") is one token; so is a word with its
    apostrophes and its combining marks: the vowel signs of Devanagari, Bengali and others
    are marks, which a plain ``\\w`` would cut the word at ("धन्यवाद", not "धन", "यव")."""
    marks = _ranges(
        code for code in range(0x300, _BMP) if unicodedata.category(chr(code))[0] == "M"
    )
    word = rf"[^\W_]+(?:[{marks}]+[^\W_]*)*"
    return re.compile(rf"\d+(?:[.,]\d+)?|{word}(?:['’]{word})*")


def _ranges(codes: Iterable[int]) -> str:
    """Code points as a regular-expression class body of ranges."""
    spans: list[list[int]] = []
    for code in codes:
        if spans and code == spans[-1][1] + 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return "".join(
        chr(first) if first == last else f"{chr(first)}-{chr(last)}" for first, last in spans
    )
