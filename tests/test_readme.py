"""The README is where operators look: it must name every setting."""

from pathlib import Path

from inbox.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_documents_every_setting():
    missing = [
        f"INBOX_{name.upper()}"
        for name in Settings.model_fields
        if f"INBOX_{name.upper()}" not in README
    ]
    assert missing == []


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
