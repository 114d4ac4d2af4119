"""The JSON API for the site's own JavaScript: POST /api/v1/messages."""

from __future__ import annotations

import json
from typing import Any

import email_validator
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic.json_schema import JsonDict

from inbox.config import Settings
from inbox.conversations.models import MessageStatus
from inbox.deps import RuntimeDep
from inbox.errors import InboxError, InvalidInput, PermissionDenied
from inbox.intake.flow import submit
from inbox.intake.spam import issue_form_token
from inbox.intake.validation import Limits, parse_submission

router = APIRouter(prefix="/api/v1", tags=["messages"])


# What the validation (`inbox.intake.validation`) accepts, said in the document: a line of text
# with something besides spaces and control characters in it (JSON Schema `pattern` searches)
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f]"
_ONE_LINE: JsonDict = {"pattern": _VISIBLE, "not": {"pattern": "[\r\n\u2028\u2029\x85\x0b\x0c]"}}
# an address at a name reserved for tests or local networks can never receive our reply
_RESERVED = "|".join(
    "".join(f"[{c.upper()}{c}]" for c in name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
)
_MAIL_ADDRESS: JsonDict = {"format": "email", "not": {"pattern": rf"[.@]({_RESERVED})\.?$"}}


class MessageIn(BaseModel):
    """A Leave Message submission."""

    name: str = Field(max_length=100, examples=["Karim Haddad"], json_schema_extra=_ONE_LINE)
    email: str = Field(
        max_length=320, examples=["karim@example.com"], json_schema_extra=_MAIL_ADDRESS
    )
    subject: str = Field(
        max_length=200, examples=["Cramps at the end of dialysis"], json_schema_extra=_ONE_LINE
    )
    message: str = Field(max_length=5000, pattern=_VISIBLE)
    page: str | None = Field(default=None, description="URL of the article the form sits under")
    phone: str | None = Field(
        default=None,
        max_length=40,
        pattern=r"^\+44[1-9][0-9]{9}$",
        examples=["+442079460000"],
        description="Optional; the writer agrees to be phoned about this message. Shown here "
        "in the international form; a local number of the hospital's region is taken too",
    )
    form_token: str | None = Field(
        default=None,
        description="From GET /api/v1/form-token when the form is shown; without a valid one, "
        "or sent within seconds of it, the message is kept as spam and never answered",
    )
    website: str | None = Field(default=None, description="Honeypot: leave empty")


class MessageOut(BaseModel):
    id: int = Field(description="The stored message's id")
    status: str = Field(description="accepted, duplicate (folded into an earlier identical one)")
    urgent: bool = Field(description="True when the message may describe an emergency")
    emergency_instruction: str = Field(
        description="One line to show the writer whatever `urgent` says: what to do in an emergency"
    )


class ValidationProblem(BaseModel):
    detail: str
    errors: dict[str, str] = Field(description="A message per wrong field")


class Problem(BaseModel):
    detail: str


class FormToken(BaseModel):
    form_token: str


def is_json(content_type: str) -> bool:
    """Whether the body is declared `application/json` (parameters such as charset aside): a
    `text/plain` body is what a page of any origin may post without asking first (CORS)."""
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def check_origin(request: Request, settings: Settings) -> None:
    """Refuse (403) a browser request from a page that is not the service's or one of
    INBOX_ALLOWED_ORIGINS; a client that sends no Origin (a server, curl) is not a browser."""
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/").lower() not in settings.api_origins():
        raise PermissionDenied("This site may not send messages here.")


@router.post(
    "/messages",
    status_code=201,
    response_model=MessageOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": MessageIn.model_json_schema()}},
        }
    },
    responses={
        403: {"model": Problem, "description": "Sent from a page of another site"},
        413: {"model": Problem, "description": "Body too large"},
        415: {"model": Problem, "description": "Not JSON"},
        422: {"model": ValidationProblem, "description": "Per-field errors"},
        429: {"model": Problem, "description": "Too many messages; see Retry-After"},
        503: {"model": Problem, "description": "Not saved just now; see Retry-After"},
    },
)
async def create_message(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Store a message left on the website; 201 with its id, or 422 with per-field errors."""
    check_origin(request, runtime.settings)
    if not is_json(request.headers.get("content-type", "")):
        raise InboxError("Send the message as JSON (Content-Type: application/json).", status=415)
    try:
        payload: Any = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput({"body": "The body is not valid JSON."}) from exc
    if not isinstance(payload, dict):
        raise InvalidInput({"body": "Send one JSON object with name, email, subject and message."})
    raw = {key: [value] for key, value in payload.items() if isinstance(value, str)}
    wrong_type = {
        key: "Must be text."
        for key, value in payload.items()
        if key in MessageIn.model_fields and value is not None and not isinstance(value, str)
    }
    submission, errors = parse_submission(raw, Limits.from_settings(runtime.settings))
    errors = {**errors, **wrong_type}
    if submission is None or errors:
        raise InvalidInput(errors)
    receipt = await submit(submission, request=request, channel="api")
    body = MessageOut(
        id=receipt.duplicate_of or receipt.message_id,
        status=MessageStatus.ACCEPTED if receipt.status == MessageStatus.SPAM else receipt.status,
        urgent=receipt.urgent,
        emergency_instruction=runtime.renderer.emergency_line,
    )
    return JSONResponse(body.model_dump(), status_code=201)


@router.get("/form-token", response_model=FormToken)
async def form_token(runtime: RuntimeDep) -> FormToken:
    """A signed time-trap token to send back with the message."""
    return FormToken(
        form_token=issue_form_token(runtime.settings.secret_key, now=runtime.clock.now())
    )
