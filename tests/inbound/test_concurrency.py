"""Several workers share the inbound queue: each mail is processed exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, func, select

from inbox.conversations.models import Message
from inbox.inbound.models import InboundSource, InboundState
from inbox.inbound.process import process_pending
from inbox.inbound.store import store_inbound
from inbox.runtime import Runtime, build_runtime
from tests.inbound.support import inbound_mails, plain_mail


def test_two_workers_never_process_one_inbound_mail_twice(runtime: Runtime, settings, clock):
    for number in range(30):
        store_inbound(
            runtime.engine, source=InboundSource.PIPE, envelope_from=f"p{number}@example.net",
            raw=plain_mail(sender=f"p{number}@example.net",
                           to="patient-service@kidney-hospital.example", text=f"Question {number}"),
            recipients=["patient-service@kidney-hospital.example"], now=clock.now(),
        )  # fmt: skip
    workers = [build_runtime(settings, clock=clock) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(lambda worker: _drain(worker), workers))
    finally:
        for worker in workers:
            worker.engine.dispose()
    assert sum(done) == 30
    assert all(m.state == InboundState.PROCESSED for m in inbound_mails(runtime))
    with Session(runtime.engine) as session:
        assert session.exec(select(func.count()).select_from(Message)).one() == 30


def _drain(runtime: Runtime) -> int:
    total = 0
    while done := process_pending(runtime):
        total += done
    return total
