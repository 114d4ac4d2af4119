"""Plain-text folding: readable on a phone, links whole, never past the SMTP line limit."""

from __future__ import annotations

from inbox.mails.wrapping import format_plain_text, wrap_text

URL = "https://www.kidney-hospital.example/" + "a" * 90 + "#section"


def test_long_paragraph_folds_at_78_without_breaking_words() -> None:
    words = ["fluid"] * 60
    lines = wrap_text(text=" ".join(words)).split("\n")
    assert len(lines) > 1 and all(len(line) <= 78 for line in lines)
    assert " ".join(lines).split() == words


def test_a_long_link_stays_whole_on_its_own_line() -> None:
    lines = wrap_text(text=f"Read more about it here: {URL} and tell us.").split("\n")
    assert URL in lines


def test_bullets_and_quotes_keep_their_shape_when_folded() -> None:
    bullet = wrap_text(text="- " + "cramp " * 30).split("\n")
    assert bullet[0].startswith("- ") and all(line.startswith("  ") for line in bullet[1:])
    quote = wrap_text(text="> " + "cramp " * 30).split("\n")
    assert len(quote) > 1 and all(line.startswith("> ") for line in quote)


def test_a_giant_word_is_cut_to_the_smtp_limit() -> None:
    lines = wrap_text(text="> " + "y" * 2500).split("\n")
    assert all(len(line) <= 998 for line in lines)
    assert "".join(line.removeprefix("> ") for line in lines) == "y" * 2500


def test_tidy_text_drops_trailing_spaces_and_extra_blank_lines() -> None:
    assert format_plain_text(text="\n\nHello   \n\n\n\nBye\n\n") == "Hello\n\nBye\n"
