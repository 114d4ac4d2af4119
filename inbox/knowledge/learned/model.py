"""The trained learned layer at run time: TF-IDF features times logistic-regression weights.

Scoring needs no scikit-learn: the vocabulary, the idf weights and the coefficients of every
label are read from one ``.npz`` file, and a message is scored by one sparse dot product per
vectoriser. ``tests/knowledge/test_learned.py`` checks that this gives scikit-learn's own
decision values.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
from wordfreq import zipf_frequency

from inbox.knowledge.learned.features import char_grams, word_grams, words

URGENT = "urgent"  # the label of the urgency model beside the section labels
MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "model" / "triage-model.npz"
GRAM_CACHE = 50_000  # tokens whose character grams are kept
COMMON_ZIPF = 5.4  # a word used more often than this (zipf scale) is not shown as evidence
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # zip entries carry no build time: retrains are bit-equal


class ModelFileError(Exception):
    """A model file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class Contribution:
    phrase: str  # a word or two neighbouring words of the message
    weight: float  # its share of the label's score (log-odds)


@dataclass
class Vocabulary:
    """One vectoriser: feature -> column, and each column's idf weight."""

    index: dict[str, int]
    idf: np.ndarray
    offset: int  # where this vectoriser's columns start in the coefficient matrix

    def __post_init__(self) -> None:
        # column and idf together, as plain floats: one dict look-up per gram when scoring
        idf = self.idf.tolist()
        self._idf = idf
        self._lookup = {gram: (column, idf[column]) for gram, column in self.index.items()}

    def vector(self, counts: Counter[str]) -> tuple[list[int], list[float], list[str]]:
        """Columns, l2-normalised sublinear tf-idf values and names of the grams known."""
        lookup, offset, log = self._lookup, self.offset, math.log
        columns: list[int] = []
        values: list[float] = []
        names: list[str] = []
        for gram, count in counts.items():
            known = lookup.get(gram)
            if known is not None:
                columns.append(known[0] + offset)
                values.append((1.0 + log(count)) * known[1] if count > 1 else known[1])
                names.append(gram)
        norm = math.sqrt(sum(value * value for value in values))
        if norm:
            values = [value / norm for value in values]
        return columns, values, names

    def known_columns(self, grams: list[str]) -> tuple[int, ...]:
        """The columns (offset included) of the grams this vectoriser knows, in their order."""
        lookup, offset = self.index, self.offset
        return tuple(lookup[gram] + offset for gram in grams if gram in lookup)

    def vector_of_columns(self, counts: Counter[int]) -> tuple[list[int], list[float]]:
        """``vector`` for grams already turned into their columns (offset included)."""
        idf, offset, log = self._idf, self.offset, math.log
        columns = list(counts)
        values = [
            (1.0 + log(count)) * idf[column - offset] if count > 1 else idf[column - offset]
            for column, count in counts.items()
        ]
        norm = math.sqrt(sum(value * value for value in values))
        if norm:
            values = [value / norm for value in values]
        return columns, values


@dataclass(frozen=True)
class Reading:
    """One message as the model reads it: its tokens and its non-zero feature columns."""

    tokens: list[str]
    columns: list[int]
    values: list[float]
    word_names: list[str]  # the word grams of the first len(word_names) columns
    char_uses: Counter[int]  # how often each known character gram (by column) occurs


@dataclass
class LearnedModel:
    labels: tuple[str, ...]
    word_vocabulary: Vocabulary
    char_vocabulary: Vocabulary
    coefficients: np.ndarray  # (features, labels)
    intercepts: np.ndarray  # (labels,)
    metadata: dict[str, Any] = field(default_factory=dict)
    # the urgency column alone, as a dict, for the request path's single dot product
    _urgency: dict[int, float] = field(default_factory=dict, init=False, repr=False)
    _urgency_bias: float = field(default=0.0, init=False, repr=False)
    _commonness: dict[str, bool] = field(default_factory=dict, init=False, repr=False)
    # the columns of each token's known character grams: most words recur from message to
    # message, and a token's grams are cut and looked up once
    _grams: dict[str, tuple[int, ...]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        column = self.labels.index(URGENT)
        weights = self.coefficients[:, column].tolist()
        self._urgency = {number: weight for number, weight in enumerate(weights) if weight}
        self._urgency_bias = float(self.intercepts[column])

    @property
    def section_labels(self) -> tuple[str, ...]:
        return tuple(label for label in self.labels if label != URGENT)

    def read(self, text: str) -> Reading:
        """The message's tokens and features."""
        tokens = words(text)
        word_columns, word_values, word_names = self.word_vocabulary.vector(
            Counter(word_grams(tokens))
        )
        uses: Counter[int] = Counter(chain.from_iterable(map(self._char_columns, tokens)))
        char_columns, char_values = self.char_vocabulary.vector_of_columns(uses)
        return Reading(
            tokens, word_columns + char_columns, word_values + char_values, word_names, uses
        )

    def decision(self, text: str | Reading) -> dict[str, float]:
        """The log-odds of every label for this message."""
        reading = self.read(text) if isinstance(text, str) else text
        scores = self.intercepts.copy()
        if reading.columns:
            scores += np.asarray(reading.values) @ self.coefficients[reading.columns]
        return {label: float(score) for label, score in zip(self.labels, scores, strict=True)}

    def probabilities(self, text: str | Reading) -> dict[str, float]:
        """The probability of every label for this message."""
        return {label: sigmoid(score) for label, score in self.decision(text).items()}

    def urgency_probability(self, text: str | Reading) -> float:
        """The urgency model's probability alone: one sparse dot product."""
        reading = self.read(text) if isinstance(text, str) else text
        weights = self._urgency
        score = self._urgency_bias
        for column, value in zip(reading.columns, reading.values, strict=True):
            score += value * weights.get(column, 0.0)
        return sigmoid(score)

    def contributions(
        self, reading: Reading, labels: Sequence[str], *, limit: int = 3
    ) -> dict[str, tuple[Contribution, ...]]:
        """Per label, the words of the message that pushed it up most: each feature's value
        times its weight, character grams credited to the words they come from."""
        chosen = [self.labels.index(label) for label in labels]
        if not reading.columns or not chosen:
            return {label: () for label in labels}
        weighted = (
            np.asarray(reading.values)[:, None] * self.coefficients[reading.columns][:, chosen]
        )
        words_known = len(reading.word_names)
        phrases = list(reading.word_names)
        row_of = {phrase: number for number, phrase in enumerate(phrases)}
        char_row = {
            column: number
            for number, column in enumerate(reading.columns[words_known:], words_known)
        }
        uses = reading.char_uses
        # character grams are credited to the words they occur in, in proportion to their uses
        targets: list[int] = []
        sources: list[int] = []
        shares: list[float] = []
        for token, occurrences in Counter(reading.tokens).items():
            target = row_of.get(token)
            if target is None:
                target = row_of[token] = len(phrases)
                phrases.append(token)
            columns = self._char_columns(token)
            targets += [target] * len(columns)
            sources += [char_row[column] for column in columns]
            shares += [occurrences / uses[column] for column in columns]
        credits = np.zeros((len(phrases), len(chosen)))
        credits[:words_known] = weighted[:words_known]
        if targets:
            np.add.at(credits, targets, weighted[sources] * np.asarray(shares)[:, None])
        shown = [
            (phrase, row)
            for phrase, row in zip(phrases, credits.tolist(), strict=True)
            if not all(self._common(word) for word in phrase.split())
        ]
        result: dict[str, tuple[Contribution, ...]] = {}
        for position, label in enumerate(labels):
            ranked = sorted(
                ((phrase, row[position]) for phrase, row in shown if row[position] > 0),
                key=lambda item: (-item[1], item[0]),
            )
            result[label] = tuple(
                Contribution(phrase, round(weight, 3)) for phrase, weight in ranked[:limit]
            )
        return result

    def _char_columns(self, token: str) -> tuple[int, ...]:
        columns = self._grams.get(token)
        if columns is None:
            columns = self.char_vocabulary.known_columns(char_grams([token]))
            if len(self._grams) < GRAM_CACHE:
                self._grams[token] = columns
        return columns

    def _common(self, word: str) -> bool:
        """An everyday word ("the", "his", "today"): it weighs in the score but tells a reader
        nothing, so it is not shown as evidence. Word frequencies decide, not a list."""
        common = self._commonness.get(word)
        if common is None:
            common = zipf_frequency(word, "en") >= COMMON_ZIPF
            if len(self._commonness) < GRAM_CACHE:
                self._commonness[word] = common
        return common


def sigmoid(score: float) -> float:
    """The logistic function, without overflow for large negative scores."""
    if score >= 0:
        return 1.0 / (1.0 + math.exp(-score))
    exp = math.exp(score)
    return exp / (1.0 + exp)


def save_model(model: LearnedModel, path: Path) -> None:
    """Write the model as an uncompressed-metadata, deflated ``.npz`` whose bytes depend only
    on its content (fixed entry dates), so a retrain on the same corpus changes nothing."""
    arrays = {
        "word_vocabulary": _joined(model.word_vocabulary.index),
        "word_idf": model.word_vocabulary.idf,
        "char_vocabulary": _joined(model.char_vocabulary.index),
        "char_idf": model.char_vocabulary.idf,
        "coefficients": model.coefficients,
        "intercepts": model.intercepts,
    }
    metadata = dict(model.metadata)
    metadata["labels"] = list(model.labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", _FIXED_DATE), buffer.getvalue())
        text = json.dumps(metadata, indent=1, sort_keys=True).encode()
        archive.writestr(zipfile.ZipInfo("metadata.json", _FIXED_DATE), text)


def load_model(path: Path = MODEL_PATH) -> LearnedModel:
    """Read a model written by ``save_model``; no pickle is ever loaded."""
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read("metadata.json"))
            arrays = {
                name: np.load(io.BytesIO(archive.read(f"{name}.npy")), allow_pickle=False)
                for name in (
                    "word_vocabulary",
                    "word_idf",
                    "char_vocabulary",
                    "char_idf",
                    "coefficients",
                    "intercepts",
                )
            }
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"{path}: not a triage model ({error})") from error
    word_index = _split(arrays["word_vocabulary"])
    char_index = _split(arrays["char_vocabulary"])
    return LearnedModel(
        labels=tuple(metadata["labels"]),
        word_vocabulary=Vocabulary(word_index, arrays["word_idf"], 0),
        char_vocabulary=Vocabulary(char_index, arrays["char_idf"], len(word_index)),
        coefficients=arrays["coefficients"],
        intercepts=arrays["intercepts"],
        metadata=metadata,
    )


def _joined(index: dict[str, int]) -> np.ndarray:
    ordered = sorted(index, key=index.__getitem__)
    return np.frombuffer("\n".join(ordered).encode(), dtype=np.uint8)


def _split(array: np.ndarray) -> dict[str, int]:
    text = array.tobytes().decode()
    return {gram: number for number, gram in enumerate(text.split("\n"))} if text else {}
