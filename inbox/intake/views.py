"""The public Leave Message form: GET shows it, POST stores the message and redirects (303)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer

from inbox.deps import RuntimeDep
from inbox.errors import DATABASE_FAULTS, BodyTooLarge, DatabaseUnavailable, RateLimited
from inbox.intake.flow import submit
from inbox.intake.spam import form_age_seconds, issue_form_token
from inbox.intake.validation import FIELDS, Limits, parse_submission
from inbox.runtime import Runtime

# a refused submission: the form again, with why (never a 500)
REFUSED: tuple[type[Exception], ...] = (RateLimited, DatabaseUnavailable, *DATABASE_FAULTS)

router = APIRouter(tags=["public form"], include_in_schema=False)

LABELS = {
    "name": "Name",
    "email": "E-mail",
    "subject": "Subject",
    "message": "Your message",
    "phone": "Phone number (optional)",
}
_THANKS_SALT = "inbox.thanks"
_NOT_SAVED = (
    "We could not save your message just now. Please try again in a minute: "
    "what you wrote is still below."
)
THANKS_PATH = "/contact/thanks"


def allowed_redirect(url: str | None, allowed_origins: list[str]) -> str | None:
    """`url` when its origin is one of ours, else None (no open redirect)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return url if origin in {item.rstrip("/").lower() for item in allowed_origins} else None


def _render_form(
    request: Request,
    runtime: Runtime,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status: int,
    form_token: str | None = None,
) -> HTMLResponse:
    """The form, with `values` filled in. A form shown again keeps the token it was first served
    with (when genuine), so correcting a field does not restart the fill-in timer."""
    settings = runtime.settings
    now = runtime.clock.now()
    if not form_token or form_age_seconds(settings.secret_key, form_token, now=now) is None:
        form_token = issue_form_token(settings.secret_key, now=now)
    limits = {
        "name": settings.max_name_length,
        "email": 320,
        "subject": settings.max_subject_length,
        "message": settings.max_message_length,
    }
    context: dict[str, Any] = {
        "hospital_name": settings.hospital_name,
        "emergency_number": settings.emergency_number,
        "action": request.url_for("contact_submit").path,
        "form_token": form_token,
        "values": {key: values.get(key, "") for key in (*FIELDS, "page", "next", "phone")},
        "errors": errors,
        "labels": LABELS,
        "limits": limits,
    }
    return request.app.state.templates.TemplateResponse(
        request, "intake/form.html", context, status_code=status
    )


@router.get("/contact", response_class=HTMLResponse)
async def contact_form(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The Leave Message form, embeddable under any article."""
    values = {
        "page": request.query_params.get("page", ""),
        "next": request.query_params.get("next", ""),
    }
    return _render_form(request, runtime, values=values, errors={}, status=200)


async def contact_submit(request: Request) -> Response:
    """Store the message; 303 to the thank-you page, or the form again with field errors (422).

    The public form's hot path, so a plain Starlette endpoint, added first by create_app: it
    needs no dependency injection and no request model, and FastAPI's per-request machinery for
    them costs as much as storing.
    """
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    try:
        raw = await read_form(request)
    except BodyTooLarge:
        raise  # answered 413 by the body-size guard
    except Exception:  # noqa: BLE001 - a malformed body is the client's problem, not a 500
        return _render_form(
            request,
            runtime,
            values={},
            status=400,
            errors={"message": "We could not read what your browser sent. Please try again."},
        )
    values = {key: str(raw[key][0]) for key in raw if raw[key] and isinstance(raw[key][0], str)}
    token = values.get("form_token")
    submission, errors = parse_submission(raw, Limits.from_settings(settings))
    if submission is None:
        return _render_form(
            request, runtime, values=values, errors=errors, status=422, form_token=token
        )
    try:
        receipt = await submit(submission, request=request, channel="form")
    except REFUSED as exc:
        refusal = exc if isinstance(exc, RateLimited) else DatabaseUnavailable(_NOT_SAVED)
        response = _render_form(
            request,
            runtime,
            values=values,
            errors={"message": refusal.message},
            status=refusal.status,
            form_token=token,
        )
        response.headers.update(refusal.headers)
        return response
    # Always our own thank-you page, never straight back to `next`: it carries the emergency
    # line whatever the triage said, and links back to the article.
    target = allowed_redirect(submission.next_url, settings.allowed_origins)
    return RedirectResponse(
        thanks_location(settings.secret_key, urgent=receipt.urgent, next_url=target),
        status_code=303,
    )


async def read_form(request: Request, *, max_fields: int = 50) -> dict[str, list[Any]]:
    """The posted fields, each with all its values (files are refused).

    URL-encoded bodies, what browsers send, are split by the standard library, exactly as
    Starlette decodes them (bytes as Latin-1, then %-escapes as UTF-8 with replacement) but
    without python-multipart's streaming parser (docs/performance.md).
    Multipart bodies go through Starlette's parser."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        form = await request.form(max_files=0, max_fields=max_fields)
        return {key: form.getlist(key) for key in form}
    body = (await request.body()).decode("latin-1")
    fields: dict[str, list[Any]] = {}
    pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=max_fields, errors="replace")
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


@lru_cache(maxsize=256)
def thanks_location(secret_key: str, *, urgent: bool, next_url: str | None) -> str:
    """Our thank-you page, with a signed ticket saying what to show. A literal path: url_for
    walks every route. Cached: most submissions share one of a few tickets."""
    ticket = URLSafeSerializer(secret_key, salt=_THANKS_SALT).dumps({"u": urgent, "n": next_url})
    return f"{THANKS_PATH}?t={ticket}"


@router.get(THANKS_PATH, name="contact_thanks", response_class=HTMLResponse)
async def contact_thanks(request: Request, runtime: RuntimeDep, t: str = "") -> HTMLResponse:
    """Confirmation with the emergency line; fuller emergency advice when the message looked
    urgent."""
    try:
        ticket = URLSafeSerializer(runtime.settings.secret_key, salt=_THANKS_SALT).loads(t)
    except BadSignature:
        ticket = {}
    context = {
        "hospital_name": runtime.settings.hospital_name,
        "emergency_number": runtime.settings.emergency_number,
        "urgent": bool(ticket.get("u")),
        "next_url": allowed_redirect(ticket.get("n"), runtime.settings.allowed_origins),
    }
    return request.app.state.templates.TemplateResponse(request, "intake/thanks.html", context)


@router.get("/contact/embed.html", response_class=HTMLResponse)
async def contact_embed(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """Instructions and an HTML snippet for the site's developer."""
    public = runtime.settings.public_url.rstrip("/")
    snippet = (
        f'<iframe src="{public}/contact?page=ARTICLE-URL&amp;next=ARTICLE-URL" '
        'title="Leave a message" style="width:100%;min-height:760px;border:0" '
        'loading="lazy"></iframe>'
    )
    context = {
        "hospital_name": runtime.settings.hospital_name,
        "iframe_snippet": snippet,
        "public_url": public,
    }
    return request.app.state.templates.TemplateResponse(request, "intake/embed.html", context)
