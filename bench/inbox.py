"""Server time of the staff inbox with years of data: the list, a filtered list, a search and
the "Mine" tab.

Fills a database with N conversations (default 1,000,000; what they are and how they are
loaded in bulk: bench/years_of_data.py) on SQLite (a temp file) and PostgreSQL (a temp database
on INBOX_BENCH_POSTGRES, default postgresql://postgres@127.0.0.1:5432, dropped at the end;
skipped with the reason when unreachable).

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
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from bench.databases import postgres_database  # noqa: E402
from bench.years_of_data import NOW, PASSWORD, fill, filled_address  # noqa: E402
from inbox.clock import FrozenClock  # noqa: E402
from inbox.config import Settings  # noqa: E402
from inbox.db import create_db_engine, upgrade  # noqa: E402
from inbox.main import create_app  # noqa: E402
from inbox.runtime import build_runtime  # noqa: E402


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
        address = filled_address(engine, args.conversations)
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


if __name__ == "__main__":
    main()
