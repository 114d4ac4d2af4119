"""The `inbox` command: serve, worker, database, staff, mail, evaluation and privacy tasks."""

from __future__ import annotations

import asyncio
import os

import typer

from inbox.config import Settings, WeakSecret
from inbox.db import upgrade
from inbox.demo import seed_demo
from inbox.drafting.labels import staff_labels
from inbox.followups.service import requeue_unless_suppressed
from inbox.inbound import cli as inbound_cli
from inbox.knowledge import cli as knowledge_cli
from inbox.knowledge import editor as knowledge_editor
from inbox.knowledge.training import cli as training_cli
from inbox.logs import configure_logging, log_config
from inbox.main import create_app
from inbox.outbox import cli as outbox_cli
from inbox.privacy import cli as privacy_cli
from inbox.runtime import build_runtime
from inbox.serving import uvicorn_options
from inbox.staff import cli as staff_cli
from inbox.worker import run_until_signalled

app = typer.Typer(
    help="inbox: the service behind the hospital's Leave Message form.", no_args_is_help=True
)
db_app = typer.Typer(help="Database tasks.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def refuse_weak_secret(settings: Settings) -> None:
    """Stop with exit code 2 unless INBOX_SECRET_KEY is strong (or INBOX_DEV_MODE=true)."""
    try:
        settings.require_strong_secret()
    except WeakSecret as exc:
        typer.echo(f"error: {exc} (it signs sessions, form tokens and links)", err=True)
        raise typer.Exit(2) from exc


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply database migrations (safe to run repeatedly)."""
    settings = Settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def worker(
    concurrency: int = typer.Option(None, help="SMTP connections (INBOX_WORKER_CONCURRENCY)."),
) -> None:
    """Run the delivery worker (and the periodic jobs) until SIGTERM or Ctrl-C."""
    settings = Settings()
    configure_logging(settings.log_level)
    try:
        settings.require_strong_secret()  # the worker signs unsubscribe links
    except WeakSecret as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    runtime = build_runtime(settings)

    def started(worker_id: str) -> None:
        typer.echo(f"worker {worker_id} started", err=True)

    try:
        asyncio.run(run_until_signalled(runtime, concurrency=concurrency, started=started))
    finally:
        runtime.engine.dispose()


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to listen on (INBOX_HOST)."),
    port: int = typer.Option(None, help="Port to listen on (INBOX_PORT)."),
    migrate: bool = typer.Option(True, help="Apply migrations before starting."),
    workers: int = typer.Option(1, help="Web processes (use with PostgreSQL)."),
) -> None:
    """Run the web service (and, unless INBOX_RUN_WORKER=false, the delivery worker in-process)."""
    import uvicorn

    settings = Settings()
    configure_logging(settings.log_level)
    host = host or settings.host
    port = port or settings.port
    refuse_weak_secret(settings)
    if migrate and settings.migrate_on_start:
        upgrade(settings.database_url)
    if settings.demo_seed:
        demo_runtime = build_runtime(settings)
        login = seed_demo(demo_runtime)
        demo_runtime.engine.dispose()
        typer.echo(f"demo staff login: {login.email} / {login.password}")
        typer.echo(
            "  an admin: the first sign-in sets up an authenticator app (scan the QR code); "
            "without one, the key under it gives the code: "
            ".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('KEY').now())\""
        )
    typer.echo(
        f"inbox is listening on http://{host}:{port}  (staff inbox: http://{host}:{port}/inbox)"
    )
    if workers > 1:
        os.environ.setdefault("INBOX_RUN_WORKER", str(settings.run_worker).lower())
        uvicorn.run(
            "inbox.main:create_served_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=False,  # the app reads them (create_app), from INBOX_TRUSTED_PROXIES
            access_log=settings.access_log,
            log_config=log_config(settings.log_level),
            **uvicorn_options(max_connections=settings.max_connections),
        )
        return
    web_app = create_app(settings, serving=True)
    uvicorn.run(
        web_app,
        host=host,
        port=port,
        proxy_headers=False,  # the app reads them (create_app), from INBOX_TRUSTED_PROXIES
        access_log=settings.access_log,
        log_config=log_config(settings.log_level),
        **uvicorn_options(max_connections=settings.max_connections),
    )


inbound_cli.register(app, outbox_cli.mail_app)
knowledge_cli.register(app)
knowledge_editor.register(app)
training_cli.register(app, staff_labels=staff_labels)
outbox_cli.register(app, requeue=requeue_unless_suppressed)
privacy_cli.register(app)
staff_cli.register(app)
