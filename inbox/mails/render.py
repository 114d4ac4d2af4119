"""Pure rendering of every mail the service sends: (template, values) -> subject, text, HTML.

`MailRenderer` is built once from the settings and holds no state besides its Jinja2
environment and CSS inliner. The patient's words are only ever template *values*: escaped in
HTML, literal in text, never parsed as template source, and never put into a subject line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import css_inline

from inbox.mails import markup
from inbox.mails.environment import build_environment
from inbox.mails.greeting import greeting_name
from inbox.mails.wrapping import format_plain_text

if TYPE_CHECKING:
    from inbox.config import Settings

STAFF_PLACEHOLDER = "[STAFF: write the answer here]"
"""Marks a draft that has no answer yet; a reply containing it must not be approved as is."""


class SectionLike(Protocol):
    """What the renderer reads of an article section (`inbox.knowledge.loader.Section` fits)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def summary(self) -> str: ...


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    body: str = ""  # a reply's body as staff edit it (inbox.mails.markup); "" for other mails


@dataclass(frozen=True)
class DigestItem:
    conversation_url: str
    age_hours: float
    urgent: bool


class TemplateProblem(ValueError):
    """A template or a value given to it cannot make a sendable mail (empty subject, bad link)."""


class MailRenderer:
    """Renders the templates in one folder with the hospital's name, contact and signature."""

    def __init__(
        self,
        *,
        templates_dir: Path,
        hospital_name: str,
        hospital_contact: str,
        signature: str,
        site_base_url: str,
        public_url: str,
        emergency_number: str,
    ) -> None:
        self._env = build_environment(templates_dir=templates_dir)
        self._inliner = css_inline.CSSInliner(
            keep_style_tags=False, keep_link_tags=False, load_remote_stylesheets=False
        )
        self._base: dict[str, Any] = {
            "hospital_name": hospital_name,
            "hospital_contact": hospital_contact,
            "signature": signature,
            "emergency_number": emergency_number,
            "site_base_url": site_base_url.rstrip("/"),
            "public_url": public_url.rstrip("/"),
            "staff_placeholder": STAFF_PLACEHOLDER,
            "unsubscribe_url": None,
            "audience": "patient",
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> MailRenderer:
        """A renderer for the configured template folder and hospital details."""
        return cls(
            templates_dir=settings.templates_dir(),
            hospital_name=settings.hospital_name,
            hospital_contact=settings.hospital_contact,
            signature=settings.signature,
            site_base_url=settings.site_base_url,
            public_url=settings.public_url,
            emergency_number=settings.emergency_number,
        )

    def render(self, template: str, **context: Any) -> RenderedMail:
        """Render `<template>.subject.txt`, `.txt` and `.html`; the HTML leaves with CSS inlined."""
        values = {**self._base, **context}
        subject = " ".join(str(context.get("subject_line") or "").split()) or " ".join(
            self._env.get_template(f"{template}.subject.txt").render(values).split()
        )
        if not subject:
            raise TemplateProblem(f"{template}.subject.txt rendered an empty subject")
        values["subject"] = subject
        text = format_plain_text(text=self._env.get_template(f"{template}.txt").render(values))
        html = self._inliner.inline(self._env.get_template(f"{template}.html").render(values))
        return RenderedMail(subject=subject, text=text, html=html)

    @cached_property
    def emergency_line(self) -> str:
        """The one-line emergency instruction of every patient mail, as plain text (the JSON
        API gives it to the site's own thank-you page)."""
        template = self._env.get_template("_emergency_line.txt")
        return " ".join(template.render(self._base).split())

    def render_reply(
        self,
        *,
        name: str,
        sections: Sequence[SectionLike],
        urgent: bool,
        urgency_reasons: Sequence[str],
        question: str | None = None,
        feedback_urls: Mapping[str, str] | None = None,
        kind: str = "clinical",
        possible: bool = False,
        body: str | None = None,
        subject: str | None = None,
    ) -> RenderedMail:
        """The reply: emergency guidance first if urgent, then the body (made from a paragraph
        and a link per section, with its "did this help?" link when `feedback_urls` has one, or
        the `body` staff wrote; without sections, the text that fits the `kind`), the footer and
        the question quoted. `subject` replaces the template's subject line when staff changed
        it."""
        kinds = ("appointment", "billing", "thanks", "other")
        values: dict[str, Any] = {
            "name": name.strip(),
            "urgent": urgent,
            "possible": urgent and possible,  # triage unsure: the advice to get care today
            "urgency_reasons": [reason for reason in urgency_reasons if reason.strip()],
            "question": (question or "").strip() or None,
            "kind": kind if kind in kinds else None,
        }
        if body is None:
            template = self._env.get_template("reply.body.txt")
            body = template.render(
                {
                    **self._base,
                    **values,
                    "sections": _checked_sections(sections=sections),
                    "feedback_urls": {
                        section_id: _checked_link(url=url)
                        for section_id, url in (feedback_urls or {}).items()
                    },
                }
            )
        body = markup.tidy_body(body)
        html = (
            markup.body_html(body)
            .replace(
                f"<p>{STAFF_PLACEHOLDER}</p>", f'<p class="placeholder">{STAFF_PLACEHOLDER}</p>'
            )
            .replace("<p>Did this part help you? ", '<p class="feedback">Did this part help you? ')
        )
        mail = self.render(
            "reply",
            **values,
            subject_line=subject,
            body_html=html,
            body_text=markup.body_text(body),
        )
        return RenderedMail(subject=mail.subject, text=mail.text, html=mail.html, body=body)

    def render_acknowledgement(
        self, *, name: str, urgent: bool, reply_within: str, unsubscribe_url: str
    ) -> RenderedMail:
        """The automatic receipt: when to expect a reply, and emergency advice if urgent. It greets
        with the name only when that looks like a name (`inbox.mails.greeting`)."""
        return self.render(
            "acknowledgement",
            name=greeting_name(name),
            urgent=urgent,
            reply_within=reply_within,
            unsubscribe_url=_checked_link(url=unsubscribe_url),
        )

    def render_follow_up(
        self, *, name: str, sections: Sequence[SectionLike], unsubscribe_url: str
    ) -> RenderedMail:
        """The check-in a few days after a reply, linking the same sections again (greeting as the
        acknowledgement does)."""
        return self.render(
            "follow_up",
            name=greeting_name(name),
            sections=_checked_sections(sections=sections),
            unsubscribe_url=_checked_link(url=unsubscribe_url),
        )

    def render_staff_alert(
        self,
        *,
        conversation_url: str,
        reasons: Sequence[str],
        received_at: datetime,
        possible: bool = False,
        unopened_minutes: int | None = None,
        escalated: bool = False,
    ) -> RenderedMail:
        """The mail to staff about one urgent message (or, `possible`, one to check now: triage
        is unsure or cannot read it): why, when, and a link; no patient words. With
        `unopened_minutes`: the reminder that nobody has opened it for so long (`escalated`: the
        same sent to the escalation address)."""
        return self.render(
            "staff_alert",
            audience="staff",
            conversation_url=_checked_link(url=conversation_url),
            reasons=[reason for reason in reasons if reason.strip()],
            received_at=received_at,
            possible=possible,
            unopened_minutes=unopened_minutes,
            escalated=escalated,
        )

    def render_digest(
        self,
        *,
        items: Sequence[DigestItem | Mapping[str, Any]],
        older_than_hours: int = 24,
    ) -> RenderedMail:
        """The daily list for staff of messages waiting too long: urgent first, then oldest."""
        entries = [_digest_item(item=item) for item in items]
        entries.sort(key=lambda entry: (not entry.urgent, -entry.age_hours))
        return self.render(
            "digest",
            audience="staff",
            items=entries,
            urgent_count=sum(1 for entry in entries if entry.urgent),
            older_than_hours=older_than_hours,
        )


def _checked_link(*, url: str) -> str:
    """The URL itself if it is an absolute http(s) link; anything else would be a broken mail."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TemplateProblem(f"not an absolute web link: {url!r}")
    return url


def _checked_sections(*, sections: Sequence[SectionLike]) -> list[SectionLike]:
    """The sections as a list, each with a usable deep link."""
    for section in sections:
        _checked_link(url=section.url)
    return list(sections)


def _digest_item(*, item: DigestItem | Mapping[str, Any]) -> DigestItem:
    """A digest entry from a `DigestItem` or a plain mapping with the same keys."""
    if isinstance(item, DigestItem):
        entry = item
    else:
        entry = DigestItem(
            conversation_url=str(item["conversation_url"]),
            age_hours=float(item["age_hours"]),
            urgent=bool(item["urgent"]),
        )
    _checked_link(url=entry.conversation_url)
    return entry
