"""Staff pages of inbound mail: the admin list of mails that failed processing, with a retry."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from inbox.deps import RuntimeDep, SessionDep
from inbox.errors import NotFound
from inbox.inbound.models import InboundMail, InboundState
from inbox.inbound.process import retry_mail
from inbox.staff import audit
from inbox.staff.deps import AdminStaff, CsrfProtected, CurrentStaff, staff_context

router = APIRouter(prefix="/admin", include_in_schema=False)
mail_router = APIRouter(prefix="/inbox/inbound", include_in_schema=False)
PAGE_SIZE = 200
# The HTML of an inbound mail, already sanitised (nh3), in a sandboxed frame: its inline styles,
# nothing that runs, loads or submits.
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)


class InboundMailNotFound(NotFound):
    pass


def failed_mails(session: Session, *, limit: int = PAGE_SIZE) -> list[InboundMail]:
    """Inbound mails whose processing failed, newest first."""
    return list(
        session.exec(
            select(InboundMail)
            .where(InboundMail.state == InboundState.FAILED)
            .order_by(col(InboundMail.id).desc())
            .limit(limit)
        )
    )


@router.get("/inbound", response_class=HTMLResponse)
def failed_inbound(
    request: Request, session: SessionDep, admin: AdminStaff, retried: int | None = None
) -> HTMLResponse:
    """Inbound mails that could not be processed: when, how they came, the error, a retry."""
    context = {
        **staff_context(request, admin),
        "mails": failed_mails(session),
        "retried": retried,
    }
    return request.app.state.templates.TemplateResponse(request, "inbound/failures.html", context)


@mail_router.get("/{inbound_id}/html")
def inbound_html(inbound_id: int, session: SessionDep, staff: CurrentStaff) -> Response:
    """The sanitised HTML part of an inbound mail, for the sandboxed frame of the timeline."""
    inbound = session.get(InboundMail, inbound_id)
    if inbound is None or inbound.html is None:
        raise InboundMailNotFound("This mail has no HTML part.")
    headers = {"Content-Security-Policy": HTML_CSP, "X-Frame-Options": "SAMEORIGIN",
               "Cache-Control": "no-store"}  # fmt: skip
    return Response(inbound.html, media_type="text/html", headers=headers)


@router.post("/inbound/{inbound_id}/retry")
def retry_inbound(
    inbound_id: int, runtime: RuntimeDep, session: SessionDep, admin: AdminStaff,
    _csrf: CsrfProtected,
) -> Response:  # fmt: skip
    """Queue a failed inbound mail for the worker again (audited)."""
    inbound = retry_mail(session, inbound_id=inbound_id)
    if inbound is None:
        raise InboundMailNotFound(f"There is no failed inbound mail {inbound_id}.")
    audit.record(
        session, actor=admin, action="inbound_retry", target_type="inbound_mail",
        target_id=inbound_id, now=runtime.clock.now(),
    )  # fmt: skip
    return RedirectResponse(f"/admin/inbound?retried={inbound_id}", status_code=303)
