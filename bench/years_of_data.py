"""Years of a hospital's inbox for bench/inbox.py: N conversations (a contact, a conversation and
one message each, drafts for those in review, one in twenty assigned to the staff member who
signs in), made up reproducibly and loaded in bulk: the driver's executemany in one transaction
on SQLite (then the full-text index of the new messages, as the worker does), COPY on PostgreSQL
(the GIN index of the stored search document built once after the load, then ANALYZE)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from inbox.config import Settings
from inbox.conversations.models import Contact, Conversation, Message
from inbox.db import session_scope
from inbox.drafting.models import Draft
from inbox.review import search
from inbox.staff.service import create_staff

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BENCH_STAFF_ID = 1
YEARS = 3
PASSWORD = "bench password 1234"
CHUNK = 20_000
STATES = [  # (state, share): years of data are mostly answered
    ("review", 0.08),
    ("queued", 0.01),
    ("sent", 0.55),
    ("failed", 0.01),
    ("closed", 0.25),
    ("spam", 0.10),
]
_FIRST = (
    "Ann Karim Linda Zoë Omar Mei Ivan Fatima Peter Olga Juan Amara Tomasz Priya Hans Aisha "
    "Liam Noor Sven Carmen Yusuf Elena Kwame Ines Raj Hana Diego Sara Ali Ruth"
)
_LAST = (
    "Haddad Morales Brontë Nguyen Kowalski Okafor Schmidt Rossi Patel Ivanova Garcia Smith "
    "Müller Chen Dubois Jensen Costa Yilmaz Novak Sato Mensah Andersen Silva Fischer Khan "
    "Lopez Weber Moreau Tanaka Kaya"
)
FIRST, LAST = _FIRST.split(), _LAST.split()
SUBJECTS = [
    "Cramps at the end of dialysis",
    "Leg cramps",
    "Question about my dry weight",
    "My mother's cramps",
    "Sodium profile",
    "Itching at night",
    "Fluid removal",
    "Cramping during treatment",
    "Low blood pressure",
    "Magnesium question",
    "Follow-up",
    "Question",
    "Help please",
    "Dialysis and potassium",
    "Calf pain after session",
]
SENTENCES = [
    "Near the end of every session my {part} cramps badly.",
    "They took {litres} litres off last time and I gained {kg} kg between sessions.",
    "My {relative} has cramps in the last hour of dialysis.",
    "Is it because the fluid is removed too fast?",
    "The nurse said my dry weight may be too low.",
    "My potassium was {lab} and magnesium {lab2} at the last blood test.",
    "I drink about {litres} litres a day, is that too much?",
    "Stretching helps a little but the pain comes back.",
    "Could the sodium in the dialysate be the reason?",
    "I feel dizzy and tired after the treatment.",
    "My skin itches at night and I cannot sleep.",
    "Thank you for the article, it was very helpful.",
    "We go to the unit three times a week.",
    "Should I ask the doctor about quinine or vitamin E?",
    "The cramps started after my dry weight was lowered.",
    "Please answer soon, I am worried.",
]


def filled_address(engine: sa.Engine, total: int) -> str | None:
    """The searched address when the database already holds this bench's `total` conversations
    (a kept one); None when it is empty. Anything else is an error: it is not ours."""
    with engine.connect() as connection:
        found = connection.execute(sa.select(sa.func.max(Conversation.id))).scalar() or 0
        if found == 0:
            return None
        if found != total:
            raise SystemExit(f"the kept database holds {found:,} conversations, not {total:,}")
        table = Contact.__table__  # type: ignore[attr-defined]
        return connection.execute(
            sa.select(table.c.email).where(table.c.id == total // 2)
        ).scalar_one()


def rows(
    total: int, section_ids: list[str], seed: int = 7
) -> Iterator[tuple[dict, dict, dict, dict | None]]:
    """(contact, conversation, message, draft or None) for ids 1..total, reproducibly."""
    rng = random.Random(seed)
    weights = [share for _, share in STATES]
    states = [state for state, _ in STATES]
    span = YEARS * 365 * 86400
    for ident in range(1, total + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}"
        email = f"{first.lower()}.{last.lower()}{ident}@example.org"
        state = rng.choices(states, weights)[0]
        # review mail is recent; the rest is spread over the years
        age = rng.uniform(0, 14 * 86400) if state in ("review", "queued") else rng.uniform(0, span)
        at = NOW - timedelta(seconds=age)
        urgent = state == "review" and rng.random() < 0.06 or rng.random() < 0.01
        subject = rng.choice(SUBJECTS)
        fill = {
            "part": rng.choice(["calf", "foot", "thigh", "hand"]),
            "litres": rng.choice(["1.5", "2", "3", "4"]),
            "kg": rng.choice(["2", "3", "4"]),
            "relative": rng.choice(["father", "mother", "husband", "wife", "son"]),
            "lab": f"{rng.uniform(3, 7):.1f}",
            "lab2": f"{rng.uniform(0.5, 1.2):.2f}",
        }
        body = " ".join(s.format(**fill) for s in rng.sample(SENTENCES, rng.randint(2, 5)))
        replied = state in ("sent", "closed", "queued", "failed")
        assignee = BENCH_STAFF_ID if ident % 20 == 0 else None
        contact = {"id": ident, "email": email, "name": name, "created_at": at}
        conversation = {
            "id": ident,
            "contact_id": ident,
            "subject": subject,
            "state": state,
            "urgent": urgent,
            "created_at": at,
            "updated_at": at,
            "last_message_at": at,
            "first_reply_at": at + timedelta(hours=rng.uniform(1, 48)) if replied else None,
            "closed_at": None,
            "assignee_id": assignee,
        }
        message = {
            "id": ident,
            "conversation_id": ident,
            "contact_id": ident,
            "name": name,
            "email": email,
            "subject": subject,
            "body": body,
            "source_page": None,
            "channel": "form",
            "client_ip": None,
            "user_agent": None,
            "received_at": at,
            "status": "spam" if state == "spam" else "accepted",
            "spam_reason": None,
            "duplicate_of_id": None,
            "duplicate_count": 0,
            "fingerprint": f"{ident:064x}",
            "urgent": urgent,
            "drafted_at": at,
        }
        draft = None
        if state == "review":
            sections = rng.sample(section_ids, min(len(section_ids), rng.randint(1, 3)))
            draft = {
                "id": ident,
                "conversation_id": ident,
                "message_id": ident,
                "suggested": [],
                "section_ids": sections,
                "urgent": urgent,
                "urgency_reasons": [],
                "subject": "Your message to the hospital",
                "text_body": "Dear patient, …",
                "html_body": "<p>Dear patient, …</p>",
                "edited": False,
                "version": 1,
                "created_at": at,
                "updated_at": at,
                "updated_by_id": None,
            }
        yield contact, conversation, message, draft


TABLES = (Contact.__table__, Conversation.__table__, Message.__table__, Draft.__table__)


def fill(engine: sa.Engine, backend: str, total: int) -> dict:
    counts: dict = {"messages": 0, "drafts": 0, "address": ""}
    batch: list[list[dict]] = [[], [], [], []]
    with session_scope(engine) as session:  # the owner of "Mine", who signs in to measure
        staff = create_staff(session, email="bench@hospital.example", password=PASSWORD, now=NOW)
        assert staff.id == BENCH_STAFF_ID
    if backend == "postgresql":  # build the search index once, after the load
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP INDEX {search.PG_DOCUMENT_INDEX}")
        sqlite_transaction = None
    else:  # one transaction for the whole load: one commit, one journal sync
        sqlite_connection = engine.connect()
        # the load inserts into indexes in random order: a page cache that holds them, not 2 MB
        sqlite_connection.exec_driver_sql("PRAGMA cache_size = -400000")
        sqlite_connection.commit()  # (the pragma began SQLAlchemy's transaction)
        sqlite_transaction = sqlite_connection.begin()

    def flush() -> None:
        for table, items in zip(TABLES, batch, strict=True):
            if items:
                if sqlite_transaction is None:
                    _copy(engine, table, items)
                else:
                    _executemany(sqlite_connection, table, items)
                items.clear()

    for contact, conversation, message, draft in rows(total, _section_ids()):
        batch[0].append(contact)
        batch[1].append(conversation)
        batch[2].append(message)
        counts["messages"] += 1
        if contact["id"] == total // 2:
            counts["address"] = contact["email"]  # one patient's whole address, to search for
        if draft:
            batch[3].append(draft)
            counts["drafts"] += 1
        if len(batch[0]) >= CHUNK:
            flush()
    flush()
    if sqlite_transaction is not None:
        sqlite_transaction.commit()
        sqlite_connection.close()
    with engine.begin() as connection:
        if backend == "postgresql":
            index, document = search.PG_DOCUMENT_INDEX, search.PG_DOCUMENT_COLUMN
            connection.exec_driver_sql(f"CREATE INDEX {index} ON message USING gin ({document})")
            for table in TABLES:
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
        else:  # what the worker does after intake: index the new messages for search
            search.index_new_messages(connection)
    if backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    return counts


def _executemany(connection: sa.Connection, table: sa.Table, items: list[dict]) -> None:
    """SQLite: the rows through the driver's executemany, each value converted by its column's
    own type (times, JSON, booleans) as an ORM insert would; SQLAlchemy's per-row work was most
    of the load's time."""
    columns = list(items[0])
    convert = [table.c[name].type.bind_processor(connection.dialect) for name in columns]
    rows = [
        tuple(
            way(value) if way else value for way, value in zip(convert, item.values(), strict=True)
        )
        for item in items
    ]
    marks = ", ".join("?" for _ in columns)
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows)


def _copy(engine: sa.Engine, table: sa.Table, items: list[dict]) -> None:
    columns = list(items[0])
    raw = engine.raw_connection()
    try:
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for item in items:
                copy.write_row([json.dumps(v) if isinstance(v, list) else v for v in item.values()])
        raw.commit()
    finally:
        raw.close()


def _section_ids() -> list[str]:
    from inbox.knowledge.loader import load_knowledge

    settings = Settings(_env_file=None)
    knowledge = load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)
    return [section.id for section in knowledge.sections()]
