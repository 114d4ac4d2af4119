"""Staff pages that look across conversations: the inbox list and search, failed mail, dashboard.

Handlers read the query string, ask `queries` / `dashboard` and render; nothing else.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from inbox.conversations.languages import language_name
from inbox.deps import RuntimeDep, SessionDep
from inbox.followups.service import requeue_unless_suppressed
from inbox.outbox.models import MailState
from inbox.outbox.service import MailNotFound, cancel_mail, get_mail
from inbox.review import queries, search
from inbox.review.actions import requeue_failed_mail
from inbox.review.urgency import badge
from inbox.runtime import Runtime
from inbox.staff import audit
from inbox.staff.deps import CsrfProtected, CurrentStaff, staff_context
from inbox.staff.models import StaffUser

router = APIRouter()

MAX_QUERY_LENGTH = 200


@router.get("/inbox", name="inbox")
def inbox_list(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
    tab: str | None = None,
    q: str = "",
    after: str | None = None,
) -> Response:
    """One page of a tab (needs review by default; every state when searching)."""
    q = q.strip()[:MAX_QUERY_LENGTH]
    terms = search.search_terms(q)
    chosen = queries.get_tab(tab or ("all" if terms else "review"))
    cursor = queries.Cursor.decode(after) if after else None
    page = queries.list_conversations(session, tab=chosen, terms=terms, after=cursor)

    def link(**params: str) -> str:
        kept = {"tab": params.get("tab", chosen.slug), "q": q, "after": params.get("after", "")}
        return "/inbox?" + urlencode({key: value for key, value in kept.items() if value})

    context = {
        **staff_context(request, staff),
        "tabs": queries.TABS,
        "tab": chosen,
        "tab_chosen": tab is not None,  # a search from the default page looks in every state
        "counts": queries.tab_counts(session),
        "count_cap": queries.COUNT_CAP,
        "q": q,
        "searched": bool(terms),
        "ignored_query": bool(q) and not terms,
        "rows": [_row_view(row, runtime) for row in page.rows],
        "tab_link": lambda slug: link(tab=slug),
        "next_link": link(after=page.next_cursor.encode()) if page.next_cursor else None,
        "first_link": link() if cursor else None,
    }
    return request.app.state.templates.TemplateResponse(request, "review/list.html", context)


def _row_view(row: queries.Row, runtime: Runtime) -> dict:
    sections = []
    for section_id in row.section_ids:
        section = runtime.knowledge.section(section_id)
        sections.append(section.title if section else section_id)
    return {
        "id": row.id,
        "subject": row.subject or "(no subject)",
        "name": row.name,
        "email": row.email,
        "state": row.state,
        "urgent": row.urgent,
        "badge": badge(urgent=row.urgent, urgency=row.urgency, needs_reader=row.needs_reader),
        "reasons": row.urgency_reasons,
        "language": language_name(row.language) if row.language else None,
        "needs_reader": row.needs_reader,
        "excerpt": row.excerpt,
        "sections": sections,
        "at": row.last_message_at,
    }


# --- failed mail


@router.get("/outbox/failures", name="outbox_failures")
def failed_mails(
    request: Request,
    session: SessionDep,
    staff: CurrentStaff,
    after: int | None = None,
    requeued: int | None = None,
    cancelled: int | None = None,
    suppressed: int | None = None,
) -> Response:
    """Every mail that failed for good, with the server's reason, every mail held by the hourly
    cap of automatic mail, and how many are pending."""
    page = queries.list_failed_mails(session, after=after)
    context = {
        **staff_context(request, staff),
        "page": page,
        "mask": queries.mask_address,
        "requeued": requeued,
        "cancelled": cancelled,
        "suppressed": suppressed,
        "next_link": f"/outbox/failures?after={page.next_after}" if page.next_after else None,
    }
    return request.app.state.templates.TemplateResponse(request, "review/failures.html", context)


@router.post("/outbox/mails/{mail_id}/retry", name="outbox_retry")
def retry_mail(
    mail_id: int,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
    _csrf: CsrfProtected,
) -> Response:
    """Queue a failed or held mail again (same Message-ID); a conversation's reply goes back to
    queued; an automatic mail to an address suppressed since is cancelled instead."""
    now = runtime.clock.now()
    mail = get_mail(session, mail_id=mail_id)
    if mail is None:
        raise MailNotFound(f"There is no mail {mail_id}.")
    if mail.conversation_id is not None:
        mail = requeue_failed_mail(
            session, conversation_id=mail.conversation_id, mail_id=mail_id, staff=staff, now=now
        )
    else:
        mail = requeue_unless_suppressed(session, mail_id=mail_id, now=now)
        _audit_mail(session, staff=staff, action="retry", mail_id=mail_id, now=now)
    outcome = "suppressed" if mail.state == MailState.CANCELLED else "requeued"
    return RedirectResponse(f"/outbox/failures?{outcome}={mail_id}", status_code=303)


@router.post("/outbox/mails/{mail_id}/cancel", name="outbox_cancel")
def cancel_held_mail(
    mail_id: int,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
    _csrf: CsrfProtected,
) -> Response:
    """Withdraw a held or failed mail for good: staff decided it should not go."""
    now = runtime.clock.now()
    cancel_mail(session, mail_id=mail_id, now=now, reason=f"cancelled by staff member {staff.id}")
    _audit_mail(session, staff=staff, action="cancel mail", mail_id=mail_id, now=now)
    return RedirectResponse(f"/outbox/failures?cancelled={mail_id}", status_code=303)


def _audit_mail(
    session: Session, *, staff: StaffUser, action: str, mail_id: int, now: datetime
) -> None:
    audit.record(
        session, actor=staff, action=action, target_type="outbox_mail", target_id=mail_id, now=now
    )
