"""Request dependencies of the staff pages: who is signed in, admin-only pages, CSRF.

    @router.get("/inbox")
    def inbox_list(request: Request, staff: CurrentStaff): ...
        return templates.TemplateResponse(request, "review/list.html",
                                          {**staff_context(request, staff), ...})

    @router.post("/conversations/{conversation_id}/approve")
    def approve(staff: CurrentStaff, _csrf: CsrfProtected, ...): ...

A whole router can be protected with
`APIRouter(dependencies=[Depends(require_staff), Depends(verify_csrf)])`; router dependencies run
before the endpoint's own, so a signed-out or token-less request is refused before anything else.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import Depends, Request

from inbox.db import read_scope
from inbox.deps import READING_METHODS, RuntimeDep, SessionDep
from inbox.errors import InboxError, PermissionDenied, wants_json
from inbox.staff import refusals, sessions
from inbox.staff.models import Role, StaffUser
from inbox.staff.sessions import SignedIn

PASSWORD_PAGE = "/account/password"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_MESSAGE = (
    "This form has expired or did not come from this site, so nothing was changed. "
    "Please go back, reload the page and try again."
)


class SignInRequired(InboxError):
    """Signed out (or the session expired): 401 for the API, a 303 to /login for pages."""

    status = 401


def get_signed_in(request: Request, session: SessionDep, runtime: RuntimeDep) -> SignedIn | None:
    """The signed-in staff member and their session, or None (resolved once per request)."""
    if hasattr(request.state, "signed_in"):
        return request.state.signed_in
    settings = runtime.settings
    cookie = sessions.session_cookie(request, settings)
    now = runtime.clock.now()
    if request.method in READING_METHODS or not runtime.sqlite:
        signed_in = sessions.resolve(session, cookie=cookie, settings=settings, now=now)
    else:
        # a change on SQLite: who is signed in is read outside the request's transaction, which
        # holds the database's one write lock from its first statement on; it begins with the
        # handler's own (docs/performance.md), and the rows read here join it without a query
        with read_scope(runtime.engine) as reading:
            found = sessions.resolve(reading, cookie=cookie, settings=settings, now=now)
        signed_in = found and SignedIn(
            staff=session.merge(found.staff, load=False),
            row=session.merge(found.row, load=False),
        )
    request.state.signed_in = signed_in
    return signed_in


SignedInDep = Annotated[SignedIn | None, Depends(get_signed_in)]


def sign_in_required(request: Request) -> SignInRequired:
    """The error for a signed-out request: JSON 401, or a redirect to the login page."""
    if wants_json(request):
        return SignInRequired("Please sign in.")
    refusals.record(request, reason=refusals.SIGNED_OUT, user=None)
    params = {}
    if request.method == "GET":  # without the search: it may hold a patient's name or address
        kept = urlencode(
            [(key, value) for key, value in parse_qsl(request.url.query) if key != "q"]
        )
        params["next"] = request.url.path + (f"?{kept}" if kept else "")
    if sessions.session_cookie(request, request.app.state.runtime.settings):
        params["ended"] = "1"  # had a session that is over: the login page says so
    target = "/login" + (f"?{urlencode(params, quote_via=quote)}" if params else "")
    return SignInRequired("Please sign in.", status=303, headers={"Location": target})


async def require_staff(request: Request, signed_in: SignedInDep) -> StaffUser:
    """The signed-in staff member; signed-out visitors are sent to /login (API: 401), and one
    whose password was set by an administrator to the password page until it is changed.
    (Async: it reads no database, and a sync dependency costs a hop to a thread and back.)"""
    if signed_in is None:
        raise sign_in_required(request)
    if signed_in.staff.must_change_password and request.url.path != PASSWORD_PAGE:
        refusals.record(request, reason=refusals.PASSWORD_CHANGE_DUE)
        if wants_json(request):
            raise PermissionDenied("Please choose your own password first.")
        raise InboxError(
            "Please choose your own password.", status=303, headers={"Location": PASSWORD_PAGE}
        )
    return signed_in.staff


CurrentStaff = Annotated[StaffUser, Depends(require_staff)]


async def require_admin(request: Request, staff: CurrentStaff) -> StaffUser:
    """The signed-in staff member when an admin; 403 otherwise."""
    if staff.role != Role.ADMIN:
        refusals.record(request, reason=refusals.NOT_ADMIN)
        raise PermissionDenied("Only administrators can do this.")
    return staff


AdminStaff = Annotated[StaffUser, Depends(require_admin)]


async def verify_csrf(request: Request, signed_in: SignedInDep) -> None:
    """For POST/PUT/PATCH/DELETE: the form field `csrf_token` or the X-CSRF-Token header must
    match the session's token; 403 otherwise. Safe methods pass."""
    if request.method in SAFE_METHODS:
        return
    if signed_in is None:
        raise sign_in_required(request)
    sent = request.headers.get(CSRF_HEADER)
    if not sent and _is_form(request):
        try:
            value = (await request.form()).get(CSRF_FIELD)
        except Exception:  # noqa: BLE001 - an unreadable body has no token
            value = None
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), signed_in.csrf_token.encode()):
        refusals.record(request, reason=refusals.CSRF)
        raise PermissionDenied(CSRF_MESSAGE)


CsrfProtected = Annotated[None, Depends(verify_csrf)]


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


def staff_context(request: Request, staff: StaffUser) -> dict[str, Any]:
    """What staff/layout.html needs: merge into every staff page's template context."""
    signed_in: SignedIn | None = getattr(request.state, "signed_in", None)
    return {"current_staff": staff, "csrf_token": signed_in.csrf_token if signed_in else ""}
