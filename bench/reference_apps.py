"""Reference servers for bench/intake.py, measured in the same run as the real endpoint.

- `ceiling`: a bare Starlette app that reads the form and inserts one row with the stdlib
  sqlite3 module on the event loop (WAL, synchronous=NORMAL, one connection per process).
- `naive`: a textbook FastAPI endpoint with Form(...) parameters and a sync SQLModel Session
  commit per request.
Run as `python -m uvicorn --factory bench.reference_apps:ceiling` with BENCH_DB set.
"""

from __future__ import annotations

import os
import sqlite3
import time

from fastapi import FastAPI, Form
from fastapi.responses import RedirectResponse
from pydantic import EmailStr
from sqlmodel import Field, Session, SQLModel, create_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS submission (id INTEGER PRIMARY KEY, name TEXT, email TEXT,"
    " subject TEXT, body TEXT, page TEXT, received_at REAL)"
)


def ceiling() -> Starlette:
    connection = sqlite3.connect(
        os.environ["BENCH_DB"], isolation_level=None, check_same_thread=False
    )
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(_SCHEMA)

    async def contact(request: Request) -> Response:
        form = await request.form()
        connection.execute(
            "INSERT INTO submission (name, email, subject, body, page, received_at)"
            " VALUES (?,?,?,?,?,?)",
            (
                form.get("name"),
                form.get("email"),
                form.get("subject"),
                form.get("message"),
                form.get("page"),
                time.time(),
            ),
        )
        return Response(status_code=303, headers={"location": "/contact/thanks"})

    return Starlette(routes=[Route("/contact", contact, methods=["POST"])])


class Submission(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str
    subject: str
    body: str
    page: str | None = None
    received_at: float


def naive() -> FastAPI:
    engine = create_engine(
        f"sqlite:///{os.environ['BENCH_DB']}", connect_args={"check_same_thread": False}
    )
    SQLModel.metadata.create_all(engine)
    app = FastAPI()

    @app.post("/contact")
    def contact(
        name: str = Form(...),
        email: EmailStr = Form(...),
        subject: str = Form(...),
        message: str = Form(...),
        page: str | None = Form(None),
    ) -> RedirectResponse:
        with Session(engine) as session:
            session.add(
                Submission(
                    name=name,
                    email=email,
                    subject=subject,
                    body=message,
                    page=page,
                    received_at=time.time(),
                )
            )
            session.commit()
        return RedirectResponse("/contact/thanks", status_code=303)

    return app
