"""An urgent draft says one thing: get help now. It never adds routine advice ("talk it over
at your next visit") that would tell a patient in an emergency that it can wait.

Every urgent message of the training corpus is stored and drafted through the real path, and
the draft's text and HTML (the patient's quoted words left aside) are read for such wording.
"""

from __future__ import annotations

import html
import re

from sqlmodel import Session

from inbox.db import session_scope
from inbox.drafting import service
from inbox.knowledge.evaluation import read_corpus
from tests.drafting.support import store_message

# wording that defers care or treats the problem as one for a later, ordinary visit
ROUTINE_ADVICE = re.compile(
    r"next (visit|appointment|check-?up|clinic)|(?<!wait for )your next (dialysis )?session"
    r"|talk (this|it) over|mention (this|it)|discuss(ed)? (this|it )?with"
    r"|regular check-?ups|(the|your) (kidney |dialysis )?(team|unit|doctor) can (check|review)"
    r"|no need to worry|nothing to worry|not urgent|can wait|no rush|when convenient"
    r"|at your convenience|treatment plan",
    re.IGNORECASE,
)
GET_HELP = "call your local emergency number or go to the nearest emergency department"


def words(text: str) -> str:
    return " ".join(text.split())


def html_words(markup: str) -> str:
    """The visible words of an HTML mail before the quoted message."""
    markup = markup.split('<div class="quote"', 1)[0]
    return words(html.unescape(re.sub(r"<[^>]+>", " ", markup)))


def test_no_urgent_draft_of_the_corpus_carries_routine_advice(runtime):
    urgent = [item for item in read_corpus() if item.urgent]
    assert len(urgent) >= 300, "the corpus has its urgent messages"
    receipts = {}
    with session_scope(runtime.engine) as session:
        for number, item in enumerate(urgent):
            receipts[item.id] = store_message(
                session,
                settings=runtime.settings,
                now=runtime.clock.now(),
                name="Sam Patient",
                email=f"patient{number}@example.com",
                subject=item.subject or "question",
                message=item.text,
            )
    contradictions: dict[str, list[str]] = {}
    for item in urgent:
        message_id = receipts[item.id].message_id
        with session_scope(runtime.engine) as session:
            service.draft_message(session, runtime=runtime, message_id=message_id)
        with Session(runtime.engine) as session:
            draft = service.get_draft(session, conversation_id=receipts[item.id].conversation_id)
            assert draft is not None
        text = words(draft.text_body.split("\nYour message:\n", 1)[0])
        page = html_words(draft.html_body)
        assert draft.urgent, f"{item.id}: an urgent message gets emergency guidance"
        assert GET_HELP in text and GET_HELP in page, item.id
        found = [match.group(0) for match in ROUTINE_ADVICE.finditer(text + " | " + page)]
        if found:
            contradictions[item.id] = found
    assert contradictions == {}, f"{len(contradictions)} urgent drafts also give routine advice"


def test_the_routine_wording_check_finds_what_a_routine_draft_says(runtime):
    """The check above is not blind: the same reading finds the routine close of a routine draft."""
    with session_scope(runtime.engine) as session:
        receipt = store_message(session, settings=runtime.settings, now=runtime.clock.now())
    with session_scope(runtime.engine) as session:
        draft = service.draft_message(session, runtime=runtime, message_id=receipt.message_id)
        assert not draft.urgent
        assert ROUTINE_ADVICE.search(words(draft.text_body))
        assert ROUTINE_ADVICE.search(html_words(draft.html_body))
