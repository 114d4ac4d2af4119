"""`inbox inbound deliver|process|failed|retry` and `inbox mail reply` (the embedded loop)."""

from __future__ import annotations

import sys

import typer

from inbox.config import Settings
from inbox.db import session_scope
from inbox.inbound.models import InboundSource
from inbox.inbound.process import process_pending, retry_mail
from inbox.inbound.replies import reply_to_caught
from inbox.inbound.store import store_inbound
from inbox.inbound.views import failed_mails
from inbox.runtime import build_runtime

EX_DATAERR = 65  # sysexits.h: the input was not a mail; the MTA returns it to its sender
EX_TEMPFAIL = 75  # sysexits.h: try again later; the MTA keeps the mail queued

inbound_app = typer.Typer(
    help="Inbound mail: take a mail in from an MTA's pipe, process, list failures, retry.",
    no_args_is_help=True,
)


@inbound_app.command("deliver")
def deliver(
    sender: str = typer.Option(None, help="The envelope sender (Postfix pipe: ${sender})."),
    recipient: list[str] = typer.Option(None, help="An envelope recipient (${recipient})."),
) -> None:
    """Store the mail on standard input; exit 0 stored, 75 try later, 65 not a mail."""
    raw = sys.stdin.buffer.read()
    try:
        settings = Settings()
    except Exception as exc:
        typer.echo(f"inbound: the settings are invalid: {exc}", err=True)
        raise typer.Exit(EX_TEMPFAIL) from exc
    if len(raw) > settings.inbound_max_bytes:
        typer.echo(f"inbound: the mail is larger than {settings.inbound_max_bytes} bytes", err=True)
        raise typer.Exit(EX_DATAERR)
    runtime = build_runtime(settings)
    try:
        stored = store_inbound(
            runtime.engine, raw=raw, source=InboundSource.PIPE, envelope_from=sender,
            recipients=list(recipient or []), now=runtime.clock.now(),
        )  # fmt: skip
    except Exception as exc:
        typer.echo(f"inbound: could not store the mail ({type(exc).__name__}); try later", err=True)
        raise typer.Exit(EX_TEMPFAIL) from exc
    finally:
        runtime.engine.dispose()
    if stored.malformed:
        typer.echo(f"inbound: not a mail: {stored.malformed} (kept for staff)", err=True)
        raise typer.Exit(EX_DATAERR)
    if stored.duplicate:
        typer.echo("inbound: already stored (a re-delivery)", err=True)


@inbound_app.command("process")
def process() -> None:
    """Process every stored mail now (the worker does this by itself)."""
    runtime = build_runtime(Settings())
    try:
        total = 0
        while done := process_pending(runtime):
            total += done
        typer.echo(f"processed {total} inbound mails")
    finally:
        runtime.engine.dispose()


@inbound_app.command("failed")
def failed() -> None:
    """Inbound mails whose processing failed, with the error."""
    runtime = build_runtime(Settings())
    try:
        with session_scope(runtime.engine) as session:
            rows = failed_mails(session)
        if not rows:
            typer.echo("no failed inbound mail")
        for row in rows:
            typer.echo(f"#{row.id} {row.received_at:%Y-%m-%d %H:%M} {row.source}: {row.error}")
    finally:
        runtime.engine.dispose()


@inbound_app.command("retry")
def retry(inbound_id: int = typer.Argument(..., help="The inbound mail's id.")) -> None:
    """Queue a failed inbound mail for processing again."""
    runtime = build_runtime(Settings())
    try:
        with session_scope(runtime.engine) as session:
            inbound = retry_mail(session, inbound_id=inbound_id)
        if inbound is None:
            typer.echo(f"error: no failed inbound mail {inbound_id}", err=True)
            raise typer.Exit(1)
        typer.echo(f"inbound mail #{inbound_id} is queued again")
    finally:
        runtime.engine.dispose()


def mail_reply(
    mail_id: int = typer.Argument(..., help="The caught mail's id (`inbox mail list`)."),
    text: str = typer.Option(..., "--text", help="What the patient writes back."),
) -> None:
    """Answer a caught mail as its recipient would; the reply takes the inbound path."""
    runtime = build_runtime(Settings())
    try:
        result = reply_to_caught(runtime, caught_id=mail_id, text=text)
    except LookupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        runtime.engine.dispose()
    typer.echo(result)


def register(app: typer.Typer, mail_app: typer.Typer) -> None:
    """Add this domain's commands to the `inbox` command."""
    app.add_typer(inbound_app, name="inbound")
    mail_app.command("reply")(mail_reply)
