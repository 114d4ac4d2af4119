"""Inbound processing throughput: stored mails/s turned into conversation updates by the worker's
job, against raw parsing of the same mails with the standard library in the same run.

600 mails are taken in (not timed): 450 patients' replies to a mail of their conversation (the
signed Reply-To, quotes and a signature to strip), 75 out-of-office replies and 75 new mails to
the service address. Then the REAL job (`process_pending`: classify, find the conversation,
strip, triage twice, store the message, reopen, cancel follow-ups, acknowledge/alert) runs until
the queue is empty; at the end every mail must be processed.

Reference: `email.message_from_bytes(raw, policy=email.policy.default)` plus reading the text
body, for the same 600 mails: the floor of any processing that reads mail at all.

    python bench/inbound.py                                  # SQLite file in a temp dir
    python bench/inbound.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.databases import temp_database  # noqa: E402
from bench.scenario import conversation_with_reply  # noqa: E402
from inbox.clock import FrozenClock  # noqa: E402
from inbox.config import Settings  # noqa: E402
from inbox.conversations.models import ConversationState  # noqa: E402
from inbox.db import create_db_engine, session_scope  # noqa: E402
from inbox.inbound.models import InboundMail, InboundSource, InboundState  # noqa: E402
from inbox.inbound.process import process_pending  # noqa: E402
from inbox.inbound.replies import build_reply  # noqa: E402
from inbox.inbound.store import store_inbound  # noqa: E402
from inbox.runtime import build_runtime  # noqa: E402

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SERVICE = "patient-service@kidney-hospital.example"
OUR_TEXT = (
    "Dear {name},\n\nThank you for your message. Cramps near the end of a session are often a\n"
    "sign that fluid is removed too fast. Please talk to your dialysis team about it.\n\n"
    "If you have chest pain or cannot breathe, call your local emergency number now.\n\n"
    "Kind regards,\nThe Patient Service Team\n"
)
REPLIES = [
    "Thank you, the cramps were better after the last session.",
    "It happened again on Friday, in both calves, for about ten minutes.",
    "Since yesterday I have crushing chest pain and I am short of breath.",
    "My nurse lowered the fluid removal, I will tell you how it goes.",
]


def _mail(sender: str, to: str, subject: str, text: str, **headers: str) -> bytes:
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@patient.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message.as_bytes()


def prepare(runtime, count: int) -> list[bytes]:
    """Conversations with a mail of ours each, and the mails that come back (bytes)."""
    settings, raws = runtime.settings, []
    replies, autos = count * 3 // 4, count // 8
    with session_scope(runtime.engine) as session:
        for number in range(replies + autos):
            address = f"patient{number}@example.net"
            mail = conversation_with_reply(
                session,
                settings,
                email=address,
                name=f"Patient {number}",
                state=ConversationState.SENT,
                subject="Re: your message",
                text=OUR_TEXT.format(name=f"Patient {number}"),
                html="<p>reply</p>",
                now=NOW,
            )
            assert mail.raw is not None
            if number < replies:
                text = REPLIES[number % len(REPLIES)] + "\n\nBest wishes,\nPatient\n"
                raws.append(build_reply(mail.raw, text=text)[0])
            else:
                raws.append(
                    _mail(
                        address,
                        SERVICE,
                        "Out of office",
                        "I am away until Monday.",
                        Auto_Submitted="auto-replied",
                        In_Reply_To=mail.message_id,
                    )
                )
    for number in range(count - replies - autos):
        raws.append(
            _mail(
                f"new{number}@example.org",
                SERVICE,
                "question",
                "Why do my legs cramp at the end of dialysis?",
            )
        )
    return raws


def parse_reference(raws: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in raws:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        if body is not None:
            body.get_content()
    return len(raws) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--mails", type=int, default=600)
    args = parser.parse_args()
    with temp_database(args.database_url, prefix="inbox-bench-inbound") as url:
        settings = Settings(
            _env_file=None,
            database_url=url,
            secret_key="bench",
            staff_alert_to="duty@hospital.example",
            smtp_host="127.0.0.1",
            inbound="lmtp",
            run_worker=False,
            mail_catcher=False,
            worker_batch_size=100,
            inbound_rate_limit="0",
        )
        runtime = build_runtime(settings, clock=FrozenClock(NOW))
        raws = prepare(runtime, args.mails)
        runtime.knowledge  # noqa: B018 - load the articles before the clock starts
        for raw in raws:
            store_inbound(
                runtime.engine,
                raw=raw,
                source=InboundSource.LMTP,
                envelope_from=None,
                recipients=[],
                now=NOW,
            )
        parse_per_s = parse_reference(raws)
        started = time.perf_counter()
        processed = 0
        while done := process_pending(runtime):
            processed += done
        elapsed = time.perf_counter() - started
        engine = create_db_engine(url, pooled=False)
        with engine.connect() as connection:
            table = InboundMail.__table__  # type: ignore[attr-defined]
            left = connection.execute(
                sa.select(sa.func.count()).where(table.c.state != InboundState.PROCESSED)
            ).scalar_one()
        engine.dispose()
        runtime.engine.dispose()
    assert processed == len(raws) and left == 0, (processed, left)
    mails_per_s = processed / elapsed
    print(f"processed {processed} inbound mails in {elapsed:.2f} s: {mails_per_s:.0f} mails/s")
    print(f"raw stdlib parsing of the same mails: {parse_per_s:.0f} mails/s")
    print(
        json.dumps(
            {
                "bench": "inbound",
                "database": url.split(":", 1)[0],
                "mails_per_s": round(mails_per_s, 1),
                "parse_per_s": round(parse_per_s, 1),
                "ratio_vs_parse": round(mails_per_s / parse_per_s, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
