"""Section vocabulary: what a section's title, summary and examples say, as weighted stems.

An article editor writes a title, a summary and a handful of example messages; this makes those
words count as evidence, so that a new section matches paraphrases before anyone writes cues.
Words are stemmed and expanded to the concept lexicon's classes (a message's "breathless" meets
a summary's "short of breath" through their class). A word weighs more the rarer it is in
everyday text (wordfreq) and the fewer sections use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from inbox.knowledge.context import DocContext
from inbox.knowledge.loader import Knowledge
from inbox.knowledge.patterns import Doc, Keys, Match
from inbox.knowledge.text import Normaliser

COMMON_ZIPF = 5.2  # words at least this common carry no meaning of their own ("the", "have")
RARE_ZIPF = 6.5  # specificity is (RARE_ZIPF - zipf) / RARE_ZIPF
TITLE, SUMMARY, EXAMPLE = 1.0, 0.5, 1.0  # how much each source counts
MIN_FEATURES = 2  # distinct features a message must share with a section
THRESHOLD = 1.6  # summed weight at which the vocabulary speaks for a section
WITH_CUES = 0.0  # what it adds to a section that has hand-written cues (measured: nothing)
WITHOUT_CUES = 1.0  # what it adds to one that has none (enough on its own)
KIND = "cues"


class SectionVocabulary:
    """The weighted vocabulary of every section; built once per Knowledge."""

    def __init__(
        self, knowledge: Knowledge, normaliser: Normaliser, classes: Mapping[str, Sequence[Keys]]
    ) -> None:
        self._normaliser = normaliser
        # single-word phrases of the lexicon: a stem opens its classes
        self._classes_of: dict[str, set[str]] = {}
        for name, phrases in classes.items():
            for keys in phrases:
                if len(keys) == 1:
                    self._classes_of.setdefault(keys[0].lstrip("="), set()).add("@" + name)
        sources: dict[str, dict[str, float]] = {}
        self._has_cues: dict[str, bool] = {}
        for article in knowledge.articles:
            for section in article.sections:
                self._has_cues[section.id] = bool(section.cues or section.measures)
                counts = sources.setdefault(section.id, {})
                self._add(counts, section.title, TITLE)
                self._add(counts, section.summary, SUMMARY)
            for example in article.examples:
                for section_id in example.sections:
                    if section_id in sources:
                        self._add(sources[section_id], f"{example.subject} {example.text}", EXAMPLE)
        total = len(sources)
        frequency: dict[str, int] = {}
        for counts in sources.values():
            for feature in counts:
                frequency[feature] = frequency.get(feature, 0) + 1
        self._weights: dict[str, dict[str, float]] = {}
        for section_id, counts in sources.items():
            for feature, weight in counts.items():
                idf = math.log((total + 1) / frequency[feature])
                if idf > 0:
                    self._weights.setdefault(feature, {})[section_id] = weight * idf

    def _features(self, tokens: Sequence[tuple[str, str]]) -> list[tuple[int, str]]:
        """(position, feature) pairs: content stems and the lexicon classes they open."""
        found: list[tuple[int, str]] = []
        for position, (norm, stem) in enumerate(tokens):
            if not norm.isalpha() or len(norm) < 3:
                continue
            zipf = self._normaliser.zipf(norm)
            if zipf >= COMMON_ZIPF:
                continue
            found.append((position, stem))
            for name in self._classes_of.get(stem, ()):
                found.append((position, name))
        return found

    def _add(self, counts: dict[str, float], text: str, weight: float) -> None:
        tokens = self._normaliser.tokens(text, correct=False)
        for _, feature in self._features([(token.norm, token.stem) for token in tokens]):
            word = feature.lstrip("@")
            specificity = (RARE_ZIPF - self._normaliser.zipf(word)) / RARE_ZIPF
            value = weight * (0.5 if feature.startswith("@") else max(specificity, 0.1))
            counts[feature] = max(counts.get(feature, 0.0), value)

    def scores(
        self, doc: Doc, context: Callable[[], DocContext]
    ) -> dict[str, tuple[float, tuple[str, ...]]]:
        """For each section the vocabulary speaks for: what it adds, and the words."""
        weights = self._weights
        hits: dict[str, dict[str, tuple[float, int]]] = {}
        for position, feature in self._features([(t.norm, t.stem) for t in doc.tokens]):
            for section_id, weight in weights.get(feature, {}).items():
                best = hits.setdefault(section_id, {})
                if feature not in best or best[feature][0] < weight:
                    best[feature] = (weight, position)
        result: dict[str, tuple[float, tuple[str, ...]]] = {}
        for section_id, features in hits.items():
            if len(features) < MIN_FEATURES or sum(w for w, _ in features.values()) < THRESHOLD:
                continue
            current = {
                feature: (weight, position)
                for feature, (weight, position) in features.items()
                if context().decide(Match(position, position, ((position, position),)), KIND).counts
            }
            total = sum(weight for weight, _ in current.values())
            if len(current) < MIN_FEATURES or total < THRESHOLD:
                continue
            strongest = sorted(current.values(), reverse=True)[:3]
            words = tuple(
                doc.quote(Match(position, position, ((position, position),)))
                for _, position in sorted(strongest, key=lambda item: item[1])
            )
            added = WITH_CUES if self._has_cues.get(section_id, True) else WITHOUT_CUES
            result[section_id] = (added, words)
        return result
