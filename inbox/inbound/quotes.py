"""The parts of a reply: what the person wrote now (quotes and signature stripped, for display
and the draft), and everything they wrote minus the copies of our own mails (for urgency triage,
so that a wrong strip can never hide "chest pain now", and our own emergency advice quoted back
never makes a reply look urgent)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from mailparser_reply import EmailReplyParser
from mailparser_reply.constants import MAIL_LANGUAGES

_QUOTE_MARK = re.compile(r"^(?:\s*>)+\s?")
_SPACE = re.compile(r"\s+")


@cache
def _parser() -> EmailReplyParser:
    return EmailReplyParser(languages=sorted(MAIL_LANGUAGES))


def new_part(text: str) -> str:
    """The newest reply in `text` without quoted mail and signature; `text` if nothing is left."""
    try:
        message = _parser().read(text)
        replies = message.replies
        latest = replies[0].body if replies else ""
    except Exception:  # a pathological text: showing it all is better than showing nothing
        latest = ""
    # a quote without an "On … wrote:" line above it is left by the parser: drop quoted lines
    # (answers written between quoted lines stay; the whole text is kept besides)
    latest = "\n".join(line for line in latest.splitlines() if not _QUOTE_MARK.match(line))
    latest = latest.strip()
    return latest or text.strip()


def _normalised(line: str) -> str:
    return _SPACE.sub(" ", _QUOTE_MARK.sub("", line)).strip().lower()


def without_our_mail(text: str, sent_texts: Iterable[str]) -> str:
    """`text` minus every line (quoted or not) that is a line of one of our sent mails."""
    ours = {_normalised(line) for sent in sent_texts for line in sent.splitlines()}
    ours.discard("")
    kept = [line for line in text.splitlines() if _normalised(line) not in ours]
    return "\n".join(kept).strip()
