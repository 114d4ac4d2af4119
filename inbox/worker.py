"""The worker's composition root: which periodic jobs every worker runs, who listens to the
outcomes of deliveries, and the built-in mail catcher when no SMTP host is configured.

`inbox serve` starts it in its lifespan (unless INBOX_RUN_WORKER=false) on a thread of its own
with its own event loop (`start_in_thread`), so that neither side's loop waits for the other's
work; `inbox worker` runs the same thing as its own process. This module and the app factory
(`inbox.main`) are the only ones that know every domain: the outbox sends and announces
outcomes, and knows nobody who listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlmodel import Session

from inbox.config import Settings
from inbox.conversations import lifecycle
from inbox.drafting.jobs import draft_pending
from inbox.followups.delivery import send_due_follow_ups
from inbox.followups.events import FollowUpListener
from inbox.inbound.jobs import inbound_jobs
from inbox.inbound.receiver import InboundListener, start_inbound_listener, take_in_caught
from inbox.notices.digest import digest_job
from inbox.notices.escalation import escalation_job
from inbox.notices.service import after_triage, prepare_notices
from inbox.outbox.catcher import MailCatcher
from inbox.outbox.events import Delivery, DeliveryListener
from inbox.outbox.models import MailKind
from inbox.outbox.sender import SmtpTarget
from inbox.outbox.worker import Job, Worker
from inbox.privacy.purge import purge_job
from inbox.review.search import expire_kept_searches, index_job
from inbox.runtime import Runtime

log = logging.getLogger(__name__)


def draft_new_messages(runtime: Runtime) -> int:
    """Drafting's job with the notices a drafted message triggers (acknowledgement, alert)."""
    return draft_pending(runtime, after=after_triage, ahead=prepare_notices)


def periodic_jobs(runtime: Runtime) -> list[Job]:
    """What every worker runs each tick, in this order: sync functions taking the runtime and
    returning how much work they did (0: nothing to do)."""
    return [
        # inbound first: a patient's reply cancels a follow-up that would otherwise go out now
        *inbound_jobs(runtime),  # IMAP polling (if set), replies, automatic replies, bounces
        draft_new_messages,  # triage and draft new messages, acknowledge, alert staff
        index_job,  # SQLite: full-text index of new messages
        escalation_job,  # urgent conversations nobody opened: remind staff, then escalate
        expire_kept_searches,  # staff's searches, kept on the server, expire
        send_due_follow_ups,
        digest_job,  # once a day
        purge_job,  # once a day
    ]


class ReplyOutcomes:
    """A reply's conversation follows its mail: sent, or failed for good."""

    def on_sent(self, session: Session, deliveries: Sequence[Delivery]) -> None:
        lifecycle.replies_sent(session, _replies(deliveries))

    def on_failed(self, session: Session, deliveries: Sequence[Delivery]) -> None:
        lifecycle.replies_failed(session, _replies(deliveries))


def _replies(deliveries: Sequence[Delivery]) -> list[tuple[int, datetime]]:
    return [
        (d.mail.conversation_id, d.at)
        for d in deliveries
        if d.mail.kind == MailKind.REPLY and d.mail.conversation_id is not None
    ]


def delivery_listeners(settings: Settings) -> list[DeliveryListener]:
    """Who hears of final delivery outcomes, in this order: the conversation first (follow-ups
    are only scheduled for a conversation that is still `sent`)."""
    return [ReplyOutcomes(), FollowUpListener(settings)]


def build_worker(
    runtime: Runtime,
    *,
    target: SmtpTarget | None = None,
    concurrency: int | None = None,
    jobs: Sequence[Job] = (),
    worker_id: str | None = None,
) -> Worker:
    """A delivery worker with every delivery listener; periodic `jobs` only when given (tests and
    benchmarks drive the jobs themselves)."""
    return Worker(
        runtime,
        target=target,
        jobs=jobs,
        listeners=delivery_listeners(runtime.settings),
        concurrency=concurrency,
        worker_id=worker_id,
    )


@dataclass
class Background:
    """What `start_background` started; `stop()` ends it cleanly."""

    worker: Worker
    task: asyncio.Task[None]
    catcher: MailCatcher | None = None
    listener: InboundListener | None = None

    async def stop(self) -> None:
        """Stop claiming, finish the mails in hand, then stop the catcher and the listener."""
        self.worker.stop()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await self.task  # a crash was logged when it happened (_log_crash)
        if self.catcher is not None:
            await self.catcher.stop()
        if self.listener is not None:
            await self.listener.stop()

    async def wait(self) -> None:
        """Until the worker ends (after `stop()`, or if it crashed)."""
        await asyncio.shield(self.task)


async def start_background(runtime: Runtime, *, concurrency: int | None = None) -> Background:
    """Start the worker loop (and the catcher when no SMTP host is set and the catcher is on)."""
    settings = runtime.settings
    target = SmtpTarget.from_settings(settings)
    catcher = None
    if not settings.smtp_host:
        if not settings.mail_catcher:
            raise RuntimeError("no SMTP host set (INBOX_SMTP_HOST) and the mail catcher is off")
        catcher = MailCatcher(
            runtime.engine,
            runtime.clock,
            port=settings.mail_catcher_port,
            own_mail=partial(take_in_caught, runtime) if settings.takes_replies else None,
        )
        await catcher.start()
        target = SmtpTarget(
            host=catcher.host,
            port=catcher.port,
            timeout=settings.smtp_timeout,
            send_timeout=settings.smtp_send_timeout,
            data_timeout=settings.smtp_data_timeout,
            mails_per_connection=settings.mails_per_connection,
        )
    listener = await start_inbound_listener(runtime)
    worker = build_worker(
        runtime, target=target, jobs=periodic_jobs(runtime), concurrency=concurrency
    )
    task = asyncio.create_task(worker.run(), name=f"outbox-worker-{worker.worker_id}")
    task.add_done_callback(_log_crash)
    log.info("worker %s sending to %s:%d", worker.worker_id, target.host, target.port)
    return Background(worker=worker, task=task, catcher=catcher, listener=listener)


class BackgroundThread:
    """The background work on a thread of its own, running its own event loop."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.background: Background | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="inbox-background", daemon=True)

    async def start(self) -> None:
        """Start the thread; returns once the worker (and catcher) run, or raises why not."""
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._failure is not None:
            raise self._failure

    async def stop(self) -> None:
        """Stop the worker cleanly (see `Background.stop`) and wait for the thread to end."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            background = self.background = await start_background(self.runtime)
        except Exception as exc:  # noqa: BLE001 - raised in the starting thread instead
            self._failure = exc
            return
        finally:
            self._ready.set()
        await self._stop.wait()
        await background.stop()


async def start_in_thread(runtime: Runtime) -> BackgroundThread:
    """`start_background` on a thread of its own (the in-process worker of `inbox serve`)."""
    thread = BackgroundThread(runtime)
    await thread.start()
    return thread


async def run_until_signalled(
    runtime: Runtime, *, concurrency: int | None = None, started: Callable[[str], object] = print
) -> None:
    """`inbox worker`: run the background work until SIGTERM or SIGINT, then stop cleanly;
    `started(worker_id)` is called once it runs."""
    background = await start_background(runtime, concurrency=concurrency)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, background.worker.stop)
    started(background.worker.worker_id)
    await background.wait()
    await background.stop()


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the delivery worker stopped", exc_info=task.exception())
