"""The labelled corpus: every line is a usable example with labels the knowledge knows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from inbox.config import Settings
from inbox.knowledge.evaluation import TRAIN_SPLIT, read_corpus
from inbox.knowledge.loader import load_knowledge

CORPUS = Path(__file__).resolve().parents[2] / "inbox" / "knowledge" / "corpus"
KEYS = {"id", "name", "email", "subject", "message", "sections", "urgent", "note", "voice", "lang"}
VOICES = {"patient", "relative", "carer", "nurse", "other"}
# A test message sharing this many words in a row with a training one is a paraphrase of it.
RUN = 10


def _files() -> list[Path]:
    return sorted(CORPUS.glob("train/*.jsonl")) + sorted(CORPUS.glob("test/*.jsonl"))


def _blind_files() -> list[Path]:
    return sorted(CORPUS.glob("blind/*.jsonl"))


def _runs(message: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", message.lower())
    return {tuple(words[i : i + RUN]) for i in range(max(len(words) - RUN + 1, 1))}


def _rows(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            pytest.fail(f"{path.name}:{number} is not JSON: {error}")
    return rows


@pytest.fixture(scope="module")
def corpus() -> dict[Path, list[dict]]:
    return {path: _rows(path) for path in _files()}


def test_every_message_has_the_fields_a_trainer_reads(corpus):
    for path, rows in corpus.items():
        for row in rows:
            where = f"{path.name} {row.get('id')}"
            assert set(row) == KEYS, where
            assert row["message"].strip(), where
            assert isinstance(row["urgent"], bool), where
            assert row["voice"] in VOICES, where
            assert len(set(row["sections"])) == len(row["sections"]), where


def test_ids_are_unique_across_every_file(corpus):
    ids = [row["id"] for rows in corpus.values() for row in rows]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert not repeated


def test_every_label_is_a_section_of_the_loaded_knowledge(corpus):
    settings = Settings()
    knowledge = load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)
    known = {section.id for section in knowledge.sections()}
    unknown = {
        (path.name, row["id"], section)
        for path, rows in corpus.items()
        for row in rows
        for section in row["sections"]
        if section not in known
    }
    assert not unknown


def test_the_frozen_test_split_is_kept_apart_from_training(corpus):
    def split(name: str) -> list[dict]:
        return [row for path, rows in corpus.items() if path.parent.name == name for row in rows]

    train = set().union(*(_runs(row["message"]) for row in split("train")))
    test = split("test")
    assert test
    assert not [row["id"] for row in test if _runs(row["message"]) & train]


def test_the_native_english_part_is_large_and_mixed(corpus):
    native = [
        row for path, rows in corpus.items() if path.stem.startswith("native") for row in rows
    ]
    assert len(native) >= 450
    urgent = sum(row["urgent"] for row in native) / len(native)
    unlabelled = sum(not row["sections"] for row in native) / len(native)
    assert 0.2 <= urgent <= 0.35
    assert 0.1 <= unlabelled <= 0.4


def test_the_corpus_holds_over_a_thousand_messages_in_many_languages(corpus):
    rows = [row for rows in corpus.values() for row in rows]
    assert len(rows) >= 1000
    languages = {row.get("lang", "en").split("-")[0] for row in rows}
    assert {"en", "hi", "tl", "pcm", "id", "ar", "zh", "es"} <= languages
    assert 0.2 <= sum(row["urgent"] for row in rows) / len(rows) <= 0.35


def test_the_blind_set_is_well_formed_and_never_trained_on(corpus):
    blind = [row for path in _blind_files() for row in _rows(path)]
    assert len(blind) >= 200
    settings = Settings()
    knowledge = load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)
    known = {section.id for section in knowledge.sections()}
    for row in blind:
        assert set(row) == KEYS, row.get("id")
        assert row["voice"] in VOICES, row["id"]
        assert isinstance(row["urgent"], bool), row["id"]
        assert set(row["sections"]) <= known, row["id"]
    known_ids = {row["id"] for rows in corpus.values() for row in rows}
    blind_ids = [row["id"] for row in blind]
    assert len(set(blind_ids)) == len(blind_ids)
    assert not known_ids & set(blind_ids)
    train = set().union(
        *(
            _runs(row["message"])
            for path, rows in corpus.items()
            if path.parent.name == "train"
            for row in rows
        )
    )
    assert not [row["id"] for row in blind if _runs(row["message"]) & train]
    # what `inbox triage train` reads holds none of it
    assert not {message.id for message in read_corpus(TRAIN_SPLIT)} & set(blind_ids)
