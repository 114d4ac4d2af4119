"""The delivery loop: claim due mails in batches, send them over N reused SMTP connections, record
the outcomes in batches (telling the delivery listeners), and run the periodic jobs it is given.

One asyncio task claims (in a thread: the database is sync) and keeps an in-memory queue topped
up; `concurrency` sender tasks each own one SMTP connection and take mails from that queue; one
task writes the outcomes every `FLUSH_SECONDS` in a single transaction. `stop()` (SIGTERM) stops
claiming, lets each sender finish the mail in its hands, writes the last outcomes, gives back
the claimed-but-unsent ones and closes the connections. `holding.Hands` keeps the leases of what
the worker holds renewed, and keeps it from starting a mail under a lease that could run out
before the send ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from inbox.config import parse_duration
from inbox.outbox import claims
from inbox.outbox.addresses import bounce_address
from inbox.outbox.claims import ClaimedMail, Result, RetryPolicy
from inbox.outbox.compose import parse_address
from inbox.outbox.events import DeliveryListener
from inbox.outbox.holding import Hands
from inbox.outbox.metrics import DeliveryMetrics, metrics_for
from inbox.outbox.models import AttemptOutcome
from inbox.outbox.sender import Reply, SmtpConnection, SmtpTarget
from inbox.runtime import Runtime

log = logging.getLogger(__name__)

Job = Callable[[Runtime], int]
T = TypeVar("T")
FLUSH_SECONDS = 0.05


def new_worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Delivers the outbox; `run()` until `stop()`, or `drain()` until nothing is due."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        target: SmtpTarget | None = None,
        jobs: Sequence[Job] = (),
        listeners: Sequence[DeliveryListener] = (),
        worker_id: str | None = None,
        concurrency: int | None = None,
        metrics: DeliveryMetrics | None = None,
    ):
        settings = runtime.settings
        self.runtime = runtime
        self.target = target or SmtpTarget.from_settings(settings)
        self.jobs = list(jobs)
        self.listeners = list(listeners)
        self.worker_id = worker_id or new_worker_id()
        self.concurrency = max(1, concurrency or settings.worker_concurrency)
        self.batch_size = max(1, settings.worker_batch_size)
        self.batch_seconds = settings.worker_batch_seconds
        self.poll_seconds = settings.worker_poll_seconds
        self.lease = timedelta(seconds=settings.worker_lease_seconds)
        self.policy = RetryPolicy(
            budget=parse_duration(settings.retry_budget),
            base_seconds=settings.retry_base_seconds,
            max_seconds=settings.retry_max_seconds,
        )
        self.metrics = metrics or metrics_for(runtime)
        self.sender = parse_address(settings.mail_from, what="sender").addr_spec  # MAIL FROM
        self.verp = settings.takes_replies
        self.delivered = 0  # attempts recorded by this worker
        self._stopping = asyncio.Event()
        self._results: list[Result] = []
        self._give_back: list[int] = []  # claimed, then held too long to send safely
        self._hands = Hands(
            lease=self.lease,
            longest_send=self.target.longest_send,
            cover_ahead=max(self.concurrency, self.batch_size // 2),
        )
        # one database lane per worker: on SQLite two writers of one process would otherwise meet
        # in the busy handler, which sleeps (up to 100 ms a time) instead of queueing. The lane
        # and the periodic jobs each keep one thread for the whole run (see docs/performance.md)
        self._db_lock = asyncio.Lock()
        self._db_thread: ThreadPoolExecutor | None = None
        self._need_more = asyncio.Event()

    # --- control

    def stop(self) -> None:
        """Stop claiming; in-hand mails are finished, claimed-but-unsent ones given back."""
        self._stopping.set()
        self._need_more.set()  # wake the claim loop if it is waiting for room

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        """Deliver until `stop()`."""
        await self._run(until_idle=False)

    async def drain(self) -> int:
        """Deliver until no mail is due (tests, benchmarks, one-shot use); returns attempts made."""
        before = self.delivered
        await self._run(until_idle=True)
        return self.delivered - before

    # --- the loop

    async def _run(self, *, until_idle: bool) -> None:
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-db")
        try:
            await self._deliver(until_idle=until_idle)
        finally:
            self._db_thread.shutdown(wait=True)  # idle by now: every helper has ended

    async def _deliver(self, *, until_idle: bool) -> None:
        queue: asyncio.Queue[ClaimedMail | None] = asyncio.Queue()
        connections = [SmtpConnection(self.target) for _ in range(self.concurrency)]
        closing = asyncio.Event()  # this run is ending: helpers finish what they do, then exit
        senders = [asyncio.create_task(self._send_loop(queue, conn)) for conn in connections]
        flusher = asyncio.create_task(self._flush_loop(closing))
        jobs = (
            asyncio.create_task(self._jobs_loop(closing)) if self.jobs and not until_idle else None
        )
        try:
            await self._claim_loop(queue, until_idle=until_idle)
        finally:
            unsent = [item for item in _take_all(queue) if item is not None]
            for _ in senders:
                queue.put_nowait(None)
            _log_failures(await asyncio.gather(*senders, return_exceptions=True))
            closing.set()  # never cancel a helper: its thread would go on writing unseen
            _log_failures(await asyncio.gather(flusher, return_exceptions=True))
            if jobs is not None:
                _log_failures(await asyncio.gather(jobs, return_exceptions=True))
            self._give_back.extend(item.id for item in unsent)
            await self._record_the_rest()
            if unsent:
                log.info("worker %s gave back %d claimed mails", self.worker_id, len(unsent))
            await asyncio.gather(*(conn.close() for conn in connections), return_exceptions=True)

    async def _claim_loop(
        self, queue: asyncio.Queue[ClaimedMail | None], *, until_idle: bool
    ) -> None:
        low_water = max(self.concurrency, self.batch_size // 2)
        while not self.stopping:
            if queue.qsize() >= low_water:
                self._need_more.clear()
                await _wait(self._need_more, self.poll_seconds)
                continue
            try:
                claimed = await self._claim()
            except Exception:
                log.exception("worker %s could not claim mails", self.worker_id)
                await _wait(self._stopping, self.poll_seconds)
                continue
            for item in claimed:
                queue.put_nowait(item)
            if claimed:
                continue
            if until_idle:
                await queue.join()
                await self._record_pending()
                claimed = await self._claim()
                if not claimed:
                    return
                for item in claimed:
                    queue.put_nowait(item)
            else:
                await _wait(self._stopping, self.poll_seconds)

    async def _db_call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a database call in a thread, telling the lease bookkeeping how it went."""
        started, failed = time.perf_counter(), True
        try:
            call = functools.partial(function, *args, **kwargs)
            result = await asyncio.get_running_loop().run_in_executor(self._db_thread, call)
            failed = False
            return result
        finally:
            self._hands.database_call(
                time.perf_counter() - started, failed=failed, now=self.runtime.clock.now()
            )

    async def _claim(self) -> list[ClaimedMail]:
        """Claim a batch under a lease that covers a send (outbox/holding.py), timed from when the
        lane is free: a lease counted from before a wait behind a slow write would leave the
        batch too little of it to start any mail, and it would be given back unsent."""
        async with self._db_lock:
            now = self.runtime.clock.now()
            claimed = await self._db_call(
                claims.claim,
                self.runtime.engine,
                owner=self.worker_id,
                now=now,
                lease=self._hands.send_lease,
                limit=self.batch_size,
                take_over=self._hands.may_take_over(now),
                holding=self._hands.ids(),
            )
        self._hands.take(claimed)
        return claimed

    async def _send_loop(
        self, queue: asyncio.Queue[ClaimedMail | None], conn: SmtpConnection
    ) -> None:
        low_water = max(self.concurrency, self.batch_size // 2)
        while True:
            item = await queue.get()
            try:
                if item is None:
                    return
                if queue.qsize() < low_water:
                    self._need_more.set()
                await self._send_one(item, conn)
            finally:
                queue.task_done()

    async def _send_one(self, mail: ClaimedMail, conn: SmtpConnection) -> None:
        if not self._hands.may_send(mail, self.runtime.clock.now()):
            await self._cover(mail)
        if not self._hands.may_send(mail, self.runtime.clock.now()):
            # taken over by another worker, or no lease that covers a send could be written
            # (the database stalls): give it back unsent instead
            self._give_back.append(mail.id)
            return
        started = time.perf_counter()
        if mail.raw is None:
            reply = Reply(AttemptOutcome.FAILED, None, "the message was never built")
        else:
            recipient = mail.envelope_recipient
            # VERP: a bounce names the one mail that did not arrive (bounces+<id>.<sig>@…)
            sender = bounce_address(self.runtime.settings, mail.id) if self.verp else self.sender
            try:
                smtputf8 = not (recipient.isascii() and sender.isascii())
                reply = await conn.deliver(sender, recipient, mail.raw, smtputf8=smtputf8)
            except Exception as exc:  # a bug must not strand the mail: record it, retry later
                log.exception(
                    "worker %s: unexpected error sending mail %d", self.worker_id, mail.id
                )
                conn.drop()
                reply = Reply(AttemptOutcome.RETRY, None, f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - started
        if reply.sent:
            self.metrics.latency.observe(elapsed)
        self._results.append(Result(mail, reply, self.runtime.clock.now(), elapsed * 1000))

    async def _cover(self, mail: ClaimedMail) -> None:
        """Extend the leases of `mail` and of the next mails in hand so that each covers a whole
        send (outbox/holding.py); one write serves the senders that queue behind it."""
        async with self._db_lock:
            now = self.runtime.clock.now()
            if not self._hands.holds(mail) or self._hands.may_send(mail, now):
                return  # lost meanwhile, or covered by another sender's write
            try:
                await self._extend(self._hands.to_cover(mail, now), now, self._hands.send_lease)
            except Exception:
                log.exception("worker %s could not extend its leases", self.worker_id)

    async def _flush_loop(self, closing: asyncio.Event) -> None:
        while not closing.is_set():
            await _wait(closing, FLUSH_SECONDS)
            await self._record_pending()

    async def _record_pending(self) -> bool:
        """Write the outcomes, then give back what was not sent, then renew the leases of what
        is still in hand; returns whether everything was written."""
        async with self._db_lock:
            try:
                await self._record_outcomes()
                await self._release_given_back()
                await self._renew_if_due()
            except Exception:
                log.exception("worker %s could not write to the database", self.worker_id)
                return False
            return True

    async def _record_outcomes(self) -> None:
        batch, self._results = self._results, []
        if not batch:
            return
        try:
            outcomes = await self._db_call(
                claims.record,
                self.runtime.engine,
                batch,
                owner=self.worker_id,
                policy=self.policy,
                listeners=self.listeners,
            )
        except Exception:
            self._results[:0] = batch  # keep them for the next flush
            raise
        self._hands.let_go(result.mail.id for result in batch)
        self.delivered += len(batch)
        self.metrics.count(outcomes)

    async def _release_given_back(self) -> None:
        if not self._give_back:
            return
        ids = list(self._give_back)
        await self._db_call(claims.release, self.runtime.engine, owner=self.worker_id, mail_ids=ids)
        self._give_back = self._give_back[len(ids) :]
        self._hands.let_go(ids)

    async def _renew_if_due(self) -> None:
        if not self._hands.renewal_due():
            return
        await self._extend(self._hands.ids(), self.runtime.clock.now(), self.lease)
        self._hands.renewal_made()

    async def _extend(self, asked: list[int], now: datetime, lease: timedelta) -> None:
        """Extend the leases of `asked` to at least now+lease; drop those taken over."""
        kept = await self._db_call(
            claims.renew,
            self.runtime.engine,
            owner=self.worker_id,
            mail_ids=asked,
            now=now,
            lease=lease,
        )
        lost = self._hands.extended(asked, kept, deadline=now + lease)
        if lost:
            log.warning("worker %s lost %d leases to another worker", self.worker_id, len(lost))

    async def _record_the_rest(self) -> None:
        """At the end of a run: write what is left, trying again for up to a lease while the
        database does not answer (outcomes dropped here would have other workers resend)."""
        deadline = time.monotonic() + self.lease.total_seconds()
        while not await self._record_pending() and time.monotonic() < deadline:
            await asyncio.sleep(min(1.0, self.poll_seconds))

    async def _jobs_loop(self, closing: asyncio.Event) -> None:
        """Each job's batch in turn (each bounded by `worker_batch_seconds`, inbox.queues.batch);
        then a rest as long as the work took, at most `worker_batch_seconds`, so that a backlog
        leaves the web side of the process its share (the GIL, SQLite's write lock) in between;
        when there was nothing to do, `worker_poll_seconds`."""
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker-jobs") as thread:
            while not (self.stopping or closing.is_set()):
                done, started = 0, time.monotonic()
                for job in self.jobs:
                    try:
                        done += int(await loop.run_in_executor(thread, job, self.runtime) or 0)
                    except Exception:
                        log.exception("periodic job %s failed", getattr(job, "__name__", job))
                worked = time.monotonic() - started
                await _wait(closing, min(worked, self.batch_seconds) if done else self.poll_seconds)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)


def _log_failures(outcomes: Sequence[object]) -> None:
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
            log.error("a worker task failed", exc_info=outcome)


def _take_all(queue: asyncio.Queue[ClaimedMail | None]) -> list[ClaimedMail | None]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
        queue.task_done()
    return items
