"""The body of a reply as staff edit it: paragraphs in a small Markdown (CommonMark), turned into
the HTML part and the plain-text part of the mail when the mail is built.

Staff write paragraphs separated by blank lines; a single line break stays a line break, a line
starting with `## ` is a heading, `- ` a list item, and web links become live. Raw HTML and
images are not allowed: a `<b>` typed in the box stays those four characters in the mail. The
text part is never wrapped here (`inbox.mails.wrapping` folds it when the whole mail is built).
"""

from __future__ import annotations

import functools
import re

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

# characters that could start emphasis, a link or an autolink inside a line of a value
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>~!|])")


@functools.cache
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True})
    parser.enable(["linkify", "strikethrough"])
    parser.disable(["image"])  # no remote images (tracking pixels) in a reply
    return parser


def escape_markdown(value: object) -> str:
    """A value (a patient's name) as literal Markdown text: nothing in it becomes markup."""
    return _MARKDOWN_INLINE.sub(r"\\\1", " ".join(str(value).split()))


def tidy_body(source: str) -> str:
    """One form of the source: LF line ends, no trailing spaces, at most one blank line."""
    lines = [line.rstrip() for line in source.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def body_html(source: str) -> Markup:
    """The HTML of the body, safe to put into a mail template (every text is escaped)."""
    return Markup(_parser().render(source))


def body_text(source: str) -> str:
    """The plain-text part of the body: paragraphs as they were typed, headings as lines of their
    own, list items with their marker, links as `words: address`."""
    blocks: list[tuple[str, bool]] = []  # (text, an item of a tight list)
    tight = False
    prefixes: list[str] = []  # one per open list item or quote
    counters: list[int | None] = []  # per open list: the next number, None for bullets
    first_line_prefix: str | None = None
    for token in _parser().parse(source):
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = token.attrGet("start")
            counters.append(int(start) if start is not None else 1 if kind[0] == "o" else None)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            counters.pop()
            if blocks:  # the next list, or paragraph, starts after a blank line
                blocks[-1] = (blocks[-1][0], False)
        elif kind == "list_item_open":
            number = counters[-1]
            marker = "- " if number is None else f"{number}. "
            if number is not None:
                counters[-1] = number + 1
            first_line_prefix = "".join(prefixes) + marker
            prefixes.append(" " * len(marker))
        elif kind == "list_item_close":
            prefixes.pop()
        elif kind == "paragraph_open":
            tight = token.hidden  # markdown-it hides the paragraphs of a tight list's items
        elif kind == "blockquote_open":
            prefixes.append("> ")
        elif kind == "blockquote_close":
            prefixes.pop()
        elif kind in ("inline", "code_block", "fence"):
            text = _inline_text(token) if kind == "inline" else token.content.rstrip("\n")
            lines = text.split("\n")
            lead = "".join(prefixes)
            head = first_line_prefix if first_line_prefix is not None else lead
            first_line_prefix = None
            text = "\n".join([head + lines[0], *(lead + line for line in lines[1:])])
            blocks.append((text, kind == "inline" and tight))
            tight = False
        elif kind == "hr":
            blocks.append(("".join(prefixes) + "-" * 20, False))
    out = ""
    for index, (text, in_tight_list) in enumerate(blocks):
        if index:
            out += "\n" if in_tight_list and blocks[index - 1][1] else "\n\n"
        out += text
    return out


def _inline_text(token: Token) -> str:
    out: list[str] = []
    links: list[tuple[str, int]] = []  # (href, where its words start in out)
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif child.type == "link_open":
            links.append((str(child.attrGet("href") or ""), len(out)))
        elif child.type == "link_close" and links:
            href, start = links.pop()
            words = "".join(out[start:])
            if href and words not in (href, href.removeprefix("mailto:")):
                out.append(f": {href}")
    return "".join(out)
