"""Filling in a saved reply: its text is a Jinja2 template run in a sandbox over a fixed set of
fields, and only the smallest part of the language is accepted.

Two walls: the template's syntax tree may hold only text, the known field names, `if`/`else`,
comparisons and a few text filters (no loops, calls, attributes or arithmetic, so nothing can
run long or reach into Python); and it renders in `jinja2.sandbox.SandboxedEnvironment` with
undefined names as errors. Every problem becomes a sentence staff can act on.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

FIELDS: dict[str, str] = {
    "name": "the patient's name as they wrote it",
    "subject": "the subject of the patient's message",
    "hospital_name": "the hospital's name",
    "hospital_contact": "the hospital's contact line",
    "signature": "the signature of replies",
    "emergency_number": "the emergency telephone number",
}
FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "default", "d"})
MAX_OUTPUT = 20000
_ALLOWED = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.If,
    nodes.CondExpr, nodes.And, nodes.Or, nodes.Not, nodes.Compare, nodes.Operand, nodes.Filter,
    nodes.Concat,
)  # fmt: skip


class SavedReplyProblem(ValueError):
    """The text of a saved reply cannot be filled in; the message says why, for staff."""


@functools.cache
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


def check_template(source: str) -> None:
    """Refuse a text that is not valid or uses more than the fields and `if`."""
    try:
        tree = _environment().parse(source)
    except TemplateSyntaxError as error:
        raise SavedReplyProblem(f"Line {error.lineno}: {error.message}.") from error
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Name) and node.name not in FIELDS:
            known = ", ".join("{{ " + field + " }}" for field in FIELDS)
            raise SavedReplyProblem(
                f"Line {node.lineno}: there is no field “{node.name}”. The fields are: {known}."
            )
        if isinstance(node, nodes.Filter) and node.name not in FILTERS:
            raise SavedReplyProblem(
                f"Line {node.lineno}: the filter “{node.name}” is not available; "
                f"use one of {', '.join(sorted(FILTERS))}."
            )
        if not isinstance(node, _ALLOWED):
            raise SavedReplyProblem(
                f"Line {node.lineno}: only fields such as {{{{ name }}}} and "
                "{% if … %}…{% endif %} can be used in a saved reply."
            )


def fill_in(source: str, values: Mapping[str, str]) -> str:
    """The saved reply's text with the fields filled in from `values`."""
    check_template(source)
    try:
        text = _environment().from_string(source).render({k: values.get(k, "") for k in FIELDS})
    except TemplateError as error:
        raise SavedReplyProblem(f"The saved reply could not be filled in: {error}.") from error
    if len(text) > MAX_OUTPUT:
        raise SavedReplyProblem(f"The filled-in text is longer than {MAX_OUTPUT} characters.")
    return text.strip()


def sample_values() -> dict[str, str]:
    """Values to try a saved reply with when it is saved."""
    return {field: f"[{field}]" for field in FIELDS}
