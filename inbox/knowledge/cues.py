"""The cue mini-language used in the article files and the urgency rules.

A cue is one string:

- ``dry weight``                    a phrase; every word is compared after stemming,
                                    so it also matches "dry weights";
- ``=fainted``                      a word starting with ``=`` must appear exactly as
                                    written (no stemming: "fainted" but not "feel faint");
- ``take|pull|remove``              alternatives, separated by ``|``;
- ``sodium|salt + bath|dialysate``  groups joined by ``+`` must all appear near each other
                                    (same sentence, within the section's window of words),
                                    in any order;
- ``@face + @droop``                a word class of the concept lexicon (data/lexicon.toml):
                                    any of its phrases (one ``@class`` per alternative).
"""

from __future__ import annotations

import re

_WORD = re.compile(r"^=?[^\W_]+(?:'[^\W_]+)?$")
_CLASS = re.compile(r"^@[a-z][a-z0-9_]*$")

Phrase = tuple[str, ...]
Group = tuple[Phrase, ...]
Cue = tuple[Group, ...]


class CueSyntaxError(ValueError):
    """A cue string that does not follow the cue mini-language."""


def parse_cue(text: str) -> Cue:
    """Split a cue string into groups of alternative phrases of lower-case words."""
    if not isinstance(text, str) or not text.strip():
        raise CueSyntaxError("a cue must be a non-empty string")
    groups: list[Group] = []
    for raw_group in text.split("+"):
        alternatives: list[Phrase] = []
        for raw_phrase in raw_group.split("|"):
            words = tuple(raw_phrase.lower().split())
            if not words:
                raise CueSyntaxError(f"empty alternative in cue {text!r}")
            if len(words) == 1 and _CLASS.match(words[0]):
                alternatives.append(words)
                continue
            for word in words:
                if not _WORD.match(word):
                    raise CueSyntaxError(f"{word!r} in cue {text!r} is not a plain word")
            alternatives.append(words)
        groups.append(tuple(alternatives))
    return tuple(groups)


def cue_words(cue: Cue) -> set[str]:
    """Every word of a parsed cue, without the exact-match marker (class names left out)."""
    return {
        word.lstrip("=")
        for group in cue
        for phrase in group
        for word in phrase
        if not word.startswith("@")
    }


def cue_classes(cue: Cue) -> set[str]:
    """The lexicon classes a parsed cue refers to (without the '@')."""
    return {phrase[0][1:] for group in cue for phrase in group if phrase[0].startswith("@")}
