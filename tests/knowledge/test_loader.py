"""The article files: loaded, linked and validated, with errors that name the file and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from inbox.config import Settings
from inbox.knowledge.loader import KnowledgeFileError, load_knowledge

ARTICLES = Settings().knowledge_dir()
SEED_PAGE = Path(__file__).resolve().parents[3] / "shared" / "seed" / "leave-message-page.txt"
SECTION_IDS = {
    "fluid-removal-too-fast",
    "below-dry-weight",
    "low-sodium-dialysate",
    "high-efficiency-dialysis",
    "other-causes",
    "chinese-medicine-without-dialysis",
    "prolong-dialysis-stage-4",
    "dialysis-creatinine-7-urea-135",
}
GOOD_ARTICLE = """
id = "test-article"
title = "A test article"
path = "/test/article.html"

[[sections]]
id = "a-section"
title = "A section"
summary = "What the section says."

[sections.cues]
strong = ["leg cramp"]
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_labelled_section_exists_with_a_deep_link():
    knowledge = load_knowledge(ARTICLES, site_base_url="https://hospital.example/")
    assert {section.id for section in knowledge.sections()} == SECTION_IDS
    cramps = knowledge.section("low-sodium-dialysate")
    assert cramps is not None
    article = next(item for item in knowledge.articles if item.id == cramps.article_id)
    assert cramps.url == f"https://hospital.example{article.path}#{cramps.anchor}"
    assert article.url == f"https://hospital.example{article.path}"
    assert knowledge.section("no-such-section") is None


def test_the_leg_cramps_article_keeps_the_page_order_of_its_sections():
    knowledge = load_knowledge(ARTICLES, site_base_url="https://hospital.example")
    article = next(item for item in knowledge.articles if len(item.sections) > 1)
    assert [section.id for section in article.sections] == [
        "fluid-removal-too-fast",
        "below-dry-weight",
        "low-sodium-dialysate",
        "high-efficiency-dialysis",
        "other-causes",
    ]


@pytest.mark.skipif(not SEED_PAGE.exists(), reason="the seed page is not beside the repository")
def test_summaries_are_written_afresh_not_copied_from_the_page():
    page_words = re.findall(r"[a-z]+", SEED_PAGE.read_text(encoding="utf-8").lower())
    page_runs = {" ".join(page_words[i : i + 6]) for i in range(len(page_words) - 5)}
    knowledge = load_knowledge(ARTICLES, site_base_url="https://hospital.example")
    for section in knowledge.sections():
        words = re.findall(r"[a-z]+", section.summary.lower())
        runs = {" ".join(words[i : i + 6]) for i in range(len(words) - 5)}
        assert not runs & page_runs, f"{section.id} copies the page: {runs & page_runs}"


def test_an_added_article_file_needs_no_code(tmp_path):
    shutil.copytree(ARTICLES, tmp_path / "articles")
    write(tmp_path / "articles", "extra.toml", GOOD_ARTICLE)
    knowledge = load_knowledge(tmp_path / "articles", site_base_url="https://h.example")
    section = knowledge.section("a-section")
    assert section is not None
    assert section.url == "https://h.example/test/article.html#a-section"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (('summary = "What the section says."', ""), "sections[0].summary"),
        (('path = "/test/article.html"', 'path = "test/article.html"'), "path"),
        (('strong = ["leg cramp"]', 'strong = ["leg || cramp"]'), "sections[0].cues.strong[0]"),
        (('strong = ["leg cramp"]', 'strongest = ["leg cramp"]'), "sections[0].cues.strongest"),
        (('id = "a-section"', 'id = "A Section"'), "sections[0].id"),
        (('title = "A section"', "title = 3"), "sections[0].title"),
    ],
)
def test_a_bad_article_file_names_the_file_and_the_field(tmp_path, change, field):
    old, new = change
    path = write(tmp_path, "broken-article.toml", GOOD_ARTICLE.replace(old, new))
    with pytest.raises(KnowledgeFileError) as caught:
        load_knowledge(tmp_path, site_base_url="https://h.example")
    assert str(path) in str(caught.value)
    assert f": {field}:" in str(caught.value)


def test_a_bad_measure_names_its_field(tmp_path):
    text = GOOD_ARTICLE + '\n[[sections.measures]]\nmeasure = "weight of the moon"\n'
    write(tmp_path, "moon.toml", text)
    field = r"moon\.toml: sections\[0\]\.measures\[0\]\.measure"
    with pytest.raises(KnowledgeFileError, match=field):
        load_knowledge(tmp_path, site_base_url="https://h.example")


def test_a_file_that_is_not_toml_is_named(tmp_path):
    write(tmp_path, "notes.toml", "this is = = not toml")
    with pytest.raises(KnowledgeFileError, match="notes.toml"):
        load_knowledge(tmp_path, site_base_url="https://h.example")


def test_a_section_id_used_twice_is_refused(tmp_path):
    write(tmp_path, "one.toml", GOOD_ARTICLE)
    write(tmp_path, "two.toml", GOOD_ARTICLE.replace('id = "test-article"', 'id = "other"'))
    with pytest.raises(KnowledgeFileError, match=r"two\.toml: sections\.id: 'a-section'"):
        load_knowledge(tmp_path, site_base_url="https://h.example")


def test_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(KnowledgeFileError, match="no article files"):
        load_knowledge(tmp_path, site_base_url="https://h.example")


def test_a_bad_unless_cue_names_its_field(tmp_path):
    text = GOOD_ARTICLE.replace(
        'summary = "What the section says."', 'summary = "S."\nunless = ["50%"]'
    )
    write(tmp_path, "unless.toml", text)
    with pytest.raises(KnowledgeFileError, match=r"unless\.toml: sections\[0\]\.unless\[0\]"):
        load_knowledge(tmp_path, site_base_url="https://h.example")
