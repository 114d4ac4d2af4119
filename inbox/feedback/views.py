"""The public "did this help?" pages a reply's section links open.

Opening a link changes nothing (mail scanners open links): the GET shows the question with a
Yes and a No button, the POST records the answer. No sign-in, cookie or CSRF token: the signed
token in the URL is the proof. The page says nothing of the patient's message.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from inbox.deps import RuntimeDep, SessionDep
from inbox.feedback import service
from inbox.feedback.links import PATH, Rated, read_token

router = APIRouter(prefix=PATH)
ANSWERS = {"yes": True, "no": False}


def _page(
    request: Request,
    runtime: RuntimeDep,
    *,
    state: str,
    rated: Rated | None = None,
    chosen: str = "",
    status: int = 200,
) -> Response:
    section = runtime.knowledge.section(rated.section_id) if rated else None
    response = request.app.state.templates.TemplateResponse(
        request,
        "feedback/answer.html",
        {
            "state": state,
            "section_title": section.title if section else None,
            "chosen": chosen,
            "hospital_name": runtime.settings.hospital_name,
            "emergency_number": runtime.settings.emergency_number,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token must not leak to other sites
    return response


@router.get("/{token}", name="feedback")
def ask(request: Request, token: str, runtime: RuntimeDep, answer: str = "") -> Response:
    """The question with one button per answer; the one the link chose comes first."""
    rated = read_token(runtime.settings, token)
    if rated is None:
        return _page(request, runtime, state="invalid", status=400)
    chosen = answer if answer in ANSWERS else ""
    return _page(request, runtime, state="ask", rated=rated, chosen=chosen)


@router.post("/{token}")
def answer(
    request: Request,
    token: str,
    session: SessionDep,
    runtime: RuntimeDep,
    helpful: Annotated[str, Form()] = "",
) -> Response:
    """Record the answer (a second one replaces the first)."""
    rated = read_token(runtime.settings, token)
    if rated is None:
        return _page(request, runtime, state="invalid", status=400)
    if helpful not in ANSWERS:
        return _page(request, runtime, state="ask", rated=rated, status=422)
    service.record_answer(
        session,
        message_id=rated.message_id,
        section_id=rated.section_id,
        helpful=ANSWERS[helpful],
        now=runtime.clock.now(),
    )
    return _page(request, runtime, state="done", rated=rated, chosen=helpful)
