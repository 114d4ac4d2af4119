"""`inbox queue`, `inbox mail list`, `inbox mail retry ID` (`inbox worker` is in inbox.cli)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from inbox.config import Settings
from inbox.db import session_scope
from inbox.errors import InboxError
from inbox.outbox import service
from inbox.outbox.catcher import list_caught
from inbox.outbox.models import MailState, OutboxMail
from inbox.runtime import Runtime, build_runtime

Requeue = Callable[..., OutboxMail]

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


def register(app: typer.Typer, *, requeue: Requeue = service.requeue_mail) -> None:
    """Add this domain's commands to the `inbox` command; `requeue` re-queues a mail for
    `inbox mail retry` (the app passes one that honours the suppression list)."""

    @mail_app.command("retry")
    def mail_retry(mail_id: int = typer.Argument(..., help="The outbox mail's id.")) -> None:
        """Put a failed or held mail back in the queue with a fresh retry budget."""

        def retry(runtime: Runtime) -> None:
            with session_scope(runtime.engine) as session:
                mail = requeue(session, mail_id=mail_id, now=runtime.clock.now())
                state, recipient, reason = mail.state, mail.recipient, mail.last_error
            if state == MailState.CANCELLED:
                typer.echo(f"mail #{mail_id} to {recipient} was cancelled instead: {reason}")
            else:
                typer.echo(f"mail #{mail_id} to {recipient} is queued again")

        _with_runtime(retry)

    app.command("queue")(queue)
    app.add_typer(mail_app, name="mail")
