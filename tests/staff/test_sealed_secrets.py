"""The authenticator apps' secrets are sealed at rest: a copy of the database does not hold them
readable, one stored before sealing is sealed at its next use, and migration 0016 seals the
stored ones when the secret key is set."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from inbox.db import create_db_engine, session_scope, upgrade
from inbox.staff.models import StaffUser
from inbox.staff.sealing import unseal
from tests.conftest import TEST_SECRET_KEY
from tests.staff.factories import TOTP_SECRET, make_staff, sign_in
from tests.staff.test_second_factor import enrol


def _stored(runtime, email: str) -> tuple[str | None, str | None]:
    with runtime.engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT totp_secret, totp_pending_secret FROM staff_user WHERE email = :email"),
            {"email": email},
        ).one()
    return row[0], row[1]


def test_an_enrolled_secret_is_stored_sealed(client: TestClient, runtime):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True, totp=False)
    enrol(client, runtime, admin.email)
    stored, pending = _stored(runtime, admin.email)
    assert stored is not None and pending is None
    secret = unseal(TEST_SECRET_KEY, stored)
    assert len(secret) == 32 and secret not in stored  # the app's key is not in the row
    with runtime.engine.connect() as connection:
        dump = "\n".join(
            str(row) for row in connection.execute(sa.text("SELECT * FROM staff_user"))
        )
    assert secret not in dump


def test_a_secret_stored_before_sealing_still_signs_in_and_is_sealed(client, runtime):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True)
    with session_scope(runtime.engine) as session:
        row = session.get(StaffUser, admin.id)
        row.totp_secret = TOTP_SECRET  # as versions before 0016 stored it
    assert sign_in(client, email=admin.email).headers["location"] == "/inbox"
    stored, _ = _stored(runtime, admin.email)
    assert stored != TOTP_SECRET and unseal(TEST_SECRET_KEY, stored) == TOTP_SECRET


def test_the_migration_seals_the_stored_secrets(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0015_section_feedback")
    engine = create_db_engine(url, pooled=False)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO staff_user (email, password_hash, role, active, created_at, "
                "must_change_password, password_changed_at, totp_secret) VALUES ("
                "'admin@hospital.example', 'x', "
                "'admin', 1, '2026-01-01 00:00:00', 0, '2026-01-01 00:00:00', :secret)"
            ),
            {"secret": TOTP_SECRET},
        )
    monkeypatch.setenv("INBOX_SECRET_KEY", TEST_SECRET_KEY)
    upgrade(url)
    with Session(engine) as session:
        [stored] = session.execute(sa.text("SELECT totp_secret FROM staff_user")).scalars()
    engine.dispose()
    assert stored != TOTP_SECRET and unseal(TEST_SECRET_KEY, stored) == TOTP_SECRET
