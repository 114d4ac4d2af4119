"""Fitting the learned layer: TF-IDF and one logistic regression per label, seeded.

Training is deterministic: the same labelled rows in the same order give the same model, to the
bit (liblinear with a fixed seed, no threads). Only this module imports scikit-learn; the
service scores with the arrays it produces (``learned.model``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from inbox.knowledge.evaluation import LabelledMessage
from inbox.knowledge.learned.features import char_grams, message_text, word_grams, words
from inbox.knowledge.learned.model import URGENT, LearnedModel, Vocabulary

SEED = 20261201
REGULARISATION = 10.0  # liblinear's C; chosen by 5-fold cross-validation on the corpus
CLASS_WEIGHT: str | None = "balanced"
MIN_DOCUMENTS = 2  # a gram seen in one message only is noise, not vocabulary


def corpus_digest(messages: Sequence[LabelledMessage]) -> str:
    """A SHA-256 over what training reads of each message, so a model names its corpus."""
    digest = hashlib.sha256()
    for message in messages:
        fields = (message.subject, message.text, *sorted(message.sections), str(message.urgent))
        digest.update("\x1f".join(fields).encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


def fit_model(
    messages: Sequence[LabelledMessage],
    *,
    sections: Sequence[str],
    regularisation: float = REGULARISATION,
    seed: int = SEED,
) -> LearnedModel:
    """One logistic regression per section and one for urgency over shared TF-IDF features."""
    word_vectoriser, char_vectoriser, matrix = vectorise(messages)
    labels = (*sections, URGENT)
    coefficients = np.zeros((matrix.shape[1], len(labels)))
    intercepts = np.full(len(labels), -10.0)  # a label never seen is never predicted
    for column, label in enumerate(labels):
        target = np.array([_has(message, label) for message in messages], dtype=int)
        if target.min() == target.max():
            continue
        classifier = classifier_for(regularisation=regularisation, seed=seed)
        classifier.fit(matrix, target)
        coefficients[:, column] = classifier.coef_[0]
        intercepts[column] = classifier.intercept_[0]
    word_index = {gram: int(number) for gram, number in word_vectoriser.vocabulary_.items()}
    char_index = {gram: int(number) for gram, number in char_vectoriser.vocabulary_.items()}
    return LearnedModel(
        labels=labels,
        word_vocabulary=Vocabulary(word_index, word_vectoriser.idf_, 0),
        char_vocabulary=Vocabulary(char_index, char_vectoriser.idf_, len(word_index)),
        coefficients=coefficients,
        intercepts=intercepts,
        metadata={
            "messages": len(messages),
            "corpus_sha256": corpus_digest(messages),
            "seed": seed,
            "regularisation": regularisation,
        },
    )


def vectorise(
    messages: Sequence[LabelledMessage],
) -> tuple[TfidfVectorizer, TfidfVectorizer, sparse.csr_matrix]:
    """The two vectorisers fitted on these messages, and their side-by-side TF-IDF matrix."""
    tokens = [words(message_text(message.subject, message.text)) for message in messages]
    word_vectoriser = _vectoriser(word_grams)
    char_vectoriser = _vectoriser(char_grams)
    matrix = sparse.hstack(
        [word_vectoriser.fit_transform(tokens), char_vectoriser.fit_transform(tokens)]
    ).tocsr()
    return word_vectoriser, char_vectoriser, matrix


def classifier_for(*, regularisation: float = REGULARISATION, seed: int = SEED):
    """The logistic regression of one label (liblinear: deterministic for a seed)."""
    return LogisticRegression(
        C=regularisation,
        class_weight=CLASS_WEIGHT,
        solver="liblinear",
        random_state=seed,
        max_iter=1000,
    )


def _has(message: LabelledMessage, label: str) -> bool:
    return message.urgent if label == URGENT else label in message.sections


def _vectoriser(analyser) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer=analyser, sublinear_tf=True, min_df=MIN_DOCUMENTS, dtype=np.float64
    )
