"""An editor adds an article with a title, a summary and a handful of examples, and no cues:
paraphrases it has never seen find the new section."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inbox.config import Settings
from inbox.knowledge.loader import load_knowledge
from inbox.knowledge.service import triage_message

SECTION = "fistula-care"
ARTICLE = """
id = "fistula-care"
title = "Looking after your fistula"
path = "/dialysis-knowledge/fistula-care.html"

[[sections]]
id = "fistula-care"
title = "Caring for the fistula arm: buzz, bruising and what to avoid"
summary = '''A fistula joins an artery to a vein in the arm so that it can carry the blood
flow dialysis needs. A gentle buzz (the thrill) under the skin means it works; if the buzz
stops, call the unit. Bruising around the needle sites fades within days. Protect the arm: no
tight watches or sleeves, no blood pressure cuff and no blood tests on that arm, do not sleep
on it, and squeeze a soft ball to help a new fistula grow.'''
"""
EXAMPLES = [
    "The buzzing feeling over my fistula seems weaker today, should I worry?",
    "Can the nurse take my blood pressure on the arm with the fistula?",
    "There is a big bruise where they put the needles in my fistula.",
    "Is it alright to sleep lying on my fistula arm?",
    "My new fistula is still small. Will squeezing a ball help it grow?",
    "Can I wear my watch on the wrist of my fistula arm?",
    "How do I check that my fistula is still working? I cannot feel the thrill.",
    "They want to draw blood from my fistula arm at the GP, is that allowed?",
]
HELD_BACK = [
    "i can't feel the vibration in my access arm any more, is it blocked?",
    "Is a tight sleeve or bracelet bad for the fistula arm?",
    "Dark bruising round the needle marks on my fistula after Monday's session, normal?",
]


@pytest.fixture
def knowledge(tmp_path: Path):
    articles = tmp_path / "articles"
    shutil.copytree(Settings().knowledge_dir(), articles)
    (articles / "fistula-care.toml").write_text(ARTICLE, encoding="utf-8")
    with (articles / "fistula-care.examples.jsonl").open("w", encoding="utf-8") as out:
        for number, text in enumerate(EXAMPLES):
            row = {"id": f"f{number}", "subject": "fistula", "message": text,
                   "sections": [SECTION], "urgent": False}  # fmt: skip
            out.write(json.dumps(row) + "\n")
    return load_knowledge(articles, site_base_url="https://hospital.example")


def test_held_back_paraphrases_find_a_section_written_without_cues(knowledge):
    found = [
        text
        for text in HELD_BACK
        if SECTION
        in {m.section_id for m in triage_message(knowledge, subject="q", text=text).sections}
    ]
    assert found == HELD_BACK


def test_the_new_section_does_not_take_the_other_articles_mail(knowledge):
    for text in (
        "I gain 4 kg between sessions and cramp in the last hour.",
        "Is chinese medicine a way to avoid dialysis?",
        "My creatinine is 7 and urea 135, must I start dialysis?",
    ):
        result = triage_message(knowledge, subject="q", text=text)
        assert SECTION not in {match.section_id for match in result.sections}


def test_the_evidence_quotes_the_words_shared_with_the_section(knowledge):
    result = triage_message(knowledge, subject="q", text=HELD_BACK[0])
    match = next(item for item in result.sections if item.section_id == SECTION)
    assert match.evidence
    assert all(piece.lower() in HELD_BACK[0].lower() for piece in match.evidence)
