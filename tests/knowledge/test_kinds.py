"""The kind of a message (clinical, appointment, billing, thanks, other), suggested from the rules'
filters and the validated data file data/kinds.toml."""

from __future__ import annotations

import shutil

import pytest

from inbox.config import Settings
from inbox.knowledge.kinds import KindSuggester, load_kind_rules, suggest_kind
from inbox.knowledge.loader import KnowledgeFileError, load_knowledge
from inbox.knowledge.rulebook import DATA_DIR
from inbox.knowledge.service import triage_message


@pytest.fixture(scope="module")
def knowledge():
    settings = Settings(_env_file=None)
    return load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)


def _kind(knowledge, subject: str, text: str) -> str:
    triage = triage_message(knowledge, subject=subject, text=text)
    return suggest_kind(
        knowledge, subject=subject, text=text, filtered=triage.filtered,
        clinical_signs=bool(triage.sections) or triage.urgent,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("subject", "text", "kind"),
    [
        ("Invoice", "I got an invoice for my last visit; why was I charged twice?", "billing"),
        ("Refund", "Could you refund the payment I made by mistake?", "billing"),
        ("Appointment", "I need to reschedule my appointment next Tuesday.", "appointment"),
        ("Transport", "Can the hospital book a taxi to my sessions?", "appointment"),
        ("Thank you", "Thank you so much for the article, it was very helpful.", "thanks"),
        ("SEO", "We offer SEO packages from 99 per month, click here for a free audit", "other"),
        ("Cramps", "Near the end of dialysis my calves cramp badly. Why?", "clinical"),
        # a symptom makes it a clinical question, whatever else it asks
        (
            "Appointment",
            "My legs cramp every session; can I get an earlier appointment?",
            "clinical",
        ),
        ("Bill", "I was charged twice and since yesterday I have crushing chest pain.", "clinical"),
    ],
)
def test_kinds_are_suggested(knowledge, subject, text, kind):
    assert _kind(knowledge, subject, text) == kind


def test_a_broken_kinds_file_names_the_file_and_the_field(tmp_path):
    shutil.copy(DATA_DIR / "kinds.toml", tmp_path / "kinds.toml")
    text = (tmp_path / "kinds.toml").read_text().replace('kind = "billing"', 'kind = "money"')
    (tmp_path / "kinds.toml").write_text(text)
    with pytest.raises(KnowledgeFileError, match=r"kinds\.toml: kinds\.0\.kind"):
        load_kind_rules(tmp_path)
    (tmp_path / "kinds.toml").write_text(
        text.replace('kind = "money"', 'kind = "billing"').replace("refund|", "refund||")
    )
    with pytest.raises(KnowledgeFileError, match=r"kinds\.toml: kinds\.0\.cues"):
        load_kind_rules(tmp_path)


def test_the_suggester_is_built_once_per_knowledge(knowledge):
    assert KindSuggester.of(knowledge) is KindSuggester.of(knowledge)
