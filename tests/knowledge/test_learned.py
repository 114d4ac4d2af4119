"""The learned layer: scoring equals scikit-learn's, training is reproducible, no network."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from inbox.config import Settings
from inbox.knowledge.evaluation import TRAIN_SPLIT, LabelledMessage, read_corpus, read_labelled
from inbox.knowledge.learned.features import message_text, words
from inbox.knowledge.learned.model import MODEL_PATH, URGENT, load_model, save_model
from inbox.knowledge.loader import Knowledge, load_knowledge
from inbox.knowledge.training.fit import (
    classifier_for,
    corpus_digest,
    fit_model,
    vectorise,
)

OWN = Path(__file__).with_name("own-messages.jsonl")


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    settings = Settings()
    return load_knowledge(settings.knowledge_dir(), site_base_url="https://hospital.example")


@pytest.fixture(scope="module")
def messages() -> list[LabelledMessage]:
    return read_labelled(OWN)


def sections_of(knowledge: Knowledge) -> list[str]:
    return [section.id for section in knowledge.sections()]


def test_the_run_time_scorer_gives_scikit_learns_decision_values(knowledge, messages):
    model = fit_model(messages, sections=sections_of(knowledge))
    _, _, matrix = vectorise(messages)
    target = np.array([message.urgent for message in messages], dtype=int)
    reference = classifier_for().fit(matrix, target).decision_function(matrix)
    column = model.labels.index(URGENT)
    ours = [
        model.decision(message_text(message.subject, message.text))[URGENT] for message in messages
    ]
    assert np.allclose(ours, reference, atol=1e-9)
    # the request path's single dot product agrees with the full scoring
    fast = [
        model.urgency_probability(message_text(message.subject, message.text))
        for message in messages[:20]
    ]
    full = [1 / (1 + np.exp(-score)) for score in reference[:20]]
    assert np.allclose(fast, full, atol=1e-9)
    assert model.coefficients.shape[1] == len(model.labels) and column == len(model.labels) - 1


def test_training_twice_writes_the_same_bytes(knowledge, messages, tmp_path):
    sections = sections_of(knowledge)
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    save_model(fit_model(messages, sections=sections), first)
    save_model(fit_model(messages, sections=sections), second)
    assert first.read_bytes() == second.read_bytes()
    loaded = load_model(first)
    text = "my calves knot up in the last hour, they take 4 litres off"
    assert loaded.decision(text) == fit_model(messages, sections=sections).decision(text)


def test_training_and_triage_use_no_network(knowledge, messages, monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("the learned layer tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    model = fit_model(messages[:60], sections=sections_of(knowledge))
    save_model(model, tmp_path / "model.npz")
    assert load_model(tmp_path / "model.npz").probabilities("chest pain now")[URGENT] > 0


def test_the_committed_model_is_what_training_on_the_corpus_gives(knowledge):
    committed = load_model(MODEL_PATH)
    corpus = read_corpus(TRAIN_SPLIT)
    assert committed.metadata["corpus_sha256"] == corpus_digest(corpus), (
        "corpus/train changed since the model was trained: run `inbox triage train` and commit"
        " inbox/knowledge/data/model/"
    )
    fresh = fit_model(
        corpus,
        sections=sections_of(knowledge),
        regularisation=committed.metadata["regularisation"],
        seed=committed.metadata["seed"],
    )
    assert fresh.labels == committed.labels
    assert fresh.word_vocabulary.index == committed.word_vocabulary.index
    assert fresh.char_vocabulary.index == committed.char_vocabulary.index
    # the same model up to float rounding: BLAS may sum in another order on another machine or
    # thread count (differences seen: 1e-10), far below anything that moves a probability
    np.testing.assert_allclose(fresh.coefficients, committed.coefficients, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fresh.intercepts, committed.intercepts, rtol=0, atol=1e-6)
    # the thresholds come from cross-validation on the same corpus and are kept with the model
    assert set(committed.metadata["combination"]) >= {
        "section_threshold",
        "urgent_threshold",
        "possible_threshold",
    }


def test_a_word_keeps_its_vowel_signs_and_other_combining_marks():
    # Devanagari and Bengali vowel signs are combining marks: the word is one token, not
    # the letters between them
    assert words("धन्यवाद, माँ अब ठीक हैं") == ["धन्यवाद", "माँ", "अब", "ठीक", "हैं"]
    assert words("আমার ক্রিয়েটিনিন ৭") == ["আমার", "ক্রিয়েটিনিন", "৭"]
    assert words("Can't stop: 4.5 off, café") == ["cant", "stop", "4.5", "off", "café"]
