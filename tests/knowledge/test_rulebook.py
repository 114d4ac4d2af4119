"""The rules' data files: validated at start-up, with errors that name the file and the field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from inbox.knowledge.rulebook import DATA_DIR, KnowledgeFileError, load_rulebook


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_data_files_are_valid():
    rulebook = load_rulebook()
    assert {concept.id for concept in rulebook.redflags.concepts} >= {"stroke", "chest-pain"}


@pytest.mark.parametrize(
    ("name", "old", "new", "where"),
    [
        ("redflags.toml", 'tier = "urgent"', 'tier = "urgent"\nsevere = true',
         r"redflags\.toml: concepts\[0\]\.severe"),
        ("context.toml", 'direction = "forward"', 'direction = "sideways"',
         r"context\.toml: rules\[0\]\.direction"),
    ],
)  # fmt: skip
def test_an_unknown_field_or_wrong_value_names_its_file_and_field(data_dir, name, old, new, where):
    replace_in(data_dir / name, old, new)
    with pytest.raises(KnowledgeFileError, match=where):
        load_rulebook(data_dir)


def test_a_concept_may_only_use_classes_of_the_lexicon(data_dir):
    replace_in(data_dir / "redflags.toml", '["face", "droop"]', '["face", "wobble"]')
    with pytest.raises(KnowledgeFileError, match=re.escape("unknown class 'wobble'")):
        load_rulebook(data_dir)


def test_a_cue_with_broken_syntax_is_refused(data_dir):
    replace_in(data_dir / "filters.toml", '"seo",', '"seo + ",')
    with pytest.raises(KnowledgeFileError, match=r"filters\.toml: advertising"):
        load_rulebook(data_dir)


def test_a_file_that_is_not_toml_is_refused(data_dir):
    (data_dir / "lexicon.toml").write_text("[classes.face\nwords = [", encoding="utf-8")
    with pytest.raises(KnowledgeFileError, match=r"lexicon\.toml: cannot be read as TOML"):
        load_rulebook(data_dir)


def test_the_engine_code_holds_no_word_lists():
    # every quoted lower-case word list belongs in data/: the engine's modules hold none
    package = DATA_DIR.parent
    engine_modules = [
        "context.py", "redflags.py", "matcher.py", "text.py", "measures.py", "language.py",
        "vocabulary.py", "engine.py", "patterns.py",
    ]  # fmt: skip
    word_list = re.compile(r'(frozenset|set|tuple)\(\s*\{?\s*\(?\s*"[a-z]+",\s*"[a-z]+"')
    for name in engine_modules:
        source = (package / name).read_text(encoding="utf-8")
        assert not word_list.search(source), name
