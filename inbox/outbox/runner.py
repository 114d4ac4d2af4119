"""Background work: the delivery worker (with other domains' periodic jobs) and, when no SMTP host
is configured, the built-in mail catcher. `inbox serve` starts it in its lifespan (unless
INBOX_RUN_WORKER=false) on a thread of its own with its own event loop (`start_in_thread`), so
that neither side's loop ever waits for the other's work; `inbox worker` runs the same thing as
its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from inbox.inbound.receiver import InboundListener, start_inbound_listener, take_in_caught
from inbox.outbox.catcher import MailCatcher
from inbox.outbox.sender import SmtpTarget
from inbox.outbox.worker import Worker
from inbox.runtime import Runtime

log = logging.getLogger(__name__)


def background_jobs(runtime: Runtime) -> list[Callable[[Runtime], int]]:
    """Periodic jobs of other domains that every worker runs each tick (drafting pending messages,
    follow-ups due, purges, digests): sync functions taking the runtime and returning how much
    work they did. Domains append theirs here."""
    from inbox.drafting.jobs import draft_pending  # drafting: triage and draft new messages
    from inbox.followups.jobs import JOBS as followup_jobs  # follow-ups due, digest, purge
    from inbox.inbound.jobs import inbound_jobs  # replies, automatic replies, bounces
    from inbox.review.search import index_job  # SQLite: full-text index of new messages

    # inbound first: a patient's reply cancels a follow-up that would otherwise go out this tick
    return [*inbound_jobs(runtime), draft_pending, index_job, *followup_jobs]


@dataclass
class Background:
    """What `start_background` started; `stop()` ends it cleanly."""

    worker: Worker
    task: asyncio.Task[None]
    catcher: MailCatcher | None = None
    listener: InboundListener | None = None

    async def stop(self) -> None:
        """Stop claiming, finish the mails in hand, then stop the catcher."""
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
    worker = Worker(runtime, target=target, jobs=background_jobs(runtime), concurrency=concurrency)
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


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the delivery worker stopped", exc_info=task.exception())
