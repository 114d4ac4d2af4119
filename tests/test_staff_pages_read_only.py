"""Opening a staff page changes nothing in the database: every GET route of the app, walked with
real ids (a conversation still waiting for its draft, one whose reply went out with a follow-up
scheduled), leaves every table as it was. The one documented exception: opening a conversation
adds a "view" entry to the audit log (who saw this patient's data, when).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from inbox import schema
from inbox.config import Settings
from inbox.staff.models import AuditEntry
from tests.followups.support import follow_ups, reply_sent, submit
from tests.smtp import SmtpServer
from tests.staff.factories import make_staff, sign_in
from tests.staff.routes import is_public, walk

_PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")
_AUDIT = AuditEntry.__table__.name  # type: ignore[attr-defined]


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    return settings.model_copy(
        update={"smtp_host": smtp_server.host, "smtp_port": smtp_server.port}
    )


def _snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    assert schema.DOMAINS  # every domain's tables are in the metadata
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = connection.execute(sa.select(table)).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


def test_every_staff_get_route_leaves_the_database_unchanged(client, runtime):
    answered = reply_sent(client, runtime)
    [follow_up] = follow_ups(runtime, answered)
    waiting = int(submit(client, email="sam@example.org", message="My legs cramp.")[
        "conversation_id"
    ])  # fmt: skip  # not drafted yet: the worker has not run
    staff = make_staff(runtime, email="admin@hospital.example", admin=True)
    sign_in(client, email=staff.email)
    ids = {"conversation_id": waiting, "follow_up_id": follow_up.id, "staff_id": staff.id}

    paths = []
    for method, route, _ in walk(client.app):  # type: ignore[arg-type]
        if method != "GET" or is_public(route):
            continue
        path = _PARAM.sub(lambda found: str(ids.get(found.group(1), 1)), route)
        paths.append(path)
    assert f"/inbox/conversations/{waiting}" in paths and "/follow-ups" in paths

    before = _snapshot(runtime.engine)
    for path in paths:
        response = client.get(path)
        assert response.status_code < 500, (path, response.status_code)
    after = _snapshot(runtime.engine)

    changed = [name for name in before if name != _AUDIT and before[name] != after[name]]
    assert changed == []
    added = [row for row in after[_AUDIT] if row not in before[_AUDIT]]
    assert added and all("view" in row and str(waiting) in map(str, row) for row in added), added
    assert set(before[_AUDIT]) <= set(after[_AUDIT])

    page = client.get(f"/inbox/conversations/{waiting}")
    assert "The draft is being prepared" in page.text
