"""The README is the map; docs/configuration.md is where operators look for every setting."""

from pathlib import Path

from inbox.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()


def test_the_configuration_page_documents_every_setting():
    missing = [
        f"INBOX_{name.upper()}"
        for name in Settings.model_fields
        if f"INBOX_{name.upper()}" not in CONFIGURATION
    ]
    assert missing == []


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_readme_is_a_short_map_that_links_every_page_of_docs():
    assert len(README) <= 8000
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{page.name}" in README, page.name
