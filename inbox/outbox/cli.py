"""`inbox worker`, `inbox queue`, `inbox mail list`, `inbox mail retry ID`."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

import typer

from inbox.config import Settings, WeakSecret
from inbox.db import session_scope
from inbox.errors import InboxError
from inbox.outbox import service
from inbox.outbox.catcher import list_caught
from inbox.runtime import Runtime, build_runtime

mail_app = typer.Typer(
    help="Mails: what the built-in catcher caught; retry a failed one.", no_args_is_help=True
)


def _one_line(value: object) -> str:
    """Stored text as one printable line (a recipient that failed may hold a line break)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(value))


def _with_runtime(action: Callable[[Runtime], Any]) -> Any:
    runtime = build_runtime(Settings())
    try:
        return action(runtime)
    except InboxError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.engine.dispose()


def worker(
    concurrency: int = typer.Option(None, help="SMTP connections (INBOX_WORKER_CONCURRENCY)."),
) -> None:
    """Run the delivery worker (and other periodic jobs) until SIGTERM or Ctrl-C."""
    from inbox.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    try:
        settings.require_strong_secret()  # the worker signs unsubscribe links
    except WeakSecret as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    runtime = build_runtime(settings)
    try:
        asyncio.run(_work(runtime, concurrency))
    finally:
        runtime.engine.dispose()


async def _work(runtime: Runtime, concurrency: int | None) -> None:
    from inbox.outbox.runner import start_background

    background = await start_background(runtime, concurrency=concurrency)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, background.worker.stop)
    typer.echo(f"worker {background.worker.worker_id} started", err=True)
    await background.wait()
    await background.stop()


def queue() -> None:
    """Counts by state, the oldest due mail and the recent failures."""

    def show(runtime: Runtime) -> None:
        with session_scope(runtime.engine) as session:
            stats = service.queue_stats(session, runtime.clock.now())
        typer.echo("  ".join(f"{state}: {count}" for state, count in stats["counts"].items()))
        if stats["oldest_due_at"] is not None:
            typer.echo(
                f"oldest due: {stats['oldest_due_at']:%Y-%m-%d %H:%M:%S} UTC "
                f"({stats['oldest_due_age_seconds']:.0f} s waiting)"
            )
        else:
            typer.echo("oldest due: none")
        for failure in stats["recent_failures"]:
            when = f"{failure['failed_at']:%Y-%m-%d %H:%M}" if failure["failed_at"] else "-"
            typer.echo(
                f"failed #{failure['id']} {when} {failure['kind']} to "
                f"{_one_line(failure['recipient'])} after {failure['attempts']} attempts: "
                f"{_one_line(failure['error'])}"
            )

    _with_runtime(show)


@mail_app.command("list")
def mail_list(limit: int = typer.Option(20, help="How many, newest first.")) -> None:
    """Mails the built-in catcher received, newest first."""

    def show(runtime: Runtime) -> None:
        with session_scope(runtime.engine) as session:
            caught = list_caught(session, limit=limit)
        if not caught:
            typer.echo("no mails caught yet")
        for mail in caught:
            typer.echo(
                f"#{mail.id} {mail.received_at:%Y-%m-%d %H:%M:%S} to {_one_line(mail.recipients)}: "
                f"{_one_line(mail.subject)}  {mail.message_id or ''}"
            )

    _with_runtime(show)


@mail_app.command("retry")
def mail_retry(mail_id: int = typer.Argument(..., help="The outbox mail's id.")) -> None:
    """Put a failed mail back in the queue with a fresh retry budget."""

    def retry(runtime: Runtime) -> None:
        with session_scope(runtime.engine) as session:
            mail = service.requeue_mail(session, mail_id=mail_id, now=runtime.clock.now())
        typer.echo(f"mail #{mail.id} to {mail.recipient} is queued again")

    _with_runtime(retry)


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the `inbox` command."""
    app.command("worker")(worker)
    app.command("queue")(queue)
    app.add_typer(mail_app, name="mail")
