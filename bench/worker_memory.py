"""Memory of the SQLite worker over a long run: does its RSS level off?

`inbox worker` (a process of its own, every periodic job on, as deployed) sends to a local
aiosmtpd sink that discards. Mails arrive in rounds, 5,000 at a time, through the real enqueue
path (a contact and a conversation each, so the delivery listeners do their full work); after
each round is sent, the worker's resident memory (VmRSS, /proc) is read.

The reference, measured in the same run: the RSS after the first round (start-up, imports and
warm caches); the figure that matters is the growth over the second half of the run, which
should be within noise (a leak grows by the same amount per round for ever).

    python bench/worker_memory.py                     # 50,000 mails in 10 rounds
    python bench/worker_memory.py --mails 10000

The last line is one JSON object. Bounded: each round must be sent within 10 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.databases import temp_database  # noqa: E402
from bench.load import free_port  # noqa: E402
from bench.scenario import conversation_with_reply  # noqa: E402
from bench.send import HTML, NOW, SUBJECT, TEXT, start_sink  # noqa: E402
from inbox.config import Settings  # noqa: E402
from inbox.conversations.models import ConversationState  # noqa: E402
from inbox.db import READS_ONLY, create_db_engine, session_scope  # noqa: E402
from inbox.outbox.models import MailState, OutboxMail  # noqa: E402

SECRET = "bench-only-0c1d2e3f4a5b6c7d8e9fA1B2C3D4E5F6a7b8c9d0"
ROUND = 5000
ROUND_TIMEOUT = 600


def status(pid: int, field: str) -> int:
    """A number from /proc/<pid>/status (VmRSS in kB, Threads)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def sent(engine: sa.Engine) -> int:
    """Mails sent so far, read without taking SQLite's write lock (the worker holds it often)."""
    with engine.execution_options(**{READS_ONLY: True}).connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).where(OutboxMail.state == MailState.SENT)
        ).scalar_one()


def enqueue(engine: sa.Engine, settings: Settings, *, first: int, count: int) -> None:
    """`count` replies, one conversation each, patients numbered from `first`."""
    with session_scope(engine) as session:
        for number in range(first, first + count):
            name = f"Patient {number}"
            conversation_with_reply(
                session,
                settings,
                email=f"patient{number}@example.org",
                name=name,
                state=ConversationState.QUEUED,
                subject=SUBJECT,
                text=TEXT.format(name=name),
                html=HTML.format(name=name),
                now=NOW,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=50_000)
    args = parser.parse_args()
    rounds = max(2, args.mails // ROUND)

    with temp_database(None, prefix="bench-worker-memory") as url:
        curve = run(url, rounds)
    report(curve)


def run(url: str, rounds: int) -> list[dict[str, float]]:
    """The worker's RSS after each round of ROUND mails is sent."""
    port = free_port()
    sink = start_sink(port)
    settings = Settings(
        _env_file=None,
        database_url=url,
        secret_key=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=port,
        mail_catcher=False,
        run_worker=False,
    )
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("INBOX_")},
        "INBOX_DATABASE_URL": url,
        "INBOX_SECRET_KEY": SECRET,
        "INBOX_SMTP_HOST": "127.0.0.1",
        "INBOX_SMTP_PORT": str(port),
        "INBOX_MAIL_CATCHER": "false",
        "INBOX_WORKER_POLL_SECONDS": "0.1",
        "INBOX_LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", "from inbox.cli import app; app()", "worker"],
        env=environment,
        stderr=subprocess.DEVNULL,  # lock waits beside the enqueuing are logged, and expected
    )
    engine = create_db_engine(url, pooled=False)
    curve: list[dict[str, float]] = []
    try:
        for number in range(1, rounds + 1):
            for chunk in range(ROUND // 100):  # short transactions: the worker writes meanwhile
                enqueue(engine, settings, first=(number - 1) * ROUND + chunk * 100, count=100)
            deadline = time.monotonic() + ROUND_TIMEOUT
            while sent(engine) < number * ROUND:
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"round {number}: only {sent(engine)} sent")
                time.sleep(0.5)
            point = {
                "mails": number * ROUND,
                "rss_mb": round(status(worker.pid, "VmRSS") / 1024, 1),
                "threads": status(worker.pid, "Threads"),
            }
            curve.append(point)
            print(
                f"{point['mails']:>7,} mails sent: worker RSS {point['rss_mb']:6.1f} MB, "
                f"{point['threads']} threads",
                flush=True,
            )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        sink.terminate()
        sink.wait()
        engine.dispose()
    return curve


def report(curve: list[dict[str, float]]) -> None:
    first, middle, last = (
        curve[0]["rss_mb"],
        curve[len(curve) // 2 - 1]["rss_mb"],
        curve[-1]["rss_mb"],
    )
    print(
        f"after round 1 (reference): {first:.1f} MB; growth over the second half "
        f"({curve[len(curve) // 2 - 1]['mails']:,} -> {curve[-1]['mails']:,} mails): "
        f"{last - middle:+.1f} MB; over the whole run {last - first:+.1f} MB"
    )
    print(
        json.dumps(
            {
                "bench": "worker_memory",
                "mails": curve[-1]["mails"],
                "rss_mb": [point["rss_mb"] for point in curve],
                "threads": [point["threads"] for point in curve],
                "growth_second_half_mb": round(last - middle, 1),
                "growth_mb": round(last - first, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
