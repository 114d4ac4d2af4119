"""Search in the inbox: by name, e-mail, subject and text; AND of words, prefixes; safe input."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from inbox.conversations.models import ConversationState, Message
from inbox.db import session_scope
from inbox.review import search, vocabulary
from tests.review.test_list import (  # noqa: F401
    add_conversation,
    listed_ids,
    next_link,
    search_link,
    searched,
    signed_in,
)


@pytest.fixture(params=["few hits", "many hits"])
def strategy(request, monkeypatch, runtime) -> str:
    """Run each search both ways: from the hits, and walking the list (chosen by the number of
    hits: counted on SQLite, estimated by PostgreSQL)."""
    if request.param == "many hits":
        monkeypatch.setattr(search, "DENSE_MATCHES", 0)
    return request.param


@pytest.fixture
def people(runtime, strategy) -> dict[str, int]:
    now = runtime.clock.now()
    return {
        "karim": add_conversation(
            runtime,
            name="Karim Haddad",
            email="karim.h@example.com",
            subject="Cramps at the end",
            body="Near the end of every session my calf goes hard.",
            at=now - timedelta(hours=1),
        ),
        "linda": add_conversation(
            runtime,
            name="Linda Morales",
            email="lmorales58@example.net",
            subject="Mom's dry weight",
            body="Since her dry weight was lowered she cramps.",
            at=now - timedelta(hours=2),
            state=ConversationState.SENT,
        ),
        "zoe": add_conversation(
            runtime,
            name="Zoë Brontë",
            email="zb@mail.example.org",
            subject="Itching skin",
            body="My skin itches at night; is phosphate the cause?",
            at=now - timedelta(hours=3),
        ),
    }


CASES = [
    ("Haddad", {"karim"}),  # name
    ("karim.h@example.com", {"karim"}),  # whole e-mail address
    ("lmorales58", {"linda"}),  # e-mail, start
    ("weight", {"linda"}),  # subject
    ("phosphate", {"zoe"}),  # text
    ("PHOSPHATE itches", {"zoe"}),  # every word, any case
    ("cramp", {"karim", "linda"}),  # a prefix: cramps, Cramps
    ("cramps lowered", {"linda"}),  # words from subject and text of one conversation
    ("Brontë", {"zoe"}),
    ("dialysate", set()),  # nobody wrote it
    ("karim phosphate", set()),  # two people, not one
]


def test_search_finds_the_right_conversations(signed_in, people):  # noqa: F811
    for query, who in CASES:
        page = searched(signed_in, query)
        assert page.status_code == 200
        assert set(listed_ids(page.text)) == {people[name] for name in who}, query


@pytest.mark.sqlite_only  # the word list is SQLite's
def test_search_words_that_start_too_many_index_words_find_the_same(
    signed_in,  # noqa: F811
    people,
    monkeypatch,
):
    """Every prefix left to FTS5's own prefix query (as a surname whose addresses start
    thousands of index words), its hits first counted by the whole word alone."""
    monkeypatch.setattr(vocabulary, "MAX_WORDS", 0)
    for query, who in CASES:
        page = searched(signed_in, query)
        assert set(listed_ids(page.text)) == {people[name] for name in who}, query


def test_search_within_a_tab(signed_in, people):  # noqa: F811
    page = searched(signed_in, "cramps", tab="sent")
    assert listed_ids(page.text) == [people["linda"]]
    assert '<input type="hidden" name="tab" value="sent">' in page.text  # the next search too


def test_search_from_the_default_page_looks_in_every_state(signed_in, people):  # noqa: F811
    assert 'name="tab"' not in signed_in.get("/inbox").text
    page = searched(signed_in, "cramps")
    assert set(listed_ids(page.text)) == {people["karim"], people["linda"]}  # review and sent
    assert 'aria-current="page">All' in page.text


def test_search_finds_a_later_message_of_the_conversation(signed_in, runtime, people):  # noqa: F811
    with session_scope(runtime.engine) as session:
        session.execute(
            sa.insert(Message.__table__).values(
                conversation_id=people["karim"],
                name="Karim Haddad",
                email="karim.h@example.com",
                subject="Cramps at the end",
                body="The nurse changed my sodium profile.",
                received_at=runtime.clock.now(),
                fingerprint="second",
            )
        )
    page = searched(signed_in, "sodium")
    assert listed_ids(page.text) == [people["karim"]]


def test_edited_and_deleted_messages_leave_the_index(signed_in, runtime, people):  # noqa: F811
    table = Message.__table__
    with session_scope(runtime.engine) as session:
        session.execute(
            sa.update(table).where(table.c.conversation_id == people["zoe"]).values(body="[erased]")
        )
    assert listed_ids(searched(signed_in, "phosphate").text) == []
    assert listed_ids(searched(signed_in, "erased").text) == [people["zoe"]]
    with session_scope(runtime.engine) as session:
        session.execute(sa.delete(table).where(table.c.conversation_id == people["zoe"]))
    assert listed_ids(searched(signed_in, "erased").text) == []


def test_a_word_an_edit_brings_is_found_by_its_start(signed_in, runtime, people, monkeypatch):  # noqa: F811
    """SQLite looks a search word up as the whole words of the index it starts: the words an
    edit brings count too, and a start of very many words is searched as FTS5's prefix."""
    from inbox.review import vocabulary

    answered = {people["karim"], people["linda"]}
    assert set(listed_ids(searched(signed_in, "cramp").text)) == answered  # indexed now
    table = Message.__table__
    with session_scope(runtime.engine) as session:
        session.execute(
            sa.update(table)
            .where(table.c.conversation_id == people["zoe"])
            .values(body="Cramping in both legs since Monday.")
        )
    assert set(listed_ids(searched(signed_in, "cramp").text)) == answered | {people["zoe"]}
    assert listed_ids(searched(signed_in, "crampi").text) == [people["zoe"]]
    monkeypatch.setattr(vocabulary, "MAX_WORDS", 1)  # "cramp" starts two words now
    assert set(listed_ids(searched(signed_in, "cramp").text)) == answered | {people["zoe"]}


@pytest.mark.sqlite_only  # PostgreSQL indexes each row as it is written
def test_edits_and_deletes_after_indexing_keep_the_sqlite_index_true(signed_in, runtime, people):  # noqa: F811
    table = Message.__table__
    assert listed_ids(searched(signed_in, "phosphate").text) == [people["zoe"]]
    with session_scope(runtime.engine) as session:  # zoe's message is indexed now
        session.execute(
            sa.update(table).where(table.c.conversation_id == people["zoe"]).values(body="[erased]")
        )
    assert listed_ids(searched(signed_in, "phosphate").text) == []
    assert listed_ids(searched(signed_in, "erased").text) == [people["zoe"]]
    with session_scope(runtime.engine) as session:  # the newest message: SQLite reuses its id
        session.execute(sa.delete(table).where(table.c.conversation_id == people["zoe"]))
    newcomer = add_conversation(runtime, body="Is a potassium binder safe with my tablets?")
    assert listed_ids(searched(signed_in, "potassium").text) == [newcomer]
    assert listed_ids(searched(signed_in, "erased").text) == []
    with runtime.engine.begin() as connection:  # FTS5 compares its index with the table
        connection.exec_driver_sql(
            "INSERT INTO message_fts(message_fts) VALUES ('integrity-check')"
        )


@pytest.mark.sqlite_only  # PostgreSQL indexes each row as it is written
def test_the_worker_indexes_new_messages_before_anyone_searches(signed_in, runtime, people):  # noqa: F811
    assert search.index_job(runtime) == 1  # the three people's messages
    assert search.index_job(runtime) == 0  # nothing new
    with runtime.engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT count(*) FROM message_fts WHERE message_fts MATCH 'phosphate'"
        ).scalar_one()
    assert found == 1


def test_query_syntax_typed_by_staff_is_just_words(signed_in, people):  # noqa: F811
    for query in [
        '"',
        "_",
        "a_b ___",
        "AND OR NOT",
        "NEAR(a b)",
        "col:word",
        "a* ^b",
        "'); DROP TABLE message; --",
        "!(&|)",
        "x" * 500,
        "\u0000",
        ":*",
        "a & b | !c",
        "@",
        "a@",
        "'@'",
    ]:
        assert searched(signed_in, query).status_code == 200, query
    assert set(listed_ids(signed_in.get("/inbox").text)) == {people["karim"], people["zoe"]}


def test_search_text_is_escaped_in_the_page(signed_in, people):  # noqa: F811
    page = searched(signed_in, "<script>alert(1)</script>")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text


def test_many_results_are_paged_without_repeats(signed_in, runtime, strategy):  # noqa: F811
    now = runtime.clock.now()
    expected = {
        add_conversation(
            runtime, body=f"question {index} about cramps", at=now - timedelta(minutes=index)
        )
        for index in range(30)
    }
    add_conversation(runtime, subject="Other", body="nothing relevant")
    first = searched(signed_in, "cramps")
    ids = listed_ids(first.text)
    assert len(ids) == 25
    ids += listed_ids(signed_in.get(next_link(first.text)).text)
    assert sorted(ids) == sorted(expected)


def test_terms_are_cleaned_to_words():
    assert search.search_terms("  Ann  O'Brien ann@example.org  ") == [
        "ann",
        "o brien",
        "ann@example.org",
    ]
    assert search.search_terms('"NEAR(" * :') == ["near"]
    assert len(search.search_terms(" ".join(f"w{index}" for index in range(20)))) == 8


@pytest.mark.postgresql_only  # SQLite searches its FTS5 table
def test_postgresql_search_uses_the_gin_index(runtime):
    from sqlmodel import Session

    from inbox.conversations.models import Conversation

    with Session(runtime.engine) as session:
        condition = search.conversation_filter(session, ["cramps"], Conversation.__table__.c.id)
    matching = sa.select(Conversation.__table__.c.id).where(condition)
    sql = matching.compile(runtime.engine, compile_kwargs={"literal_binds": True})
    with runtime.engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = connection.exec_driver_sql(f"EXPLAIN {sql}").scalars().all()
    assert any("ix_message_search" in line for line in plan), plan


@pytest.mark.postgresql_only  # SQLite plans every statement for its values
def test_postgresql_list_and_search_statements_carry_no_parameters(signed_in, runtime, people):  # noqa: F811
    """psycopg prepares a statement run five times; PostgreSQL may then plan it without the
    values and walk every conversation for a search. Values in the text rule that out."""
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "AS page" in statement:  # the page of conversations (list_conversations)
            seen.append((statement, parameters))

    link = search_link(signed_in, "cramps", tab="all")  # the posting lists a page too
    sa.event.listen(runtime.engine, "before_cursor_execute", remember)
    try:
        first = signed_in.get(link)
        signed_in.get("/inbox", params={"tab": "review"})
        assert first.status_code == 200
    finally:
        sa.event.remove(runtime.engine, "before_cursor_execute", remember)
    assert len(seen) == 2
    for statement, parameters in seen:
        assert not parameters, statement


@pytest.mark.postgresql_only  # SQLite counts the hits in FTS5
def test_postgresql_starts_from_few_hits_and_walks_for_many(runtime, monkeypatch):
    """A word PostgreSQL expects on few messages is searched from its hits, fenced off (OFFSET 0)
    so that the planner cannot walk the whole list testing each message; a common word walks."""
    from sqlmodel import Session

    from inbox.conversations.models import Conversation

    def statement() -> str:
        with Session(runtime.engine) as session:
            condition = search.conversation_filter(session, ["haddad"], Conversation.__table__.c.id)
        query = sa.select(Conversation.__table__.c.id).where(condition)
        return str(query.compile(runtime.engine, compile_kwargs={"literal_binds": True}))

    assert "OFFSET 0" in statement()
    monkeypatch.setattr(search, "DENSE_MATCHES", 0)  # every estimate is at least one row
    assert "OFFSET" not in statement()
