"""One error hierarchy for the domain, mapped to HTTP in one place (`install_handlers`)."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

log = logging.getLogger(__name__)


class InboxError(Exception):
    """A problem a client or staff member can understand; `status` is its HTTP status."""

    status = 400

    def __init__(
        self, message: str, *, status: int | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}


class NotFound(InboxError):
    status = 404


class PermissionDenied(InboxError):
    status = 403


class Conflict(InboxError):
    """The thing changed since the client saw it (optimistic locking) or is in the wrong state."""

    status = 409


class PayloadTooLarge(InboxError):
    status = 413


class RateLimited(InboxError):
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class DatabaseUnavailable(InboxError):
    """The database cannot be reached or cannot write now: try again in a minute."""

    status = 503
    retry_after = 60

    def __init__(
        self, message: str = "We could not do this just now. Please try again in a minute."
    ):
        super().__init__(message, headers={"Retry-After": str(self.retry_after)})


class BodyTooLarge(Exception):
    """Raised while a handler reads a body past the size limit (see middleware.BodySizeLimit)."""


# What the database driver raises when the database is down, stalled, locked or full.
# The driver's own classes too: the intake writer talks to the driver directly.
DATABASE_FAULTS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sqlite3.OperationalError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


class InvalidInput(InboxError):
    """Per-field problems: {"email": "…", "message": "…"}."""

    status = 422

    def __init__(self, errors: dict[str, str]):
        super().__init__("Please correct the highlighted fields.")
        self.errors = errors


def wants_json(request: Request) -> bool:
    return (
        request.url.path.startswith("/api/")
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


def error_response(request: Request, status: int, message: str, **extra: Any) -> Response:
    """The body for an error: JSON for the API, a small HTML page for browsers."""
    headers = extra.pop("headers", None)
    if wants_json(request):
        return JSONResponse({"detail": message, **extra}, status_code=status, headers=headers)
    templates = getattr(request.app.state, "templates", None)
    if templates is None:
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status, headers=headers)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
        headers=headers,
    )


def install_handlers(app: FastAPI) -> None:
    """Map domain errors, HTTP errors and anything unexpected to clean responses."""

    @app.exception_handler(InboxError)
    async def _inbox_error(request: Request, exc: InboxError) -> Response:
        extra: dict[str, Any] = {"headers": exc.headers}
        if isinstance(exc, InvalidInput):
            extra["errors"] = exc.errors
        return error_response(request, exc.status, exc.message, **extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        return error_response(
            request, exc.status_code, message, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors: dict[str, str] = {}
        for item in exc.errors():
            location = [str(part) for part in item.get("loc", ()) if part not in ("body", "query")]
            errors.setdefault(".".join(location) or "body", item.get("msg", "invalid"))
        return error_response(request, 422, "Please correct the highlighted fields.", errors=errors)

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return Response(status_code=400)

    for fault in DATABASE_FAULTS:
        app.add_exception_handler(fault, _database_fault)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "Something went wrong on our side. Please try again.")


async def _database_fault(request: Request, exc: Exception) -> Response:
    """A database outage is a 503 the client can retry, handled inside the app so that the
    server keeps the connection open (an unhandled error makes uvicorn drop it)."""
    log.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    fault = DatabaseUnavailable()
    return error_response(request, fault.status, fault.message, headers=fault.headers)
