"""Admin pages: staff accounts (list, create, disable, enable) and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from inbox.deps import RuntimeDep, SessionDep
from inbox.errors import InvalidInput
from inbox.staff import audit, passwords, service
from inbox.staff.deps import AdminStaff, CsrfProtected, staff_context
from inbox.staff.models import StaffUser

router = APIRouter(prefix="/admin", include_in_schema=False)

AUDIT_PAGE_SIZE = 50
NOTICES = {
    "created": "The account was created. Tell its owner the password in person or by phone.",
    "disabled": "The account was disabled and signed out everywhere.",
    "enabled": "The account was enabled.",
}


def _staff_page(
    request: Request,
    session: SessionDep,
    admin: StaffUser,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    context = {
        **staff_context(request, admin),
        "min_password_length": passwords.MIN_LENGTH,
        "accounts": service.list_staff(session),
        "errors": errors or {},
        "values": values or {"email": "", "admin": False},
        "notice": NOTICES.get(notice, ""),
    }
    return request.app.state.templates.TemplateResponse(
        request, "staff/admin_staff.html", context, status_code=status
    )


@router.get("/staff", response_class=HTMLResponse)
def staff_list(
    request: Request, session: SessionDep, admin: AdminStaff, notice: str = ""
) -> HTMLResponse:
    """Every account with its role and state, and the form to add one."""
    return _staff_page(request, session, admin, notice=notice)


@router.post("/staff")
def staff_create(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    admin: AdminStaff,
    _csrf: CsrfProtected,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "staff",
) -> Response:
    """Add an account with a first password chosen by the admin."""
    try:
        service.create_staff(
            session,
            email=email,
            password=password,
            admin=role == "admin",
            now=runtime.clock.now(),
            actor=admin,
            must_change_password=True,
        )
    except InvalidInput as exc:
        return _staff_page(
            request,
            session,
            admin,
            errors=exc.errors,
            status=422,
            values={"email": email, "admin": role == "admin"},
        )
    except service.EmailTaken as exc:
        return _staff_page(
            request,
            session,
            admin,
            errors={"email": exc.message},
            status=409,
            values={"email": email, "admin": role == "admin"},
        )
    return RedirectResponse("/admin/staff?notice=created", status_code=303)


def _set_active(
    session: SessionDep, runtime: RuntimeDep, admin: StaffUser, staff_id: int, active: bool
) -> Response:
    staff = service.get_staff(session, staff_id=staff_id)
    if staff is None:
        raise service.StaffNotFound(f"account #{staff_id}")
    service.set_active(session, staff=staff, active=active, now=runtime.clock.now(), actor=admin)
    return RedirectResponse(
        f"/admin/staff?notice={'enabled' if active else 'disabled'}", status_code=303
    )


@router.post("/staff/{staff_id}/disable")
def staff_disable(
    staff_id: int, runtime: RuntimeDep, session: SessionDep, admin: AdminStaff, _csrf: CsrfProtected
) -> Response:
    """Disable an account; its sessions end at once."""
    return _set_active(session, runtime, admin, staff_id, False)


@router.post("/staff/{staff_id}/enable")
def staff_enable(
    staff_id: int, runtime: RuntimeDep, session: SessionDep, admin: AdminStaff, _csrf: CsrfProtected
) -> Response:
    """Enable a disabled account again."""
    return _set_active(session, runtime, admin, staff_id, True)


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request, session: SessionDep, admin: AdminStaff, before: int | None = None
) -> HTMLResponse:
    """The audit log, newest first, one page at a time (keyset: `?before=<id>`)."""
    entries = audit.list_entries(session, before_id=before, limit=AUDIT_PAGE_SIZE + 1)
    more = len(entries) > AUDIT_PAGE_SIZE
    entries = entries[:AUDIT_PAGE_SIZE]
    context = {
        **staff_context(request, admin),
        "entries": entries,
        "next_before": entries[-1].id if more and entries else None,
        "first_page": before is None,
    }
    return request.app.state.templates.TemplateResponse(request, "staff/audit.html", context)
