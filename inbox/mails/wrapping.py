"""Line wrapping for the plain-text part of a mail: short lines for phones, never past 998.

Templates write one paragraph per line; `wrap_text` folds every line longer than the target
width at spaces, keeps URLs and other long words whole, and continues bullets and quotes with
the right indent or prefix. Only a word longer than the SMTP limit (998 characters per line,
RFC 5322) is ever cut.
"""

from __future__ import annotations

import re
import textwrap

TEXT_WIDTH = 78
SMTP_LINE_LIMIT = 998

# "- item", "* item", "1. item" continue under the item's text; "> quote" repeats its prefix.
_BULLET = re.compile(r"^(\s*)([-*\u2022]|\d+[.)])\s+")
_QUOTE = re.compile(r"^((?:>\s?)+)")
_INDENT = re.compile(r"^(\s*)")


def format_plain_text(*, text: str, width: int = TEXT_WIDTH) -> str:
    """Tidy a rendered text body: no trailing spaces, one blank line at most, long lines folded."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    tidy: list[str] = []
    for raw in lines:
        line = raw.rstrip()
        if not line and (not tidy or not tidy[-1]):
            continue
        tidy.append(line)
    while tidy and not tidy[-1]:
        tidy.pop()
    return wrap_text(text="\n".join(tidy), width=width) + "\n"


def wrap_text(*, text: str, width: int = TEXT_WIDTH) -> str:
    """Fold each over-long line of text at spaces; keep short lines and blank lines as they are."""
    folded: list[str] = []
    for line in text.split("\n"):
        folded.extend(_fold_line(line=line, width=width))
    return "\n".join(folded)


def _fold_line(*, line: str, width: int) -> list[str]:
    """One source line as one or more lines of at most `width` characters where possible."""
    if len(line) <= width:
        return [line]
    first, rest = _prefixes(line=line)
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    body = line[len(first) :]
    pieces = wrapper.wrap(body) or [line]
    return [cut for piece in pieces for cut in _cut_at_limit(line=piece, prefix=rest)]


def _prefixes(*, line: str) -> tuple[str, str]:
    """The first-line prefix and the continuation prefix that keep a bullet or quote readable."""
    quote = _QUOTE.match(line)
    if quote:
        return quote.group(1), quote.group(1)
    bullet = _BULLET.match(line)
    if bullet:
        return bullet.group(0), " " * len(bullet.group(0))
    indent = _INDENT.match(line)
    lead = indent.group(1) if indent else ""
    return lead, lead


def _cut_at_limit(*, line: str, prefix: str) -> list[str]:
    """Cut a line that is still longer than the SMTP limit (one enormous word) into legal pieces."""
    if len(line) <= SMTP_LINE_LIMIT:
        return [line]
    room = SMTP_LINE_LIMIT - len(prefix)
    head, tail = line[:SMTP_LINE_LIMIT], line[SMTP_LINE_LIMIT:]
    cuts = [head]
    cuts.extend(prefix + tail[start : start + room] for start in range(0, len(tail), room))
    return cuts
