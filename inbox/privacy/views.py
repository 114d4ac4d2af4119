"""The admin page for a person's rights: export everything about an address, or erase it."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import Response

from inbox.deps import RuntimeDep, SessionDep
from inbox.errors import InvalidInput
from inbox.followups.service import normalise_address
from inbox.privacy.deletion import wipe_deleted
from inbox.privacy.rights import audit_export, erase_address, export_address
from inbox.staff.deps import AdminStaff, CsrfProtected, staff_context

router = APIRouter(prefix="/admin/privacy")


@router.get("", name="privacy")
def privacy_page(request: Request, staff: AdminStaff) -> Response:
    """The export and erase forms."""
    return request.app.state.templates.TemplateResponse(
        request, "privacy/admin.html", {**staff_context(request, staff), "erased": None}
    )


@router.post("")
def privacy_action(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: AdminStaff,
    _csrf: CsrfProtected,
    after_commit: BackgroundTasks,
    action: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Export (a JSON download) or erase (after the address is typed twice); both audited."""
    address = normalise_address(email)
    if "@" not in address:
        raise InvalidInput({"email": "Please enter the person's e-mail address."})
    now, secret = runtime.clock.now(), runtime.settings.secret_key
    if action == "export":
        data = export_address(session, email=address, now=now)
        audit_export(session, email=address, actor=staff, now=now, secret_key=secret)
        return Response(
            json.dumps(data, indent=2, ensure_ascii=False),
            media_type="application/json",
            headers={
                "Content-Disposition": 'attachment; filename="inbox-export.json"',
                "Cache-Control": "no-store",
            },
        )
    if action == "erase":
        if normalise_address(confirm) != address:
            raise InvalidInput({"confirm": "Type the same address again to confirm the erasure."})
        counts = erase_address(session, email=address, actor=staff, now=now, secret_key=secret)
        after_commit.add_task(wipe_deleted, runtime.engine)  # runs once the response is sent
        return request.app.state.templates.TemplateResponse(
            request, "privacy/admin.html", {**staff_context(request, staff), "erased": counts}
        )
    raise InvalidInput({"action": "Choose export or erase."})
