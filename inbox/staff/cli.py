"""`inbox staff …`: create accounts, set passwords, disable and enable accounts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer
from sqlmodel import Session

from inbox.clock import SystemClock
from inbox.config import Settings
from inbox.db import create_db_engine, session_scope
from inbox.errors import InboxError, InvalidInput
from inbox.staff import service
from inbox.staff.models import StaffUser

staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
EMAIL = typer.Argument(..., help="The account's e-mail address (its login).")
PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Read the password from stdin.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@contextmanager
def _transaction() -> Iterator[tuple[Session, datetime]]:
    """One committed transaction on the configured database; domain errors end the command."""
    engine = create_db_engine(Settings().database_url, pooled=False)
    try:
        with session_scope(engine) as session:
            yield session, SystemClock().now()
    except InvalidInput as exc:
        for text in exc.errors.values():
            typer.echo(f"error: {text}", err=True)
        raise typer.Exit(2) from exc
    except InboxError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def _account(session: Session, email: str) -> StaffUser:
    staff = service.get_by_email(session, email=email)
    if staff is None:
        raise service.StaffNotFound(email)
    return staff


@staff_app.command("create")
def create(
    email: str = EMAIL,
    admin: bool = typer.Option(
        False, "--admin", help="May manage accounts and read the audit log."
    ),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create a staff account (asks for the password twice unless --password-stdin)."""
    password = _read_password(password_stdin)
    with _transaction() as (session, now):
        staff = service.create_staff(
            session, email=email, password=password, admin=admin, now=now, actor="cli"
        )
        typer.echo(f"created {staff.role} {staff.email}")


@staff_app.command("password")
def password(email: str = EMAIL, password_stdin: bool = PASSWORD_STDIN) -> None:
    """Set a new password for an account; it is signed out everywhere and must choose its own
    at the next sign-in."""
    new_password = _read_password(password_stdin)
    with _transaction() as (session, now):
        staff = _account(session, email)
        service.change_password(
            session, staff=staff, password=new_password, now=now, actor="cli", must_change=True
        )
        typer.echo(f"password changed for {staff.email}")


def _set_active(email: str, *, active: bool) -> None:
    with _transaction() as (session, now):
        staff = _account(session, email)
        service.set_active(session, staff=staff, active=active, now=now, actor="cli")
        typer.echo(f"{'enabled' if active else 'disabled'} {staff.email}")


@staff_app.command("disable")
def disable(email: str = EMAIL) -> None:
    """Disable an account; it is signed out everywhere and cannot sign in."""
    _set_active(email, active=False)


@staff_app.command("enable")
def enable(email: str = EMAIL) -> None:
    """Enable a disabled account again."""
    _set_active(email, active=True)


def register(app: typer.Typer) -> None:
    """Add `inbox staff …` to the `inbox` command."""
    app.add_typer(staff_app, name="staff")
