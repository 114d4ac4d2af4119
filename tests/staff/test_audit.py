"""The audit log records sign-ins and account changes, and admins can read it."""

from __future__ import annotations

import re

from sqlmodel import select

from inbox.db import session_scope
from inbox.staff import audit
from inbox.staff.models import AuditEntry
from tests.staff.factories import PASSWORD, csrf_token, sign_in

WRONG = "wrong password 12345"


def entries(runtime) -> list[AuditEntry]:
    with session_scope(runtime.engine) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))


def test_sign_in_failure_sign_in_and_sign_out_are_recorded(client, runtime, staff):
    sign_in(client, email=staff.email, password=WRONG)
    sign_in(client, email="nobody@hospital.example", password=WRONG)
    sign_in(client, email=staff.email)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account/password").text)})

    recorded = [(item.actor, item.action, item.staff_id) for item in entries(runtime)]

    assert recorded[-4:] == [
        (staff.email, "login_failed", staff.id),
        ("unknown", "login_failed", None),
        (staff.email, "login", staff.id),
        (staff.email, "logout", staff.id),
    ]
    for item in entries(runtime):
        text = " ".join(str(value) for value in item.model_dump().values())
        assert WRONG not in text and PASSWORD not in text
        assert "nobody@" not in text  # a mistyped address is not stored


def test_password_change_and_account_changes_are_recorded(client, runtime, admin, staff):
    sign_in(client, email=admin.email)
    token = csrf_token(client.get("/admin/staff").text)
    client.post(f"/admin/staff/{staff.id}/disable", data={"csrf_token": token})
    client.post(f"/admin/staff/{staff.id}/enable", data={"csrf_token": token})
    client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "another long passphrase",
            "confirm_password": "another long passphrase",
        },
    )

    recorded = [(item.actor, item.action, item.target_id) for item in entries(runtime)][-3:]

    assert recorded == [
        (admin.email, "staff_disable", str(staff.id)),
        (admin.email, "staff_enable", str(staff.id)),
        (admin.email, "password_change", str(admin.id)),
    ]


def test_admins_read_the_log_newest_first_a_page_at_a_time(client, runtime, admin, clock):
    with session_scope(runtime.engine) as session:
        for number in range(60):
            audit.record(
                session,
                actor="system",
                action="test_event",
                target_type="thing",
                target_id=number,
                now=clock.now(),
            )
    sign_in(client, email=admin.email)

    first = client.get("/admin/audit")
    later = re.search(r'href="(/admin/audit\?before=\d+)"', first.text)
    second = client.get(later.group(1))

    assert first.status_code == second.status_code == 200
    assert first.text.index("login") < first.text.index("thing 59") < first.text.index("thing 58")
    assert first.text.count("<tr>") - 1 == 50  # the header row is not an entry
    assert "thing 10" not in first.text
    assert "thing 9<" in second.text and "thing 0<" in second.text
    assert "Older entries" not in second.text
