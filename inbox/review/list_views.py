"""Staff pages that look across conversations: the inbox list and search, failed mail, dashboard.

Handlers read the query string, ask `queries` / `dashboard` and render; nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from inbox.conversations.languages import language_name
from inbox.conversations.models import ConversationKind
from inbox.deps import RuntimeDep, SessionDep
from inbox.followups.service import requeue_unless_suppressed
from inbox.outbox.models import MailState
from inbox.outbox.service import MailNotFound, cancel_mail, get_mail
from inbox.review import failures, queries, team
from inbox.review import search as search_words
from inbox.review.actions import requeue_failed_mail
from inbox.review.urgency import badge
from inbox.runtime import Runtime
from inbox.staff import audit
from inbox.staff.deps import CsrfProtected, CurrentStaff, staff_context
from inbox.staff.models import StaffUser

router = APIRouter()

KIND_CHOICES = [(kind.value, kind.label) for kind in ConversationKind]


@router.get("/inbox", name="inbox")
def inbox_list(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
    tab: str | None = None,
    search: str = "",
    kind: str = "",
    tag: str = "",
    after: str | None = None,
    done: str = "",
    count: int = 0,
    skipped: int = 0,
) -> Response:
    """One page of a tab (needs review by default; every state when searching). A search is
    posted (`/inbox/search`) and carried as the id of the kept search, never as its words."""
    now = runtime.clock.now()
    q = search_words.kept_search(session, ident=search, staff_id=staff.id or 0, now=now) or ""
    terms = search_words.search_terms(q)
    chosen = queries.get_tab(tab or ("all" if terms else "review"))
    kind = kind if kind in ConversationKind._value2member_map_ else ""
    tag = team.clean_tags(tag)[0] if tag.strip() and team.clean_tags(tag) else ""
    cursor = queries.Cursor.decode(after) if after else None
    filters = queries.Filters(terms=terms, kind=kind or None, tag=tag or None, staff_id=staff.id)
    page = queries.list_conversations(session, tab=chosen, filters=filters, after=cursor)
    kept = search if q else ""

    def link(**params: str) -> str:
        kept_params = {
            "tab": params.get("tab", chosen.slug),
            "search": kept,
            "kind": params.get("kind", kind),
            "tag": params.get("tag", tag),
            "after": params.get("after", ""),
        }
        return "/inbox?" + urlencode({key: value for key, value in kept_params.items() if value})

    context = {
        **staff_context(request, staff),
        "tabs": queries.TABS,
        "tab": chosen,
        "tab_chosen": tab is not None,  # a search from the default page looks in every state
        "counts": queries.tab_counts(session, staff_id=staff.id),
        "count_cap": queries.COUNT_CAP,
        "q": q,
        "search_id": kept,
        "expired_search": bool(search) and not q,
        "searched": bool(terms),
        "ignored_query": bool(q) and not terms,
        "kind": kind,
        "tag": tag,
        "kinds": KIND_CHOICES,
        "kind_labels": dict(KIND_CHOICES),
        "colleagues": team.colleagues(session),
        "rows": [_row_view(row, runtime) for row in page.rows],
        "tab_link": lambda slug: link(tab=slug, after=""),
        "filter_link": lambda **params: link(after="", **params),
        "here": link(after=after or ""),
        "next_link": link(after=page.next_cursor.encode()) if page.next_cursor else None,
        "first_link": link() if cursor else None,
        "bulk_done": _bulk_done(done, count, skipped),
    }
    return request.app.state.templates.TemplateResponse(request, "review/list.html", context)


@router.post("/inbox/search", name="inbox_search")
def post_search(
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
    _csrf: CsrfProtected,
    q: Annotated[str, Form()] = "",
    tab: Annotated[str, Form()] = "",
) -> Response:
    """Keep the search on the server and show its results; the words stay out of the URL."""
    q = q.strip()[: search_words.MAX_QUERY_LENGTH]
    params = {"tab": tab} if tab in queries.TABS_BY_SLUG else {}
    if q:
        params["search"] = search_words.keep_search(
            session, staff_id=staff.id or 0, query=q, now=runtime.clock.now()
        )
        session.commit()  # visible before the browser follows the redirect
    return RedirectResponse("/inbox?" + urlencode(params), status_code=303)


def _bulk_done(done: str, count: int, skipped: int) -> str | None:
    verbs = {"close": "closed", "spam": "marked as spam", "assign": "assigned"}
    if done not in verbs:
        return None
    text = f"{count} conversation{'' if count == 1 else 's'} {verbs[done]}."
    if skipped:
        text += f" {skipped} could not be (already closed or answered meanwhile)."
    return text


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
        "kind": row.kind,
        "assignee": row.assignee,
        "tags": row.tags,
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
    page = failures.list_failed_mails(session, after=after)
    context = {
        **staff_context(request, staff),
        "page": page,
        "mask": failures.mask_address,
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
