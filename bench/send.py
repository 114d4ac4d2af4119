"""Delivery throughput: mails/s from "queued in the database" to "accepted by an SMTP sink".

2,000 reply mails (text + HTML, ~1.3 KB, each in its own conversation) are enqueued with
`enqueue_mail` (not timed: the bytes are built there, once), then the REAL worker (`Worker.drain`,
default concurrency, batch claims and batch outcome writes) sends them to a local aiosmtpd sink
that discards; at the end every mail must be `sent` in the database. The sink runs in its own
process so that it does not share this process's CPU time slice (GIL) with the sender.

References measured in the same run, against the same sink:
  (a) a raw aiosmtplib loop sending the same pre-built bytes over the same number of reused
      connections: the ceiling (no database at all);
  (b) a naive loop that builds each message with the `email` package and opens a new connection
      per mail (`aiosmtplib.send`).
Goal: >= 0.7 of (a) and >= 2x (b).

The worker and (a) are measured in rounds (two by default), each round on newly enqueued mails
and in the reverse order of the one before, and the means are compared, so that a machine that
drifts favours neither. The sink's CPU share is printed beside each: when it is near a whole
core, that side was limited by the sink, not by the sender.

    python bench/send.py                                  # SQLite file in a temp dir
    python bench/send.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiosmtplib  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.databases import temp_database  # noqa: E402
from bench.load import cpu_seconds, free_port, round_order  # noqa: E402
from bench.scenario import conversation_with_reply  # noqa: E402
from inbox.clock import FrozenClock  # noqa: E402
from inbox.config import Settings  # noqa: E402
from inbox.conversations.models import ConversationState  # noqa: E402
from inbox.db import create_db_engine, session_scope  # noqa: E402
from inbox.outbox import events  # noqa: E402
from inbox.outbox.models import MailState, OutboxMail  # noqa: E402
from inbox.outbox.sender import SmtpTarget  # noqa: E402
from inbox.runtime import build_runtime  # noqa: E402
from inbox.worker import build_worker as Worker  # noqa: E402 - with the delivery listeners

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SUBJECT = "Your question to the Kidney Disease Hospital"
TEXT = (
    "Dear {name},\n\n"
    "Thank you for your message. Cramps after dialysis are treatable.\n"
    "- Fluid removed too fast: https://www.kidney-hospital.example/a/leg-cramps#fluid\n"
    "- Low-sodium dialysate: https://www.kidney-hospital.example/a/leg-cramps#sodium\n\n"
    "Kind regards,\nThe Patient Service Team\n"
)
HTML = (
    "<p>Dear {name},</p><p>Thank you for your message. Cramps after dialysis "
    'are treatable.</p><ul><li><a href="https://www.kidney-hospital.example/a/leg-cramps#fluid" '
    'style="color:#0b5">Fluid removed too fast</a></li><li><a href="https://www.kidney-hospital'
    '.example/a/leg-cramps#sodium" style="color:#0b5">Low-sodium dialysate</a></li></ul>'
    "<p>Kind regards,<br>The Patient Service Team</p>"
)
SINK = """
import asyncio, sys
from aiosmtpd.smtp import SMTP

class Discard:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

async def main(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Discard(), hostname="sink", enable_SMTPUTF8=True, loop=loop),
        "127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()

asyncio.run(main(int(sys.argv[1])))
"""


def start_sink(port: int) -> subprocess.Popen[str]:
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    return sink


def enqueue_replies(settings: Settings, count: int, *, first: int = 0) -> list[bytes]:
    """`count` reply mails, one conversation each, through the real enqueue path (patients
    `first` to `first + count - 1`); returns their bytes."""
    engine = create_db_engine(settings.database_url, pooled=False)
    with session_scope(engine) as session:
        for number in range(first, first + count):
            name = f"Patient {number}"
            conversation_with_reply(
                session,
                settings,
                email=f"patient{number}@example.org",
                name=name,
                recipient=f"{name} <patient{number}@example.org>",
                state=ConversationState.QUEUED,
                subject=SUBJECT,
                text=TEXT.format(name=name),
                html=HTML.format(name=name),
                now=NOW,
            )
    with engine.connect() as connection:
        raws = list(
            connection.execute(
                sa.select(OutboxMail.raw).where(OutboxMail.state == MailState.QUEUED)
            ).scalars()
        )
    engine.dispose()
    return raws


class HookTimer:
    """Time spent in other domains' reactions to final outcomes (events.after_deliveries)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.original = events.after_deliveries

    def __call__(self, *args: object, **kwargs: object) -> None:
        started = time.perf_counter()
        try:
            self.original(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            self.seconds += time.perf_counter() - started


async def run_worker(settings: Settings, hooks: HookTimer) -> float:
    """The real worker, until nothing is left to send; the seconds its drain took."""
    runtime = build_runtime(settings, clock=FrozenClock(NOW))
    worker = Worker(runtime, target=SmtpTarget.from_settings(settings))
    events.after_deliveries = hooks  # type: ignore[assignment]
    started = time.perf_counter()
    try:
        await worker.drain()
    finally:
        events.after_deliveries = hooks.original  # type: ignore[assignment]
    elapsed = time.perf_counter() - started
    runtime.engine.dispose()
    return elapsed


def count_sent(settings: Settings) -> int:
    engine = create_db_engine(settings.database_url, pooled=False)
    with engine.connect() as connection:
        sent = connection.execute(
            sa.select(sa.func.count()).where(OutboxMail.state == MailState.SENT)
        ).scalar_one()
    engine.dispose()
    return sent


async def run_reused(port: int, raws: list[bytes], connections: int) -> float:
    """(a) the same bytes over `connections` reused connections, no database."""
    pending = list(reversed(raws))

    async def one_connection() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        number = 0
        while pending:
            pending.pop()
            await client.sendmail(
                "patient-service@kidney-hospital.example",
                [f"patient{number}@example.org"],
                raws[number % len(raws)],
            )
            number += 1
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return time.perf_counter() - started


async def run_naive(port: int, count: int, sender: str) -> float:
    """(b) build each message with the email package, one new connection per mail."""
    started = time.perf_counter()
    for number in range(count):
        name = f"Patient {number}"
        message = EmailMessage()
        message["From"] = sender
        message["To"] = f"{name} <patient{number}@example.org>"
        message["Subject"] = SUBJECT
        message["Message-ID"] = f"<{uuid.uuid4().hex}@kidney-hospital.example>"
        message.set_content(TEXT.format(name=name))
        message.add_alternative(HTML.format(name=name), subtype="html")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=port, start_tls=False)
    return time.perf_counter() - started


def timed(run: Callable[[], Coroutine[Any, Any, float]], sink: subprocess.Popen[str]) -> dict:
    """The seconds `run` reports for its timed part, this process's CPU time over the whole of
    it, and the sink's CPU share meanwhile."""
    cpu, sink_cpu, started = time.process_time(), cpu_seconds(sink.pid), time.perf_counter()
    seconds = asyncio.run(run())
    wall = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu": time.process_time() - cpu,
        "sink_share": (cpu_seconds(sink.pid) - sink_cpu) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of the worker and (a), order reversed each"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server URL (default: "
        "a SQLite file in a temp dir); a temp database is created and dropped",
    )
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"worker": [], "reused": []}
    hooks = HookTimer()

    with temp_database(args.database_url, prefix="inbox-bench-send") as url:
        port = free_port()
        sink = start_sink(port)
        try:
            settings = Settings(
                _env_file=None,
                database_url=url,
                smtp_host="127.0.0.1",
                smtp_port=port,
                mail_catcher=False,
                run_worker=False,
            )
            concurrency = settings.worker_concurrency
            backend = "postgresql" if url.startswith("postgresql") else "sqlite"
            for round_number in range(args.rounds):
                started = time.perf_counter()
                raws = enqueue_replies(settings, args.mails, first=round_number * args.mails)
                enqueue_s = time.perf_counter() - started
                size = sum(len(raw) for raw in raws) / len(raws)
                print(
                    f"round {round_number + 1}: {args.mails} reply mails of {size:.0f} bytes on"
                    f" {backend}, enqueued in {enqueue_s:.2f} s (not timed below)"
                )
                sent_before = count_sent(settings)
                measures = {
                    "reused": functools.partial(run_reused, port, raws, concurrency),
                    "worker": functools.partial(run_worker, settings, hooks),
                }
                for kind in round_order(list(measures), round_number):
                    runs[kind].append(timed(measures[kind], sink))
                sent = count_sent(settings) - sent_before
                if sent != args.mails:
                    raise SystemExit(f"only {sent} of {args.mails} mails are marked sent")
            naive = functools.partial(run_naive, port, args.mails, settings.mail_from)
            naive_s = timed(naive, sink)
        finally:
            sink.terminate()
            sink.wait()

    def mean(kind: str, key: str) -> float:
        return sum(run[key] for run in runs[kind]) / len(runs[kind])

    worker_rate = args.mails / mean("worker", "seconds")
    reused_rate = args.mails / mean("reused", "seconds")
    naive_rate = args.mails / naive_s["seconds"]

    def rounds(kind: str) -> str:
        return ", ".join(f"{args.mails / run['seconds']:.0f}" for run in runs[kind])

    print(
        f"worker ({concurrency} connections, batches of {settings.worker_batch_size}): "
        f"{worker_rate:8.0f} mails/s  (rounds: {rounds('worker')}; sink busy"
        f" {mean('worker', 'sink_share'):.2f} of a core)"
    )
    print(
        f"    of which other domains' reactions (events.after_deliveries):"
        f" {hooks.seconds / args.rounds:.2f} s a round; CPU"
        f" {mean('worker', 'cpu') / args.mails * 1000:.2f} ms/mail vs (a)"
        f" {mean('reused', 'cpu') / args.mails * 1000:.2f} ms/mail"
    )
    print(
        f"(a) raw aiosmtplib, {concurrency} reused connections: {reused_rate:8.0f} mails/s"
        f"  (rounds: {rounds('reused')}; sink busy {mean('reused', 'sink_share'):.2f} of a core)"
    )
    print(f"(b) build + new connection per mail:   {naive_rate:8.0f} mails/s")
    print(
        f"ratio vs (a): {worker_rate / reused_rate:.2f} (goal >= 0.7); "
        f"vs (b): {worker_rate / naive_rate:.2f} (goal >= 2)"
    )
    print(
        json.dumps(
            {
                "bench": "send",
                "mails": args.mails,
                "rounds": args.rounds,
                "mails_per_s": round(worker_rate, 1),
                "reused_connection_per_s": round(reused_rate, 1),
                "connection_per_mail_per_s": round(naive_rate, 1),
                "ratio_vs_reused": round(worker_rate / reused_rate, 3),
                "ratio_vs_naive": round(worker_rate / naive_rate, 3),
                "sink_share_worker": round(mean("worker", "sink_share"), 2),
                "sink_share_reused": round(mean("reused", "sink_share"), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
