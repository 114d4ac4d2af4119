"""The Jinja2 environment for mail templates: files only, HTML escaped, text left literal.

Templates come from the operator's folder (`INBOX_EMAIL_TEMPLATES_DIR`) and are trusted; the
patient's words only ever arrive as variable values, so they are escaped in `.html` templates
and printed as they are in `.txt` ones, and never parsed as template source.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from inbox.mails.markup import escape_markdown


def build_environment(*, templates_dir: Path) -> Environment:
    """A strict environment over the template folder: autoescape for .html, not for .txt/.css."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(
            enabled_extensions=("html", "htm"),
            disabled_extensions=("txt", "css"),
            default_for_string=True,
            default=True,
        ),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["plain_reason"] = plain_reason
    env.filters["plain_list"] = plain_list
    env.filters["age"] = format_age
    env.filters["moment"] = format_moment
    env.filters["markdown_literal"] = escape_markdown
    return env


def plain_reason(value: str) -> str:
    """A triage reason in plain words: 'chest_pain' -> 'chest pain'; phrases pass unchanged."""
    text = str(value).strip()
    if " " not in text:
        text = text.replace("_", " ").replace("-", " ")
    return text


def plain_list(values: Iterable[str]) -> str:
    """Join words the way a person would: 'a', 'a and b', 'a, b and c'."""
    items = [plain_reason(value) for value in values if str(value).strip()]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def format_age(hours: float) -> str:
    """How long something has waited, for staff: '5 hours', '1 day 3 hours', '4 days'."""
    whole = max(0, int(hours))
    days, rest = divmod(whole, 24)
    if days == 0:
        return "1 hour" if whole == 1 else f"{whole} hours"
    day_part = "1 day" if days == 1 else f"{days} days"
    if days >= 3 or rest == 0:
        return day_part
    return f"{day_part} {rest} hour" + ("" if rest == 1 else "s")


def format_moment(value: datetime) -> str:
    """A point in time in UTC for a mail body: '24 Nov 2026, 21:04 UTC' (naive means UTC)."""
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%d %b %Y, %H:%M UTC")
