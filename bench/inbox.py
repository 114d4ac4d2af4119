"""Server time of the staff inbox with years of data: the list, a filtered list, a search and
the "Mine" tab.

Fills a database with N conversations (default 1,000,000: a contact, a conversation and one
message each, drafts for those in review, one in twenty assigned to the staff member who signs
in) on SQLite (a temp file) and PostgreSQL (a temp database on INBOX_BENCH_POSTGRES, default
postgresql://postgres@127.0.0.1:5432, dropped at the end; skipped with the reason when
unreachable). Bulk load: the driver's executemany in one transaction on SQLite (then the
full-text index and word list of the new messages, as the worker does), COPY on PostgreSQL (the
GIN index of the stored search document built once after the load), then ANALYZE
on PostgreSQL as autovacuum would.

What is timed: whole requests through the real ASGI app in this process (Starlette TestClient,
signed in as staff: session lookup, query, template, middleware), no network. Reference in the
same run: GET /healthz through the same client (the app's floor) and a bare `SELECT 1` on the
same engine; ratios are to /healthz. Goal: p95 <= 50 ms. A search is posted once (the words stay
out of URLs) and its results page, carrying the kept search's id, is what is timed.

    python bench/inbox.py                     # 1,000,000 conversations, both databases
    python bench/inbox.py --conversations 20000 --samples 60
    python bench/inbox.py --skip-sqlite       # one database at a time (--skip-postgres)
    python bench/inbox.py --keep /var/tmp/inbox-1m   # fill once, measure again and again

With --keep PREFIX the SQLite file is PREFIX.sqlite and the PostgreSQL database is named after
PREFIX; both stay after the run and a later run with the same PREFIX and --conversations measures
them again without filling (upgraded first, so new migrations' indexes are there).

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from bench.databases import postgres_database  # noqa: E402
from inbox.clock import FrozenClock  # noqa: E402
from inbox.config import Settings  # noqa: E402
from inbox.conversations.models import Contact, Conversation, Message  # noqa: E402
from inbox.db import create_db_engine, session_scope, upgrade  # noqa: E402
from inbox.drafting.models import Draft  # noqa: E402
from inbox.main import create_app  # noqa: E402
from inbox.review import search  # noqa: E402
from inbox.runtime import build_runtime  # noqa: E402
from inbox.staff.service import create_staff  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=150, help="requests per measurement")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("INBOX_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--keep", metavar="PREFIX", help="keep the filled databases and reuse them next time"
    )
    args = parser.parse_args()

    result: dict = {"bench": "inbox", "conversations": args.conversations}
    print(
        "timing whole requests through the ASGI app in this process (TestClient, signed in as "
        f"staff), {args.samples} per measurement; reference: GET /healthz the same way"
    )
    if args.skip_sqlite:
        result["sqlite"] = {"skipped": "--skip-sqlite"}
    else:
        result["sqlite"] = _sqlite(args)
    if args.skip_postgres:
        result["postgresql"] = {"skipped": "--skip-postgres"}
    else:
        kept = _kept_name(args.keep) if args.keep else None
        with postgres_database(args.postgres, prefix="inbox_bench", kept=kept) as (url, reason):
            if url is None:
                print(f"\n== postgresql skipped: {reason}", flush=True)
            result["postgresql"] = (
                run_backend("postgresql", url, args) if url else {"skipped": reason}
            )
    print(json.dumps(result))


def _sqlite(args: argparse.Namespace) -> dict:
    if args.keep:
        return run_backend("sqlite", f"sqlite:///{Path(args.keep).resolve()}.sqlite", args)
    with tempfile.TemporaryDirectory(prefix="inbox-bench-") as folder:
        return run_backend("sqlite", f"sqlite:///{folder}/inbox.db", args)


def _kept_name(prefix: str) -> str:
    return "inbox_bench_" + re.sub(r"\W+", "_", Path(prefix).name).lower()


def run_backend(name: str, url: str, args: argparse.Namespace) -> dict:
    print(f"\n== {name}: {args.conversations:,} conversations", flush=True)
    started = time.perf_counter()
    upgrade(url)
    engine = create_db_engine(url, pooled=False, bounded=False)
    try:
        address = _filled_address(engine, args.conversations)
        if address is None:
            loaded = fill(engine, name, args.conversations)
            address = loaded["address"]
            print(
                f"   filled in {time.perf_counter() - started:.1f} s "
                f"({loaded['messages']:,} messages, {loaded['drafts']:,} drafts)",
                flush=True,
            )
        else:
            print("   reusing the kept database", flush=True)
    finally:
        engine.dispose()
    return measure(url, args.samples, address=address)


def _filled_address(engine: sa.Engine, total: int) -> str | None:
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


# --- filling


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


# --- measuring


def measure(url: str, samples: int, *, address: str) -> dict:
    settings = Settings(
        _env_file=None,
        database_url=url,
        secret_key="bench-only-9f8e7d6c5b4a3f2e1d0cB9A8C7D6E5F4a3b2c1d0",
        run_worker=False,
        mail_catcher=False,
        public_url="http://testserver",
        login_attempts_per_15min=1000,
    )
    runtime = build_runtime(settings, clock=FrozenClock(NOW))
    app = create_app(runtime=runtime)
    figures: dict = {}
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        signed = client.post(
            "/login",
            data={"email": "bench@hospital.example", "password": PASSWORD, "csrf_token": token},
        )
        assert signed.status_code == 303, signed.text[:300]

        def get(path: str) -> Callable[[], None]:
            def call() -> None:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)

            return call

        list_pages = _page_chain(client, "/inbox", 5)  # page 1 and the next four, by keyset
        filters = [f"/inbox?tab={tab}" for tab in ("urgent", "failed", "sent", "closed")]
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/inbox").text).group(1)
        searches = {
            label: _kept_search(client, token, words)
            for label, words in {
                "surname": "Kowalski",
                "address": address,
                "subject word": "magnesium",
                "common word": "cramps",
                "two words": "dizzy tired",
            }.items()
        }
        mine = _page_chain(client, "/inbox?tab=mine", 3)
        deep = _page_chain(client, "/inbox?tab=sent", 40)[-1]

        def select_one() -> None:
            with runtime.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1").scalar()

        plan = {
            "healthz (reference)": [get("/healthz")],
            "SELECT 1 (reference)": [select_one],
            "list": [get(path) for path in list_pages],
            "filter": [get(path) for path in filters],
            "search": [get(path) for path in searches.values()],
            "mine": [get(path) for path in mine],
            "sent tab, page 40": [get(deep)],
            **{f"search: {label}": [get(path)] for label, path in searches.items()},
            **{f"filter: {path.split('=')[1]}": [get(path)] for path in filters},
        }
        for label, calls in plan.items():
            figures[label] = _time(calls, samples)
    runtime.engine.dispose()

    reference = figures["healthz (reference)"]["p95"]
    print(f"   {'what':<26}{'p50 ms':>9}{'p95 ms':>9}{'x healthz p95':>15}")
    for label, numbers in figures.items():
        print(
            f"   {label:<26}{numbers['p50']:>9.2f}{numbers['p95']:>9.2f}"
            f"{numbers['p95'] / reference:>15.1f}"
        )
    return {
        "list_p95_ms": round(figures["list"]["p95"], 2),
        "filter_p95_ms": round(figures["filter"]["p95"], 2),
        "search_p95_ms": round(figures["search"]["p95"], 2),
        "list_p50_ms": round(figures["list"]["p50"], 2),
        "filter_p50_ms": round(figures["filter"]["p50"], 2),
        "search_p50_ms": round(figures["search"]["p50"], 2),
        "mine_p95_ms": round(figures["mine"]["p95"], 2),
        "mine_p50_ms": round(figures["mine"]["p50"], 2),
        "reference_healthz_p95_ms": round(reference, 2),
        "reference_select1_p95_ms": round(figures["SELECT 1 (reference)"]["p95"], 3),
        "list_p95_ratio": round(figures["list"]["p95"] / reference, 1),
    }


def _kept_search(client: TestClient, token: str, words: str) -> str:
    """Post a search as the list's form does; the results page's path (with the search id)."""
    posted = client.post("/inbox/search", data={"q": words, "csrf_token": token})
    assert posted.status_code == 303, posted.text[:300]
    return posted.headers["location"]


def _page_chain(client: TestClient, start: str, pages: int) -> list[str]:
    """`start` and the pages after it, following the "Next page" links."""
    chain = [start]
    while len(chain) < pages:
        found = re.search(r'<a href="([^"]+)" rel="next">', client.get(chain[-1]).text)
        if not found:
            break
        chain.append(found.group(1).replace("&amp;", "&"))
    return chain


def _time(calls: list[Callable[[], None]], samples: int) -> dict:
    for call in calls:  # warm caches and pools
        call()
    durations = []
    for index in range(samples):
        begin = time.perf_counter()
        calls[index % len(calls)]()
        durations.append((time.perf_counter() - begin) * 1000)
    durations.sort()
    return {
        "p50": statistics.median(durations),
        "p95": durations[min(len(durations) - 1, round(0.95 * len(durations)) - 1)],
    }


def _section_ids() -> list[str]:
    from inbox.knowledge.loader import load_knowledge

    settings = Settings(_env_file=None)
    knowledge = load_knowledge(settings.knowledge_dir(), site_base_url=settings.site_base_url)
    return [section.id for section in knowledge.sections()]


if __name__ == "__main__":
    main()
