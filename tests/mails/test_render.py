"""What a patient or a staff member sees in the mails the renderer produces."""

from __future__ import annotations

import itertools
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from inbox.config import REPO_DIR, Settings
from inbox.knowledge.loader import Section
from inbox.mails.render import (
    STAFF_PLACEHOLDER,
    DigestItem,
    MailRenderer,
    RenderedMail,
    TemplateProblem,
)

TEMPLATES = REPO_DIR / "email_templates"
SITE = "https://www.kidney-hospital.example"
ARTICLE = f"{SITE}/dialysis/leg-cramps-end-of-dialysis.html"
UNSUBSCRIBE = "https://inbox.kidney-hospital.example/unsubscribe/tok.en-123"
# a fixed time: a clock minute of :49 must not look like an evaluated {{ 7*7 }}
RECEIVED_AT = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
CONVERSATION = "https://inbox.kidney-hospital.example/inbox/conversations/42"
EMERGENCY_ACTION = "call your local emergency number or go to the nearest emergency department"
DO_NOT_WAIT = "Do not wait for your next dialysis session"
EMERGENCY_LINE = "call 112 or your local emergency number now. Do not wait for our reply."
HOSTILE = '<script>alert(1)</script> {{ 7*7 }} {% raw %} {# note #} </p><a href="x">'


def make_section(*, anchor: str, title: str, summary: str) -> Section:
    """A section of the leg-cramps article with its deep link."""
    return Section(
        id=anchor,
        article_id="leg-cramps",
        title=title,
        anchor=anchor,
        url=f"{ARTICLE}#{anchor}",
        summary=summary,
    )


FAST = make_section(
    anchor="fluid-removal-too-fast",
    title="Fluid taken off too quickly",
    summary="Pulling a lot of fluid off in a few hours can leave the blood vessels short of "
    "volume before the body refills them, and the muscles may cramp.",
)
SODIUM = make_section(
    anchor="low-sodium-dialysate",
    title="A low-sodium dialysis fluid",
    summary="If the dialysis fluid holds less sodium than your blood, sodium is drawn out "
    "during the session and cramps can follow.",
)
SECTION_CASES = {"no-section": [], "one-section": [FAST], "two-sections": [FAST, SODIUM]}


@pytest.fixture
def renderer() -> MailRenderer:
    return MailRenderer(
        templates_dir=TEMPLATES,
        hospital_name="Kidney Disease Hospital",
        hospital_contact="patient-service@kidney-hospital.example",
        signature="The Patient Service Team",
        site_base_url=SITE,
        public_url="https://inbox.kidney-hospital.example",
        emergency_number="112",
    )


class _Links(HTMLParser):
    """Collects every href and notes any <script> or <style> element."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs.extend(value or "" for name, value in attrs if name == "href")


def parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def flat(text: str) -> str:
    """Text as one line, the way a reader takes in a folded paragraph."""
    return " ".join(text.split())


def text_urls(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def every_mail(renderer: MailRenderer, *, name: str, question: str) -> dict[str, RenderedMail]:
    """One mail of each kind and case, with the given patient name and question."""
    mails: dict[str, RenderedMail] = {}
    for case, sections in SECTION_CASES.items():
        for urgent in (False, True):
            mails[f"reply-{case}-{'urgent' if urgent else 'routine'}"] = renderer.render_reply(
                name=name,
                sections=sections,
                urgent=urgent,
                urgency_reasons=["chest pain", "trouble_breathing"] if urgent else [],
                question=question,
            )
        mails[f"follow_up-{case}"] = renderer.render_follow_up(
            name=name, sections=sections, unsubscribe_url=UNSUBSCRIBE
        )
    for urgent in (False, True):
        mails[f"acknowledgement-{urgent}"] = renderer.render_acknowledgement(
            name=name, urgent=urgent, reply_within="two working days", unsubscribe_url=UNSUBSCRIBE
        )
    mails["staff_alert"] = renderer.render_staff_alert(
        conversation_url=CONVERSATION, reasons=["chest pain"], received_at=RECEIVED_AT
    )
    mails["digest-empty"] = renderer.render_digest(items=[])
    mails["digest"] = renderer.render_digest(
        items=[DigestItem(conversation_url=CONVERSATION, age_hours=30, urgent=True)]
    )
    return mails


def test_every_template_renders_a_complete_mail_in_every_case(renderer: MailRenderer) -> None:
    mails = every_mail(renderer, name="Karim Haddad", question="Why do my legs cramp?")
    assert len(mails) == 14
    for kind, mail in mails.items():
        assert mail.subject and "\n" not in mail.subject, kind
        assert mail.text.startswith("Kidney Disease Hospital\n"), kind
        assert mail.text.endswith("\n") and not mail.text.endswith("\n\n"), kind
        assert "Kidney Disease Hospital" in mail.html, kind
        assert mail.html.lstrip().lower().startswith("<!doctype html>"), kind
        assert f"<title>{mail.subject}</title>" in mail.html, kind


def test_templates_fail_loudly_on_a_missing_value(renderer: MailRenderer) -> None:
    with pytest.raises(UndefinedError):
        renderer.render("reply", name="Karim")


def test_patient_words_are_escaped_in_html_and_literal_in_text(renderer: MailRenderer) -> None:
    mails = every_mail(renderer, name=HOSTILE, question=f"My legs hurt.\n{HOSTILE}")
    for kind, mail in mails.items():
        tags = parse(mail.html).tags
        assert "script" not in tags, kind
        assert "49" not in mail.text and "49" not in mail.html, kind
        if kind.startswith(("follow_up", "acknowledgement")):  # automatic: no such name at all
            assert "script" not in flat(mail.text) and "script" not in mail.html, kind
            assert "Hello," in mail.text, kind
        if kind.startswith("reply"):
            assert HOSTILE in flat(mail.text), kind
            assert (
                "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} {% raw %} {# note #}" in mail.html
            )
            assert '&lt;/p&gt;&lt;a href="x"&gt;' in mail.html, kind
            assert not any(href == "x" for href in parse(mail.html).hrefs), kind


def test_triage_reasons_are_escaped_in_the_staff_alert(renderer: MailRenderer) -> None:
    mail = renderer.render_staff_alert(
        conversation_url=CONVERSATION, reasons=[HOSTILE], received_at=RECEIVED_AT
    )
    assert "script" not in parse(mail.html).tags
    assert "{{ 7*7 }}" in mail.text and "49" not in mail.text


def test_no_subject_carries_the_patients_words(renderer: MailRenderer) -> None:
    mails = every_mail(renderer, name="Maria Dryweight", question="cramps after dialysis")
    for kind, mail in mails.items():
        words = ["Maria", "Dryweight", "cramp", "dialysis", "chest", "breathing"]
        if not kind.startswith(("staff_alert", "digest")):
            words.append("urgent")
        for word in words:
            assert word.lower() not in mail.subject.lower(), (kind, mail.subject)
    assert mails["acknowledgement-True"].subject == mails["acknowledgement-False"].subject
    assert (
        mails["reply-one-section-urgent"].subject == "Re: your message to Kidney Disease Hospital"
    )


def test_every_link_in_a_reply_points_at_a_chosen_section(renderer: MailRenderer) -> None:
    for (case, sections), urgent in itertools.product(SECTION_CASES.items(), (False, True)):
        mail = renderer.render_reply(
            name="Karim", sections=sections, urgent=urgent, urgency_reasons=["chest pain"]
        )
        expected = {section.url for section in sections}
        assert set(parse(mail.html).hrefs) == expected, case
        assert set(text_urls(mail.text)) == expected, case
        for section in sections:
            assert section.title in mail.html and section.title in mail.text, case
            # an urgent reply only links the sections: their summaries are for routine reading
            assert (section.summary in mail.html) is not urgent, case


def test_each_chosen_section_gets_its_own_paragraph_and_link(renderer: MailRenderer) -> None:
    mail = renderer.render_reply(
        name="Karim", sections=[FAST, SODIUM], urgent=False, urgency_reasons=[]
    )
    assert parse(mail.html).hrefs == [FAST.url, SODIUM.url]
    assert mail.text.index(FAST.url) < mail.text.index(SODIUM.title) < mail.text.index(SODIUM.url)
    assert "dialysis team" in mail.text and "Dear Karim," in mail.text


def test_urgent_reply_opens_with_emergency_guidance_naming_the_reasons(
    renderer: MailRenderer,
) -> None:
    mail = renderer.render_reply(
        name="Karim",
        sections=[FAST],
        urgent=True,
        urgency_reasons=["sudden severe headache", "weakness_on_one_side"],
    )
    content = mail.text.split("\n", 2)[2]
    assert content.startswith("PLEASE READ THIS FIRST\n")
    opening = " ".join(content[: content.index("Dear Karim,")].split())
    assert EMERGENCY_ACTION in opening and DO_NOT_WAIT in opening
    assert "sudden severe headache and weakness on one side" in opening
    html = mail.html
    assert html.index('role="alert"') < html.index("Dear Karim,") < html.index(FAST.url)
    assert "sudden severe headache and weakness on one side" in html


def test_routine_reply_has_no_emergency_opening(renderer: MailRenderer) -> None:
    mail = renderer.render_reply(name="Karim", sections=[FAST], urgent=False, urgency_reasons=[])
    assert DO_NOT_WAIT not in mail.text and 'role="alert"' not in mail.html
    assert mail.text.split("\n")[2] == "Dear Karim,"


def test_every_patient_mail_carries_the_emergency_line_with_the_configured_number(
    renderer: MailRenderer,
) -> None:
    mails = every_mail(renderer, name="Karim", question="Why?")
    for kind, mail in mails.items():
        patient = not kind.startswith(("staff_alert", "digest"))
        assert (EMERGENCY_LINE in " ".join(mail.text.split())) is patient, kind
        assert ("data-emergency-line" in mail.html) is patient, kind
        assert ("call <strong>112</strong> or your local emergency number" in mail.html) is patient
        assert ("The Patient Service Team" in mail.html) is patient, kind


def test_reply_without_sections_is_marked_for_staff_to_complete(renderer: MailRenderer) -> None:
    empty = renderer.render_reply(name="Karim", sections=[], urgent=False, urgency_reasons=[])
    assert STAFF_PLACEHOLDER in empty.text and STAFF_PLACEHOLDER in empty.html
    assert "Thank you for your message" in empty.text
    assert parse(empty.html).hrefs == []
    urgent = renderer.render_reply(name="Karim", sections=[], urgent=True, urgency_reasons=[])
    assert urgent.text.index(DO_NOT_WAIT) < urgent.text.index(STAFF_PLACEHOLDER)
    answered = renderer.render_reply(
        name="Karim", sections=[FAST], urgent=False, urgency_reasons=[]
    )
    assert STAFF_PLACEHOLDER not in answered.text and STAFF_PLACEHOLDER not in answered.html


def test_reply_quotes_the_question_below_the_answer(renderer: MailRenderer) -> None:
    mail = renderer.render_reply(
        name="Karim",
        sections=[FAST],
        urgent=False,
        urgency_reasons=[],
        question="Line one\nLine two",
    )
    assert mail.text.endswith("Your message:\n> Line one\n> Line two\n")
    assert "Line one<br>Line two" in mail.html
    no_question = renderer.render_reply(
        name="Karim", sections=[FAST], urgent=False, urgency_reasons=[]
    )
    assert "Your message:" not in no_question.text


def test_html_carries_its_styles_inline(renderer: MailRenderer) -> None:
    for kind, mail in every_mail(renderer, name="Karim", question="Why?").items():
        assert "<style" not in mail.html and "<link" not in mail.html, kind
        assert re.search(r'<body style="[^"]*font-family', mail.html), kind
        assert re.search(r'<div class="page" style="[^"]*max-width: 600px', mail.html), kind
        assert "<table" not in mail.html, kind
    urgent = renderer.render_reply(name="K", sections=[], urgent=True, urgency_reasons=[])
    assert re.search(r'<div class="emergency" role="alert" style="[^"]*border-left', urgent.html)


def test_text_lines_are_short_and_never_break_a_link(renderer: MailRenderer) -> None:
    long_word = "x" * 3000
    question = f"{'my calves lock up near the end of every session ' * 10}\n{long_word}"
    for kind, mail in every_mail(renderer, name="Karim", question=question).items():
        for line in mail.text.split("\n"):
            assert len(line) <= 998, kind
            if len(line) > 78:
                assert " " not in line.lstrip("> ").strip() or "x" * 100 in line, (kind, line)
        for url in text_urls(mail.text):
            assert url in (FAST.url, SODIUM.url, UNSUBSCRIBE, CONVERSATION) or url.startswith(
                "https://inbox.kidney-hospital.example"
            ), (kind, url)
    mail = renderer.render_reply(
        name="Karim", sections=[FAST], urgent=False, urgency_reasons=[], question=long_word
    )
    quoted = [line for line in mail.text.split("\n") if line.startswith(">")]
    assert "".join(line.removeprefix("> ") for line in quoted) == long_word


def test_automatic_patient_mails_offer_unsubscribe_and_replies_do_not(
    renderer: MailRenderer,
) -> None:
    mails = every_mail(renderer, name="Karim", question="Why?")
    for kind, mail in mails.items():
        automatic = kind.startswith(("acknowledgement", "follow_up"))
        assert (UNSUBSCRIBE in parse(mail.html).hrefs) is automatic, kind
        assert (UNSUBSCRIBE in mail.text) is automatic, kind


def test_acknowledgement_says_when_to_expect_a_reply(renderer: MailRenderer) -> None:
    routine = renderer.render_acknowledgement(
        name="Karim", urgent=False, reply_within="two working days", unsubscribe_url=UNSUBSCRIBE
    )
    assert (
        "reply to you within two working days" in flat(routine.text)
        and DO_NOT_WAIT not in routine.text
    )
    urgent = renderer.render_acknowledgement(
        name="Karim", urgent=True, reply_within="two working days", unsubscribe_url=UNSUBSCRIBE
    )
    assert urgent.text.index(DO_NOT_WAIT) < urgent.text.index("Dear Karim,")
    assert urgent.html.index('role="alert"') < urgent.html.index("Dear Karim,")


def test_follow_up_checks_in_and_links_the_sections_again(renderer: MailRenderer) -> None:
    mail = renderer.render_follow_up(
        name="Karim", sections=[FAST, SODIUM], unsubscribe_url=UNSUBSCRIBE
    )
    assert "Has the problem eased" in flat(mail.text) and "reply to this e-mail" in flat(mail.text)
    assert parse(mail.html).hrefs == [FAST.url, SODIUM.url, UNSUBSCRIBE]
    bare = renderer.render_follow_up(name="Karim", sections=[], unsubscribe_url=UNSUBSCRIBE)
    assert parse(bare.html).hrefs == [UNSUBSCRIBE]


def test_staff_alert_gives_reason_time_and_link_but_no_patient(renderer: MailRenderer) -> None:
    received = datetime(2026, 11, 24, 22, 5, tzinfo=timezone(timedelta(hours=1)))
    mail = renderer.render_staff_alert(
        conversation_url=CONVERSATION,
        reasons=["chest_pain", "fainting"],
        received_at=received,
    )
    assert mail.subject == "Urgent message waiting in the Kidney Disease Hospital inbox"
    assert "24 Nov 2026, 21:05 UTC" in mail.text
    assert "Why it was flagged: chest pain and fainting." in mail.text
    assert parse(mail.html).hrefs == [CONVERSATION]


def test_digest_lists_urgent_then_oldest_and_counts_in_the_subject(
    renderer: MailRenderer,
) -> None:
    items = [
        {"conversation_url": f"{CONVERSATION}1", "age_hours": 26, "urgent": False},
        {"conversation_url": f"{CONVERSATION}2", "age_hours": 80, "urgent": False},
        DigestItem(conversation_url=f"{CONVERSATION}3", age_hours=25, urgent=True),
    ]
    mail = renderer.render_digest(items=items, older_than_hours=24)
    assert mail.subject.startswith("3 messages waiting over 24 hours (1 urgent)")
    hrefs = parse(mail.html).hrefs
    assert hrefs[:3] == [f"{CONVERSATION}3", f"{CONVERSATION}2", f"{CONVERSATION}1"]
    assert "URGENT, waiting 1 day 1 hour:" in mail.text
    assert "waiting 3 days:" in mail.text and "waiting 1 day 2 hours:" in mail.text
    empty = renderer.render_digest(items=[], older_than_hours=24)
    assert empty.subject.startswith("0 messages") and "No message has waited" in empty.text


def test_links_that_are_not_web_addresses_are_refused(renderer: MailRenderer) -> None:
    broken = make_section(anchor="x", title="X", summary="Y")
    hostile = replace(broken, url="javascript:alert(1)")
    with pytest.raises(TemplateProblem):
        renderer.render_reply(name="K", sections=[hostile], urgent=False, urgency_reasons=[])
    with pytest.raises(TemplateProblem):
        renderer.render_acknowledgement(
            name="K", urgent=False, reply_within="a day", unsubscribe_url="/unsubscribe/x"
        )


def test_operator_template_folder_overrides_the_shipped_one(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    (folder / "reply.subject.txt").write_text("Our answer from {{ hospital_name }}\n")
    settings = Settings(
        email_templates_dir=folder,
        hospital_name="St Elsewhere Renal Unit",
        signature="Nurse Team B",
    )
    mail = MailRenderer.from_settings(settings).render_reply(
        name="Karim", sections=[FAST], urgent=False, urgency_reasons=[]
    )
    assert mail.subject == "Our answer from St Elsewhere Renal Unit"
    assert "Nurse Team B" in mail.text and "St Elsewhere Renal Unit" in mail.html
